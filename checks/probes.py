"""Live requests through the proxy: the smallest ones that prove Claude Code will work."""

from claudex_doctor.graph import check

from ._pending import not_implemented

probe_messages = check("probe.messages", "Messages request", needs=("proxy.health",), after=("proxy.models",),
                       timeout=None, live=True, reference="references/probes.md#messages-request-fails")(not_implemented)
probe_stream = check("probe.stream", "Streaming", needs=("probe.messages",), timeout=None, live=True,
                     reference="references/probes.md#stream-ends-early")(not_implemented)
probe_tool_use = check("probe.tool_use", "Tool use round trip", needs=("probe.messages",), timeout=None, live=True,
                       reference="references/probes.md#tool-use-broken")(not_implemented)
probe_count_tokens = check("probe.count_tokens", "Token counting", needs=("proxy.health",), timeout=None,
                           reference="references/probes.md#count-tokens-fails")(not_implemented)

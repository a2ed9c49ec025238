"""Is a LiteLLM hop in the path? It cannot carry ChatGPT Codex OAuth (see `explain litellm`)."""

from claudex_doctor.graph import check

from ._pending import not_implemented

route_litellm = check("route.litellm", "LiteLLM in the path", after=("env.consistency",),
                      reference="references/litellm.md#litellm-in-the-path", fixes=("manual",))(not_implemented)

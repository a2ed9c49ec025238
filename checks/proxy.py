"""The running proxy answers like CLIProxyAPI and offers the mapped models."""

from claudex_doctor.graph import check

from ._pending import not_implemented

proxy_health = check("proxy.health", "Proxy health", needs=("port.owner",), timeout=None,
                     reference="references/probes.md#health-check-fails", fixes=("restart",))(not_implemented)
proxy_models = check("proxy.models", "Offered models", needs=("proxy.health",), after=("env.consistency",), timeout=None,
                     reference="references/probes.md#mapped-model-not-offered", fixes=("set-env",))(not_implemented)

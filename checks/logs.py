"""Known error signatures in the proxy's recent log lines."""

from claudex_doctor.graph import check

from ._pending import not_implemented

logs_errors = check("logs.errors", "Proxy log", needs=("paths.home",),
                    reference="references/probes.md#errors-in-the-proxy-log")(not_implemented)

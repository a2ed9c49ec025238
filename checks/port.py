"""Who listens on the gateway port, and is it this home's proxy?"""

from claudex_doctor.graph import check

from ._pending import not_implemented

port_owner = check("port.owner", "Gateway port", after=("config.valid",),
                   reference="references/service.md#nothing-listening", fixes=("start", "restart"))(not_implemented)

"""config.yaml: does it parse, agree with the env file, and keep the proxy private?"""

from claudex_doctor.graph import check

from ._pending import not_implemented

config_valid = check("config.valid", "Proxy config", needs=("paths.home",),
                     reference="references/config.md#config-does-not-parse", fixes=("bootstrap",))(not_implemented)
config_exposure = check("config.exposure", "Proxy exposure", needs=("paths.home",), after=("config.valid",),
                        reference="references/config.md#proxy-exposed-to-the-network", fixes=("set-config",))(not_implemented)

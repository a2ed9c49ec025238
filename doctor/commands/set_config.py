"""`claudex-doctor set-config KEY=VALUE ...`: set keys in config.yaml, keeping comments and order.

Dotted keys reach nested settings (`remote-management.allow-remote=false`); `api-keys` takes a
comma-separated list, or `@random` for one new key that is also written to the env file.
Exit codes as for set-env: 0 written or nothing to do, 1 refused, 2 bad usage.
"""

from __future__ import annotations

from claudex_doctor.commands.set_env import run


def main(args) -> int:
    from claudex_doctor.config.edit import set_config
    return run(args, "set-config", set_config)

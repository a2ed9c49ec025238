"""Stand-in body for catalog entries whose implementation has not landed yet."""

from claudex_doctor.core.model import Outcome, skipped


def not_implemented(ctx) -> Outcome:
    return skipped("not implemented yet in this version of claudex-doctor")

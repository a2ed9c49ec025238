"""What a check gets: the run's options, deadline and programs (core.Context), and the stack's files
parsed once with their secrets registered (config.facts.StackFiles)."""

from __future__ import annotations

from claudex_doctor.config.facts import StackFiles
from claudex_doctor.core.context import Context


class StackContext(Context, StackFiles):
    """The context of one run of the catalog."""

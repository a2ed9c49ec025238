"""`python -m claudex_doctor`: the same as the `claudex-doctor` command."""

from claudex_doctor.cli import entry

entry()

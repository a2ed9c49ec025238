"""`python -m claudex_doctor`: the same as the `claudex-doctor` command."""

import sys

from claudex_doctor.cli import main

sys.exit(main())

"""The launcher reader: does run.sh cd into the home? Read with the shared shell scanner, never run."""

from __future__ import annotations

import pytest

from claudex_doctor.checks._launcher import analyse


@pytest.fixture
def dirs(tmp_path):
    user = tmp_path / "user"
    home = user / ".local" / "share" / "claudex-gateway"
    home.mkdir(parents=True)
    return home, user


@pytest.mark.parametrize("script, state", [
    ('cd "$(dirname "$0")"\nexec ./cli-proxy-api', "home"),
    ('DIR=$(dirname "$0")\ncd "$DIR"', "home"),
    ("cd ~/.local/share/claudex-gateway", "home"),
    ('cd "$HOME/.local/share/claudex-gateway" || exit 1', "home"),
    ('G="$HOME/.local/share"\ncd -P -- "$G/claudex-gateway"', "home"),
    ("cd {home}", "home"),
    ("cd /tmp && exec ./cli-proxy-api", "elsewhere"),
    ("cd", "elsewhere"),  # plain cd goes to $HOME, not the home
    ('cd "$SOMEWHERE"', "unknown"),
    ('X=$(pwd)\ncd "$X"', "unknown"),
    ("# cd {home}\nexec ./cli-proxy-api", "none"),
    ('echo "$(cd {home})"', "none"),  # a subshell's cd changes nothing
])
def test_cd_targets(dirs, script, state):
    home, user = dirs
    assert analyse("#!/bin/sh\n" + script.replace("{home}", str(home)) + "\n", home, user)[0] == state


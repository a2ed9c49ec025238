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


def test_words_with_nested_quotes_stay_whole():
    from claudex_doctor.shellscan import segments, word_end

    for text, word in [('"$(x "y z")" rest', '"$(x "y z")"'), ('"${A:-"b c"}" z', '"${A:-"b c"}"'),
                       ("'a b' c", "'a b'"), ("a\\ b c", "a\\ b")]:
        assert text[:word_end(text)] == word
    assert [s.words for s in segments('cd "$(dirname "$0")" && exec ./x')] == [
        ["cd", '"$(dirname "$0")"'], ["exec", "./x"]]

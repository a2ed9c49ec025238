"""The env file is read as data, the way a POSIX shell would read its simple forms, in linear time."""

from __future__ import annotations

import time

from claudex_doctor.config.envfile import parse, render_line


def test_assignments_quotes_comments_and_exports():
    env = parse("""# generated
export ANTHROPIC_BASE_URL=http://127.0.0.1:8327  # the gateway
ANTHROPIC_AUTH_TOKEN='a b#c'
export ANTHROPIC_DEFAULT_OPUS_MODEL="gpt-5.6-sol(xhigh)"
export A B
set -a
""")
    assert env.values == {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327", "ANTHROPIC_AUTH_TOKEN": "a b#c",
                          "ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-sol(xhigh)"}
    assert env.lines["ANTHROPIC_AUTH_TOKEN"] == 3 and not env.notes


def test_what_needs_a_shell_is_noted_not_guessed():
    env = parse('X=$(whoami)\nY="$HOME/x"\nZ=\'$HOME\'\nW=a b\nQ="unterminated\nrm -rf /\n')
    assert {"X", "Y"} <= env.dynamic and "Z" not in env.dynamic
    assert any("W" in n and "command" in n for n in env.notes)
    assert any("Q" in n for n in env.notes)
    assert any("not a variable assignment" in n for n in env.notes)


def test_render_line_round_trips_through_the_parser():
    for value in ["plain", "with space", "it's", 'dq"', "$HOME", "gpt-5.5(high)", ""]:
        assert parse(render_line("K", value)).values["K"] == value


def test_long_names_parse_in_linear_time():
    text = "\n".join(f"export {'ANTHROPIC_DEFAULT_HAIKU_MODEL' * 4}_{i}=x" for i in range(200))
    start = time.perf_counter()
    parse(text)
    assert time.perf_counter() - start < 5.0  # milliseconds when linear; a backtracking pattern takes minutes

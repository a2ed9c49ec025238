"""The generated claudex wrapper, run for real with /bin/sh, dash and bash against a recording stand-in,
and the static reader (`analyse`) on good and broken wrappers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from claudex_doctor.base import shellscan
from claudex_doctor.wrapper.script import OVERRIDE_VAR, SERVICE_COMMANDS, analyse, doctor_argv, render
from tests.homekit import executable

SHELLS = [s for s in dict.fromkeys(["/bin/sh", shutil.which("dash"), shutil.which("bash")]) if s]

HARD_VECTORS = [
    (),
    ("",),
    ("two words",),
    ("it's", 'say "hi"', "back\\slash"),
    ("*", "?", "[a-z]*"),
    ("$HOME", "${PATH}", "`id`", "$(id)"),
    ("line1\nline2", "\ttab", " lead", "trail "),
    ("ünïcødé ✓", "日本語"),
    (os.fsdecode(b"raw\xff\xfe"),),
    ("--", "--resume", "-p", "-"),
    ("--resume", "status"),  # a service word, but not first
    ("doctor",), ("config", "list"), ("mcp",), ("update",), ("install",),  # claude's own subcommands
    ("-p", "status"), ("", "start"), ("Status",), ("status2",), (" status",),
    ("%s%n%d",),
]

RECORDER = """#!/bin/sh
printf '%s\\0' "$#" "$@" > "$RECORD_DIR/argv"
{
for name in ANTHROPIC_BASE_URL ANTHROPIC_AUTH_TOKEN ANTHROPIC_DEFAULT_OPUS_MODEL PLAIN_ASSIGNMENT CLAUDE_BIN; do
  eval "value=\\${$name-__unset__}"
  printf '%s=%s\\0' "$name" "$value"
done
} > "$RECORD_DIR/env"
case "${STANDIN_MODE-}" in
term) kill -TERM $$ ;;
esac
exit "${STANDIN_EXIT:-0}"
"""


@pytest.fixture
def stack(tmp_path):
    """A home with spaces in its path, an env file, a recording claude, a stub claudex-doctor, the wrapper."""
    home = tmp_path / "my home" / "claudex gateway"
    home.mkdir(parents=True)
    claude = executable(tmp_path / "bin dir" / "claude", RECORDER)
    doctor = executable(tmp_path / "bin dir" / "claudex-doctor stub",
                  "#!/bin/sh\nprintf '%s\\0' \"$#\" \"$@\" > \"$RECORD_DIR/doctor\"\nexit 5\n")
    env_file = home / "claude-code-gpt54.env"
    env_file.write_text(
        "# generated\n"
        "export ANTHROPIC_BASE_URL=http://127.0.0.1:8327\n"
        "export ANTHROPIC_AUTH_TOKEN='canary-local-key-0123456789'\n"
        "export ANTHROPIC_DEFAULT_OPUS_MODEL='gpt-5.6-sol(xhigh)'\n"
        "PLAIN_ASSIGNMENT='no export here'\n"
        f"export CLAUDE_BIN='{claude}'\n")
    wrapper = executable(tmp_path / "wrapper dir" / "claudex", render(home, env_file, [str(doctor)]))
    record = tmp_path / "record"
    record.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for name in ("glob-a", "glob-b", "x"):
        (cwd / name).write_text("")
    return {"home": home, "claude": claude, "doctor": doctor, "env_file": env_file, "wrapper": wrapper,
            "record": record, "cwd": cwd}


def _run(stack, argv, shell=None, extra=None, timeout=10):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(stack["home"].parent), "RECORD_DIR": str(stack["record"]),
           "ANTHROPIC_BASE_URL": "http://outer.invalid", **(extra or {})}
    command = [shell, str(stack["wrapper"])] if shell else [str(stack["wrapper"])]
    for name in ("argv", "env", "doctor"):
        (stack["record"] / name).unlink(missing_ok=True)
    proc = subprocess.run([*command, *argv], env=env, cwd=stack["cwd"], capture_output=True, timeout=timeout)
    return proc


def _recorded(path: Path) -> list[bytes] | None:
    if not path.exists():
        return None
    fields = path.read_bytes().split(b"\0")
    return fields[1:1 + int(fields[0])]


def _env(stack) -> dict[str, str]:
    raw = (stack["record"] / "env").read_bytes().split(b"\0")
    return dict(os.fsdecode(item).split("=", 1) for item in raw if item)


@pytest.mark.parametrize("shell", [None, *SHELLS], ids=lambda s: s or "shebang")
@pytest.mark.parametrize("argv", HARD_VECTORS, ids=repr)
def test_arguments_reach_claude_byte_for_byte(stack, shell, argv):
    proc = _run(stack, argv, shell)
    assert proc.returncode == 0, proc.stderr
    assert _recorded(stack["record"] / "argv") == [os.fsencode(a) for a in argv]
    assert not (stack["record"] / "doctor").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_env_file_values_reach_claude_and_win_over_the_shell(stack, shell):
    _run(stack, ["-p", "x"], shell)
    env = _env(stack)
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8327"  # the env file beats the outer value
    assert env["ANTHROPIC_AUTH_TOKEN"] == "canary-local-key-0123456789"
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "gpt-5.6-sol(xhigh)"
    assert env["PLAIN_ASSIGNMENT"] == "no export here"  # set -a exports unexported assignments too
    assert env["CLAUDE_BIN"] == str(stack["claude"])


@pytest.mark.parametrize("shell", [None, *SHELLS], ids=lambda s: s or "shebang")
@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_exit_code_is_claudes(stack, shell, code):
    assert _run(stack, ["-p"], shell, {"STANDIN_EXIT": str(code)}).returncode == code


@pytest.mark.parametrize("shell", [None, *SHELLS], ids=lambda s: s or "shebang")
def test_claude_killed_by_sigterm_shows_as_the_signal(stack, shell):
    # exec: claude *is* the wrapper's process, so the caller sees the signal, not 143.
    assert _run(stack, ["--resume"], shell, {"STANDIN_MODE": "term"}).returncode == -signal.SIGTERM


def test_a_signal_sent_to_the_wrapper_reaches_claude(stack, tmp_path):
    sleeper = executable(tmp_path / "sleeper", "#!/bin/sh\necho ready > \"$RECORD_DIR/ready\"\nexec sleep 30\n")
    env = {"PATH": "/usr/bin:/bin", "RECORD_DIR": str(stack["record"]), OVERRIDE_VAR: str(sleeper)}
    # The child starts with SIGINT at its default, whatever this test run inherited: a run started in the
    # background of a non-interactive shell ignores SIGINT, and an ignored signal is inherited across exec.
    proc = subprocess.Popen([str(stack["wrapper"])], env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # Wait until the wrapper's process IS claude (here: sleep, after the stand-in's own exec). A signal
        # that lands while a shell is still between a builtin and its exec can be swallowed by the shell
        # (dash catches SIGINT in scripts); that window is the shell's, not the wrapper contract's.
        import psutil

        for _ in range(500):
            if (stack["record"] / "ready").exists() and psutil.Process(proc.pid).name() == "sleep":
                break
            subprocess.run(["sleep", "0.02"])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == -signal.SIGINT
    finally:
        proc.kill()


@pytest.mark.parametrize("word", SERVICE_COMMANDS)
@pytest.mark.parametrize("shell", [None, *SHELLS[:1]], ids=lambda s: s or "shebang")
def test_service_words_first_run_claudex_doctor_with_the_home(stack, word, shell):
    proc = _run(stack, [word, "--timeout", "3", "a b"], shell)
    assert proc.returncode == 5  # the stub's status: exec'd, not claude
    assert _recorded(stack["record"] / "doctor") == [os.fsencode(a) for a in
                                                     (word, "--home", str(stack["home"]), "--timeout", "3", "a b")]
    assert not (stack["record"] / "argv").exists()


def test_claude_bin_unset_falls_back_to_claude_on_path(stack):
    stack["env_file"].write_text("export ANTHROPIC_BASE_URL=http://127.0.0.1:8327\n")
    proc = _run(stack, ["hi"], extra={"PATH": f"{stack['claude'].parent}:/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert _recorded(stack["record"] / "argv") == [b"hi"]


def test_override_variable_wins_over_the_env_file(stack, tmp_path):
    other = executable(tmp_path / "other", "#!/bin/sh\nprintf '%s\\0' \"$#\" \"$@\" > \"$RECORD_DIR/other\"\nexit 9\n")
    proc = _run(stack, ["a"], extra={OVERRIDE_VAR: str(other)})
    assert proc.returncode == 9 and _recorded(stack["record"] / "other") == [b"a"]
    assert not (stack["record"] / "argv").exists()


def test_missing_env_file_stops_with_a_message_instead_of_running_claude(stack):
    stack["env_file"].unlink()
    proc = _run(stack, ["hi"])
    assert proc.returncode == 1 and b"cannot read" in proc.stderr and b"claudex-doctor bootstrap" in proc.stderr
    assert not (stack["record"] / "argv").exists()


def test_render_is_deterministic_and_quotes_odd_paths(tmp_path):
    home = tmp_path / "it's a $HOME"
    text = render(home, home / "claude-code-gpt54.env", ["/opt/x y/claudex-doctor"])
    assert text == render(home, home / "claude-code-gpt54.env", ["/opt/x y/claudex-doctor"])
    assert text.startswith("#!/bin/sh\n")
    assert "'/opt/x y/claudex-doctor'" in text
    script = shellscan.Script(text)
    values = {"HOME": "/nowhere"}
    seg = next(s for s in script.hot_segments() if s.assignment and s.assignment[0] == "claudex_env")
    assert shellscan.expand(seg.assignment[1], values) == str(home / "claude-code-gpt54.env")


def test_doctor_argv_prefers_the_console_script(tmp_path):
    python = executable(tmp_path / "venv" / "bin" / "python", "#!/bin/sh\n")
    assert doctor_argv(str(python)) == [str(python), "-m", "claudex_doctor"]
    script = executable(tmp_path / "venv" / "bin" / "claudex-doctor", "#!/bin/sh\n")
    assert doctor_argv(str(python)) == [str(script)]
    assert Path(doctor_argv()[0]).is_absolute()


@pytest.mark.parametrize("service_file", [None, "it's a $HOME/claudex-gateway-abcdef.service"])
def test_generated_wrapper_passes_its_own_analysis(tmp_path, service_file):
    env_file = tmp_path / "h" / "claude-code-gpt54.env"
    unit = tmp_path / service_file if service_file else None
    text = render(tmp_path / "h", env_file, [sys.executable, "-m", "claudex_doctor"], unit)
    if unit is not None:
        quoted = "'" + str(unit).replace("'", "'\"'\"'") + "'"
        assert f"if [ -f {quoted} ]; then" in text
    result = analyse(text, env_file, {"HOME": str(tmp_path)}, env_text="A=1\n")
    assert result.issues == [] and result.generated and result.supports_override
    assert result.intercepted == list(SERVICE_COMMANDS) and result.sources == [str(env_file)]


# -- static analysis of hand-written wrappers -------------------------------------------

ENV = "/h/.local/share/claudex-gateway/claude-code-gpt54.env"
GOOD_TAIL = f'. "{ENV}"\nexec "$CLAUDE_BIN" "$@"\n'
SERVICE = 'case "${1-}" in status|start|stop|restart) exec claudex-doctor "$@" ;; esac\n'


@pytest.mark.parametrize("body, code", [
    (f'. "{ENV}"\nexec $CLAUDE_BIN $*\n', "star"),
    (f'. "{ENV}"\nexec "$CLAUDE_BIN" "$*"\n', "star_quoted"),
    (f'. "{ENV}"\nexec "$CLAUDE_BIN" $@\n', "at_unquoted"),
    (f'. "{ENV}"\nexec "$CLAUDE_BIN" ${{@}}\n', "at_unquoted"),
    (f'. "{ENV}"\neval exec "$CLAUDE_BIN" "$@"\n', "eval"),
    (f'. "{ENV}"\n"$CLAUDE_BIN" "$@"\n', "no_exec"),
    (f'. "{ENV}"\n"$CLAUDE_BIN" "$@"\nexit 0\n', "no_exec"),
    (f'. "{ENV}"\nexec "$CLAUDE_BIN"\n', "args_dropped"),
    (f'. "{ENV}"\nshift\nexec "$CLAUDE_BIN" "$@"\n', "shift"),
    (f'. "{ENV}"\nset -- --model x "$@"\nexec "$CLAUDE_BIN" "$@"\n', "set_args"),
    (f'. "{ENV}"\necho starting\n', "no_claude"),
    ('. /other/home/claude-code-gpt54.env\nexec "$CLAUDE_BIN" "$@"\n', "other_env_file"),
    ('exec "$CLAUDE_BIN" "$@"\n', "no_source"),
    ('if [ "$1" = doctor ]; then exec claudex-doctor; fi\n' + GOOD_TAIL, "steals"),
    ('case "$1" in doctor|status|start|stop|restart) exec claudex-doctor "$@";; esac\n' + GOOD_TAIL, "steals"),
    ('cmd=$1\ncase "$cmd" in mcp) exit 0;; esac\n' + GOOD_TAIL, "steals"),
    ('case "$2" in status) exec claudex-doctor status;; esac\n' + GOOD_TAIL, "other_position"),
    ('if [ "$2" = "status" ]; then exec claudex-doctor status; fi\n' + GOOD_TAIL, "other_position"),
    ('for a in "$@"; do case "$a" in status) exec svc;; esac; done\n' + GOOD_TAIL, "scans_arguments"),
    ('set -eu\ncase "$1" in status|start|stop|restart) exec svc "$1";; esac\n' + GOOD_TAIL, "nounset"),
    (f'. "{ENV}"\nexec python3 -m claudex_doctor.cli passthrough "$@"\n', "no_claude"),
    ('ROOT=$(dirname "$0")\n. "$ROOT/env"\nexec "$CLAUDE_BIN" "$@"\n', "substitution"),
    ('. "$(dirname "$0")/claude-code-gpt54.env"\nexec "$CLAUDE_BIN" "$@"\n', "source_unknown"),
    ('python3 -c "print(1)"\n' + GOOD_TAIL, "python"),
    (f'. "{ENV}"\nexec claude "$@"\n', "literal_claude"),
    (f'. "{ENV}"\nexec "$CLAUDE_BIN" --dangerously-skip-permissions "$@"\n', "args_added"),
    (GOOD_TAIL, "service_missing"),
])
def test_analysis_names_each_broken_form(body, code):
    text = "#!/bin/sh\n" + (SERVICE if "case" not in body and "if [" not in body and "for " not in body
                            and code != "service_missing" else "") + body
    result = analyse(text, Path(ENV), {"HOME": "/h"}, env_text="export A=1\n")
    codes = [i.code for i in result.issues]
    assert code in codes, (codes, text)
    issue = next(i for i in result.issues if i.code == code)
    assert issue.reference.startswith("references/wrapper.md#")


def test_unexported_env_assignments_need_set_a():
    text = "#!/bin/sh\n" + SERVICE + GOOD_TAIL
    codes = [i.code for i in analyse(text, Path(ENV), {"HOME": "/h"}, env_text="A=1\nexport B=2\n").issues]
    assert "not_exported" in codes
    text = "#!/bin/sh\n" + SERVICE + f'set -a\n. "{ENV}"\nset +a\nexec "$CLAUDE_BIN" "$@"\n'
    assert analyse(text, Path(ENV), {"HOME": "/h"}, env_text="A=1\n").issues == []


def test_seed_style_hand_written_wrapper_is_accepted():
    text = """#!/usr/bin/env bash
set -eo pipefail
ROOT="${CLAUDEX_GATEWAY_HOME:-$HOME/.local/share/claudex-gateway}"
ENV_FILE="$ROOT/claude-code-gpt54.env"
case "${1:-}" in
  status|start|stop|restart)
    exec claudex-doctor "$1" --home "$ROOT" ;;   # service commands
esac
set -a
# shellcheck disable=SC1090
source "$ENV_FILE"
set +a
exec "$CLAUDE_BIN" "$@"
"""
    result = analyse(text, Path(ENV), {"HOME": "/h"}, env_text="A=1\n")
    assert result.issues == [] and not result.supports_override and result.sources == [ENV]
    # The same wrapper with CLAUDEX_GATEWAY_HOME pointing elsewhere sources another file.
    other = analyse(text, Path(ENV), {"HOME": "/h", "CLAUDEX_GATEWAY_HOME": "/elsewhere"}, env_text="")
    assert [i.code for i in other.issues] == ["other_env_file"]


def test_override_support_requires_it_after_the_source_line():
    before = "#!/bin/sh\n" + SERVICE + f'CLAUDE_BIN=${{{OVERRIDE_VAR}:-$CLAUDE_BIN}}\n. "{ENV}"\nexec "$CLAUDE_BIN" "$@"\n'
    after = "#!/bin/sh\n" + SERVICE + f'. "{ENV}"\nCLAUDE_BIN=${{{OVERRIDE_VAR}:-$CLAUDE_BIN}}\nexec "$CLAUDE_BIN" "$@"\n'
    direct = "#!/bin/sh\n" + SERVICE + f'. "{ENV}"\nexec "${{{OVERRIDE_VAR}:-$CLAUDE_BIN}}" "$@"\n'
    assert not analyse(before, Path(ENV), {"HOME": "/h"}).supports_override
    assert analyse(after, Path(ENV), {"HOME": "/h"}).supports_override
    assert analyse(direct, Path(ENV), {"HOME": "/h"}).supports_override


def test_comments_and_strings_do_not_count():
    text = "#!/bin/sh\n" + SERVICE + '# exec $CLAUDE_BIN $*  (old way)\necho "eval $* is bad" >/dev/null\n' + GOOD_TAIL
    assert analyse(text, Path(ENV), {"HOME": "/h"}).issues == []


@pytest.mark.parametrize("word, values, expected", [
    ("'/a b/c'", {}, "/a b/c"),
    ('"$HOME/x"', {"HOME": "/h"}, "/h/x"),
    ("~/x", {"HOME": "/h"}, "/h/x"),
    ('"${X:-$HOME/d}"/e', {"HOME": "/h"}, "/h/d/e"),
    ('"${X:-$HOME/d}"/e', {"HOME": "/h", "X": "/x"}, "/x/e"),
    ('"${X-dflt}"', {"X": ""}, ""),
    ('"${X:-dflt}"', {"X": ""}, "dflt"),
    ('"$UNSET/x"', {}, None),
    ('"$(pwd)/x"', {}, None),
    ("`pwd`", {}, None),
    ('a\\ b', {}, "a b"),
])
def test_expand(word, values, expected):
    assert shellscan.expand(word, values) == expected


@pytest.mark.parametrize("text", [
    # bash tests with && and ||, a guarded ${1-}
    """#!/bin/bash
if [[ $# -gt 0 && "$1" == status ]]; then exec claudex-doctor status; fi
if [[ "$1" == "start" || "$1" == stop ]]; then exec claudex-doctor "$1"; fi
if [ "${1-}" = restart ]; then
  exec claudex-doctor restart
fi
set -a
source "$HOME/.local/share/claudex-gateway/claude-code-gpt54.env"
set +a
exec "$CLAUDE_BIN" "$@"
""",
    # the service command in a function, claude in the default arm of the case
    """#!/bin/sh
svc() { exec claudex-doctor "$@"; }
ENV=~/.local/share/claudex-gateway/claude-code-gpt54.env
case $1 in
  status|start|stop|restart) svc "$@" ;;
  *) set -a; . "$ENV"; set +a
     exec "${CLAUDE_BIN:?}" "$@" ;;
esac
""",
], ids=["bash-tests", "function-and-default-arm"])
def test_other_correct_styles_are_accepted(text):
    result = analyse(text, Path(ENV), {"HOME": "/h"}, env_text="X=1\n")
    assert result.issues == [] and result.intercepted == list(SERVICE_COMMANDS)

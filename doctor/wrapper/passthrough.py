"""Run an installed claudex wrapper, unedited, against a recording stand-in for claude.

The wrapper honours `CLAUDEX_CLAUDE_BIN` (see wrapper.py), so setting it for one run
sends that run to a tiny sh script in a temporary directory. The stand-in writes
its argv (NUL-separated, preceded by the count) and the variables under test, then
exits with a chosen code or kills itself with SIGTERM. Comparing what it recorded
with what was passed shows, byte for byte, what claude would have received.

The first run is a harmless `--version`: if the stand-in does not record it, the
override did not take, and nothing else is run (no real claude with odd arguments).
The service words are never sent as a first argument: that would run real commands.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from claudex_doctor.base import files
from claudex_doctor.base.atomic import write_program
from claudex_doctor.base.redact import fingerprint, is_secret_name
from claudex_doctor.wrapper.script import OVERRIDE_VAR


@dataclass(frozen=True)
class Vector:
    name: str
    argv: tuple[str, ...]
    exit_code: int = 0
    signal: bool = False  # the stand-in kills itself with SIGTERM instead of exiting


HARD_ARGS = ("--resume", "", "two words", "it's", 'say "hi"', "*", "$HOME", "`id`", "line1\nline2", "ünïcødé ✓",
             "--", "status", "-p", "back\\slash", "%s%n", "\ttab", " lead", os.fsdecode(b"raw\xff"))
CANARY = Vector("--version", ("--version",))
VECTORS = (
    Vector("hard arguments", HARD_ARGS, exit_code=7),
    Vector("no arguments", ()),
    Vector("claude's own subcommand first (doctor)", ("doctor", "--verbose")),
    Vector("empty first argument", ("", "status"), exit_code=3),
    Vector("service word after --", ("--", "restart")),
    Vector("killed by SIGTERM", ("-p", "x"), signal=True),
)


@dataclass
class Outcome:
    name: str
    argv: tuple[str, ...]
    recorded: list[bytes] | None  # None: the stand-in never ran
    env: dict[str, str]
    returncode: int | None
    expected_code: int
    error: str = ""
    duration_ms: int = 0

    @property
    def argv_ok(self) -> bool:
        return self.recorded == [os.fsencode(a) for a in self.argv]

    @property
    def code_ok(self) -> bool:
        return self.returncode == self.expected_code


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    env_checked: list[str] = field(default_factory=list)
    env_mismatch: dict[str, dict] = field(default_factory=dict)  # name -> {"expected":..., "got":...} (safe forms)
    api_key_leak: bool = False

    @property
    def reached(self) -> bool:
        return bool(self.outcomes) and self.outcomes[0].recorded is not None


def shown(name: str, value: str | None) -> str | None:
    """A value as it may appear in output: fingerprinted when the name says secret."""
    if value is None:
        return None
    return fingerprint(value) if is_secret_name(name) else value


def _standin(directory: Path, index: int, names: Sequence[str], vector: Vector) -> Path:
    q = shlex.quote
    argv_file, env_file = directory / f"argv-{index}", directory / f"env-{index}"
    lines = ["#!/bin/sh", f"printf '%s\\0' \"$#\" \"$@\" > {q(str(argv_file))}", "{"]
    for name in names:
        lines.append(f'if [ -n "${{{name}+x}}" ]; then printf \'%s=%s\\0\' {name} "${name}"; fi')
    lines.append(f"}} > {q(str(env_file))}")
    lines.append("kill -TERM $$; exit 99" if vector.signal else f"exit {vector.exit_code}")
    path = directory / f"claude-stand-in-{index}"
    write_program(path, "\n".join(lines) + "\n")
    return path


def _read_argv(path: Path) -> list[bytes] | None:
    loaded = files.read_bytes(path, files.CONFIG_CAP)
    if not loaded.ok:
        return None
    raw: bytes = loaded.data
    fields = raw.split(b"\0")
    if not fields or not fields[0].isdigit():
        return None
    count = int(fields[0])
    return fields[1:1 + count]


def _read_env(path: Path) -> dict[str, str]:
    loaded = files.read_bytes(path, files.CONFIG_CAP)
    if not loaded.ok:
        return {}
    raw: bytes = loaded.data
    values = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            key, _, value = item.partition(b"=")
            values[key.decode("ascii", "replace")] = os.fsdecode(value)
    return values


Runner = Callable[..., object]  # ctx.run-compatible: run(argv, timeout=, env=, cwd=) -> Proc


def verify(wrapper: Path, expected_env: Mapping[str, str], run: Runner, base_env: Mapping[str, str],
           budget: float, vectors: Sequence[Vector] = VECTORS, argv0: Sequence[str] = ()) -> Report:
    """Run `wrapper` (optionally through `argv0`, e.g. ["/bin/sh"]) once per vector; never raises for its results."""
    names = sorted({*expected_env, "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY"})
    names = [n for n in names if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
    report = Report()
    scratch = Path(tempfile.mkdtemp(prefix="claudex-passthrough-"))
    try:
        for marker in ("glob-a", "glob-b"):  # an unquoted * would expand to these
            (scratch / marker).write_text("")
        per_run = max(0.5, min(3.0, budget / (len(vectors) + 1)))
        for index, vector in enumerate((CANARY, *vectors)):
            standin = _standin(scratch, index, names, vector)
            env = {**base_env, OVERRIDE_VAR: str(standin)}
            proc = run([*argv0, str(wrapper), *vector.argv], timeout=per_run, env=env, cwd=scratch)
            expected_code = -15 if vector.signal else vector.exit_code
            outcome = Outcome(vector.name, vector.argv, _read_argv(scratch / f"argv-{index}"),
                              _read_env(scratch / f"env-{index}"), getattr(proc, "returncode", None), expected_code,
                              error=(getattr(proc, "error", None) or getattr(proc, "stderr", "") or "")[:300],
                              duration_ms=getattr(proc, "duration_ms", 0))
            report.outcomes.append(outcome)
            if index == 0 and outcome.recorded is None:
                return report  # the override did not take: run nothing else
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _compare_env(report, expected_env)
    return report


def _compare_env(report: Report, expected_env: Mapping[str, str]) -> None:
    runs = [o for o in report.outcomes if o.recorded is not None]
    if not runs:
        return
    for name, want in sorted(expected_env.items()):
        got_values = {o.env.get(name) for o in runs}
        report.env_checked.append(name)
        if got_values != {want}:
            got = next(iter(v for v in got_values if v != want), None)
            report.env_mismatch[name] = {"expected": shown(name, want), "got": shown(name, got)}
    if "ANTHROPIC_API_KEY" not in expected_env and any("ANTHROPIC_API_KEY" in o.env for o in runs):
        report.api_key_leak = True

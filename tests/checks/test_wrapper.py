"""wrapper.installed (static) and wrapper.passthrough (live, against a recording stand-in).

Each test starts from a home and wrapper written by bootstrap, then breaks one thing.
CLAUDE_BIN in the env file is a tripwire: if any check ever ran the "real" claude,
the tripwire file would appear.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from claudex_doctor import bootstrap, primitives
from claudex_doctor.base.paths import resolve
from claudex_doctor.checks import StackContext, graph
from claudex_doctor.checks.wrapper import wrapper_passthrough
from claudex_doctor.core.context import Options
from claudex_doctor.core.diagnose import diagnose
from claudex_doctor.core.model import Safety, Status
from claudex_doctor.help import refs
from tests.homekit import executable

TOKEN = "canary-local-token-7f3a9c2e5b1d"


class Setup:
    def __init__(self, tmp_path: Path, user_home: Path) -> None:
        self.tmp = tmp_path
        self.tripwire = tmp_path / "real-claude-ran"
        tools = tmp_path / "tools"
        executable(tools / "claude", f"#!/bin/sh\ntouch '{self.tripwire}'\nexit 0\n")
        proxy = executable(tmp_path / "proxy", "#!/bin/sh\necho 'CLIProxyAPI Version: v7.2.140'\n")
        self.env = {"HOME": str(user_home), "PATH": f"{user_home}/.local/bin:{tools}:/usr/bin:/bin"}
        self.paths = resolve(env=self.env)
        bootstrap.apply(self.paths, binary=str(proxy), env=self.env, plan="plus")
        text = self.paths.env_file.read_text()
        key = next(l.split("=", 1)[1] for l in text.splitlines() if l.startswith("export ANTHROPIC_AUTH_TOKEN="))
        self.paths.env_file.write_text(text.replace(key, TOKEN))
        self.paths.config.write_text(self.paths.config.read_text().replace(key, TOKEN))
        self.scratch = tmp_path / "scratch"
        self.scratch.mkdir()

    @property
    def wrapper(self) -> Path:
        return self.paths.wrapper

    def snapshot(self) -> dict:
        out = {}
        for root in (self.paths.home, self.wrapper.parent):
            for dirpath, _, names in os.walk(root):
                for name in names:
                    p = Path(dirpath) / name
                    out[str(p)] = (p.read_bytes(), p.stat().st_mode)
        return out

    def write_wrapper(self, text: str, mode: int = 0o755) -> None:
        self.wrapper.write_text(text)
        self.wrapper.chmod(mode)

    def run(self, *ids: str, env: dict | None = None, deadline: float = 20.0):
        before = self.snapshot()
        old = tempfile.tempdir
        tempfile.tempdir = str(self.scratch)
        try:
            result, _ = diagnose(self.paths, Options(deadline=deadline), graph(), env=env or self.env, only=ids)
        finally:
            tempfile.tempdir = old
        assert self.snapshot() == before  # diagnosing changes nothing
        assert list(self.scratch.iterdir()) == []  # temp files cleaned up
        assert not self.tripwire.exists()  # the real claude never ran
        text = json.dumps(result.to_dict())
        assert TOKEN not in text
        found = {f.id: f for f in result.findings}
        for finding in found.values():
            if finding.reference:
                assert refs.library().problem(finding.reference) is None, finding.reference
        return found

    def context(self, deadline: float = 20.0) -> StackContext:
        return StackContext(self.paths, Options(deadline=deadline), env=self.env)


@pytest.fixture
def s(tmp_path, user_home) -> Setup:
    return Setup(tmp_path, user_home)


def _is_rewrite_fix(fix) -> bool:
    return fix.primitive == "bootstrap" and fix.safety is Safety.CONFIRM and \
        dict(fix.args) == {"only": ("wrapper",), "force": True} and fix.command.endswith("--only wrapper --force")


def test_generated_wrapper_passes_both_checks(s):
    found = s.run("wrapper.passthrough")
    installed, live = found["wrapper.installed"], found["wrapper.passthrough"]
    assert installed.status is Status.PASS, installed
    assert installed.evidence["generated"] and installed.evidence["supports_override"]
    assert installed.evidence["first_on_path"] == "~/.local/bin/claudex"
    assert live.status is Status.PASS, live
    assert "ANTHROPIC_AUTH_TOKEN" in live.evidence["env_verified"]
    assert {"ANTHROPIC_BASE_URL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "CLAUDE_CODE_AUTO_COMPACT_WINDOW"} <= \
        set(live.evidence["env_verified"])


def test_missing_wrapper_fails_and_bootstrap_writes_just_it(s):
    s.wrapper.unlink()
    found = s.run("wrapper.passthrough")
    finding = found["wrapper.installed"]
    assert finding.status is Status.FAIL and "no claudex wrapper" in finding.summary
    assert finding.reference.endswith("#wrapper-missing")
    assert finding.fix.primitive == "bootstrap" and dict(finding.fix.args) == {"only": ("wrapper",)}
    assert found["wrapper.passthrough"].status is Status.SKIP
    assert found["wrapper.passthrough"].blocked_by == ("wrapper.installed",)
    primitives.apply("bootstrap", s.paths, env=s.env, **finding.fix.args)
    assert s.run("wrapper.installed")["wrapper.installed"].status is Status.PASS


def test_not_executable_is_a_manual_chmod(s):
    s.wrapper.chmod(0o644)
    finding = s.run("wrapper.installed")["wrapper.installed"]
    assert finding.status is Status.FAIL and "not executable" in finding.summary
    assert finding.fix.safety is Safety.MANUAL and finding.fix.command.startswith("chmod 755 ")


@pytest.mark.parametrize("last_line, code, anchor", [
    ("exec $CLAUDE_BIN $*", "star", "arguments-mangled"),
    ('exec "$CLAUDE_BIN" $@', "at_unquoted", "arguments-mangled"),
    ('exec "$CLAUDE_BIN" "$*"', "star_quoted", "arguments-mangled"),
    ('eval "exec \\"$CLAUDE_BIN\\" $*"', "eval", "arguments-mangled"),
    ('"$CLAUDE_BIN" "$@"', "no_exec", "exit-code-and-signals-lost"),
])
def test_contract_breaks_are_caught_statically_and_fixed_by_a_rewrite(s, last_line, code, anchor):
    text = s.wrapper.read_text().replace('exec "$CLAUDE_BIN" "$@"', last_line)
    s.write_wrapper(text)
    found = s.run("wrapper.passthrough")
    finding = found["wrapper.installed"]
    assert finding.status is Status.FAIL and code in finding.evidence["issues"], finding
    assert finding.reference.endswith("#" + anchor)
    assert _is_rewrite_fix(finding.fix)
    assert found["wrapper.passthrough"].status is Status.SKIP
    result = primitives.apply("bootstrap", s.paths, env=s.env, **finding.fix.args)
    assert [Path(b).read_text() for b in result.backups] == [text]
    assert s.run("wrapper.passthrough")["wrapper.passthrough"].status is Status.PASS


def test_wrapper_of_another_home_fails(s, tmp_path):
    text = s.wrapper.read_text().replace(str(s.paths.home), str(tmp_path / "other home"))
    s.write_wrapper(text)
    finding = s.run("wrapper.installed")["wrapper.installed"]
    assert finding.status is Status.FAIL and "not this home's env file" in finding.summary
    assert finding.reference.endswith("#wrapper-uses-another-env-file")


def test_intercepting_claudes_doctor_subcommand_fails(s):
    text = s.wrapper.read_text().replace("status|start|stop|restart)", "doctor|status|start|stop|restart)")
    s.write_wrapper(text)
    finding = s.run("wrapper.installed")["wrapper.installed"]
    assert finding.status is Status.FAIL and "'doctor'" in finding.summary
    assert finding.reference.endswith("#wrapper-steals-claude-subcommands")


def test_shadowed_on_path_warns(s, tmp_path):
    other = executable(tmp_path / "early" / "claudex", "#!/bin/sh\nexec claude \"$@\"\n")
    env = {**s.env, "PATH": f"{other.parent}:{s.env['PATH']}"}
    finding = s.run("wrapper.installed", env=env)["wrapper.installed"]
    assert finding.status is Status.WARN and "not this wrapper" in finding.summary
    assert str(other) in finding.summary
    assert finding.reference.endswith("#wrapper-shadowed") and finding.fix.safety is Safety.MANUAL


def test_wrapper_dir_not_on_path_warns(s):
    env = {**s.env, "PATH": "/usr/bin:/bin"}
    finding = s.run("wrapper.installed", env=env)["wrapper.installed"]
    assert finding.status is Status.WARN and "is not on PATH" in finding.summary
    assert finding.reference.endswith("#wrapper-not-on-path")


def test_binary_garbage_is_a_named_failure(s):
    s.wrapper.write_bytes(b"\x7fELF\x00\x01\x02garbage\xff")
    finding = s.run("wrapper.installed")["wrapper.installed"]
    assert finding.status is Status.FAIL and "not a shell script" in finding.summary


def test_a_directory_at_the_wrapper_path_is_a_named_failure(s):
    s.wrapper.unlink()
    s.wrapper.mkdir()
    finding = s.run("wrapper.installed")["wrapper.installed"]
    assert finding.status is Status.FAIL and finding.fix.safety is Safety.MANUAL


HAND_WRITTEN = """#!/bin/sh
case "${{1-}}" in
status|start|stop|restart) exec claudex-doctor "$@" ;;
esac
set -a
. '{env}'
set +a
exec "$CLAUDE_BIN" "$@"
"""


def test_hand_written_wrapper_without_override_is_not_run(s):
    s.write_wrapper(HAND_WRITTEN.format(env=s.paths.env_file))
    found = s.run("wrapper.passthrough")
    assert found["wrapper.installed"].status is Status.PASS
    assert any("CLAUDEX_CLAUDE_BIN" in d for d in found["wrapper.installed"].details)
    live = found["wrapper.passthrough"]
    assert live.status is Status.WARN and "without editing it" in live.summary
    assert live.reference.endswith("#passthrough-cannot-be-tested") and _is_rewrite_fix(live.fix)


@pytest.mark.parametrize("line", ["set -- hijacked", "X=$(touch {marker})", "touch {marker}", "X=`touch {marker}`"])
def test_an_env_file_that_is_not_plain_assignments_is_never_run(s, tmp_path, line):
    # The wrapper sources the env file: testing it would run the file's commands. A diagnosis does not.
    marker = tmp_path / "ran"
    s.paths.env_file.write_text(s.paths.env_file.read_text() + line.format(marker=marker) + "\n")
    found = s.run("wrapper.passthrough")
    assert found["wrapper.installed"].status is Status.PASS
    live = found["wrapper.passthrough"]
    assert live.status is Status.WARN and live.summary.startswith("not run")
    assert live.reference.endswith("#env-file-runs-code")
    assert not marker.exists()


def test_env_changed_after_sourcing_is_caught_with_fingerprints(s):
    text = s.wrapper.read_text().replace("set +a\n", "set +a\nANTHROPIC_AUTH_TOKEN=other-token-value-123\n"
                                                      "ANTHROPIC_BASE_URL=http://127.0.0.1:9\n")
    s.write_wrapper(text)
    live = s.run("wrapper.passthrough")["wrapper.passthrough"]
    assert live.status is Status.FAIL and live.reference.endswith("#env-not-reaching-claude")
    joined = "\n".join([live.summary, *live.details])
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:9" in joined
    assert "other-token-value-123" not in joined and "sha256:" in joined


def test_missing_exec_is_caught_live_by_the_signal(s):
    s.write_wrapper(s.wrapper.read_text().replace('exec "$CLAUDE_BIN" "$@"', '"$CLAUDE_BIN" "$@"'))
    outcome = wrapper_passthrough.run(s.context())  # past wrapper.installed, which fails it statically
    assert outcome.status is Status.FAIL and "SIGTERM" in outcome.summary and "143" in outcome.summary
    assert outcome.reference.endswith("#exit-code-and-signals-lost")


def test_stealing_doctor_is_caught_live(s):
    text = s.wrapper.read_text().replace("case \"${1-}\" in\n", "case \"${1-}\" in\ndoctor) exit 0 ;;\n")
    s.write_wrapper(text)
    outcome = wrapper_passthrough.run(s.context())
    assert outcome.status is Status.FAIL and "claudex doctor" in outcome.summary
    assert outcome.reference.endswith("#wrapper-steals-claude-subcommands")
    assert not s.tripwire.exists()


def test_env_file_the_shell_cannot_source_is_named_without_running_it(s):
    s.paths.env_file.write_text(s.paths.env_file.read_text() + "export BROKEN='unterminated\n")
    live = s.run("wrapper.passthrough")["wrapper.passthrough"]
    assert live.status is Status.WARN and live.reference.endswith("#env-file-runs-code")
    assert "runs" not in live.evidence  # nothing ran


def test_api_key_from_the_shell_warns_without_showing_it(s):
    env = {**s.env, "ANTHROPIC_API_KEY": "sk-ant-shell-canary-0123456789abcdef"}
    live = s.run("wrapper.passthrough", env=env)["wrapper.passthrough"]
    assert live.status is Status.WARN and live.reference.endswith("#shell-api-key-reaches-claude")
    assert "sk-ant-shell-canary" not in json.dumps(live.to_dict())


def test_no_time_left_skips(s):
    outcome = wrapper_passthrough.run(s.context(deadline=0.5))
    assert outcome.status is Status.SKIP and "deadline" in outcome.summary


def test_unreadable_env_file_skips_passthrough(s):
    s.paths.env_file.unlink()
    outcome = wrapper_passthrough.run(s.context())
    assert outcome.status is Status.SKIP and "env file" in outcome.summary


def test_passthrough_is_not_broken_by_other_checks_spawning_at_the_same_time(s):
    """A child forked by another check while a stand-in is open for writing made its exec fail with
    "Text file busy" (ETXTBSY), which read as a wrapper that loses arguments. Reproduced here with
    threads that spawn without pause during the whole run; before SPAWN_LOCK about one run in ten failed."""
    import threading

    from claudex_doctor.base.proc import run_bounded
    from claudex_doctor.wrapper import passthrough

    stop = threading.Event()

    def spawn_forever():
        while not stop.is_set():
            run_bounded(["/bin/true"], 5)

    spawners = [threading.Thread(target=spawn_forever, daemon=True) for _ in range(3)]
    for thread in spawners:
        thread.start()
    try:
        env = {**s.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for _ in range(25):
            report = passthrough.verify(s.wrapper, {}, run_bounded, env, budget=20)
            lost = [(o.name, o.error) for o in report.outcomes if o.recorded is None]
            assert not lost, lost
    finally:
        stop.set()
        for thread in spawners:
            thread.join()

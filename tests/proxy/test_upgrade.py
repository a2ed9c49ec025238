"""upgrade: the new binary beside the current one, one rename, a probe, and a rollback by itself when the
probe fails; run against the fake CLIProxyAPI in throwaway homes (the real versions: tests/e2e)."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import pytest

from claudex_doctor.base import atomic
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.primitives import apply
from claudex_doctor.proxy import upgrade
from claudex_doctor.service import control
from claudex_doctor.service.owner import OwnerState, identify
from tests.conftest import free_port, wait_listening
from tests.homekit import executable
from tests.service_home import leftover_children, made_home, paths_of

GATEWAY = Path(__file__).resolve().parent.parent / "fakes" / "gateway.py"


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    assert not leftover_children(), leftover_children()


@pytest.fixture
def home(tmp_path):
    yield from made_home(tmp_path, free_port())


def fake_version(path: Path, version: str) -> Path:
    """A cli-proxy-api stand-in that reports `version` on -h and otherwise runs the fake gateway."""
    return executable(path, f"""#!/bin/sh
case "$1" in -h) echo "CLIProxyAPI Version: {version}, Commit: none, BuiltAt: unknown"; exit 0 ;; esac
exec '{sys.executable}' '{GATEWAY}' "$@"
""")


def broken_at_start(path: Path, version: str = "v9.9.9") -> Path:
    """Answers -h like a good binary, then exits 1 when run as the proxy."""
    return executable(path, f"""#!/bin/sh
case "$1" in -h) echo "CLIProxyAPI Version: {version}, Commit: none, BuiltAt: unknown"; exit 0 ;; esac
echo "fatal: this build cannot start" >&2
exit 1
""")


def _owner(paths):
    return identify(paths, control.endpoint(control._ctx(paths))[1])


def _entries(paths):
    return [json.loads(line) for line in paths.journal.read_text().splitlines()] if paths.journal.exists() else []


def test_upgrade_swaps_probes_and_keeps_the_previous_binary(home, tmp_path):
    paths = paths_of(home)
    old = fake_version(paths.binary, "v7.2.140").read_bytes()
    assert control.start(paths, timeout=10).ok
    new = fake_version(tmp_path / "new" / "cli-proxy-api", "v7.2.141")
    result = apply("upgrade", paths, binary=str(new))
    assert result.ok, result
    assert result.details["from"] == "v7.2.140" and result.details["to"] == "v7.2.141"
    assert paths.binary.read_bytes() == new.read_bytes()
    assert upgrade.previous_path(paths).read_bytes() == old
    assert _owner(paths).state is OwnerState.OURS  # it ran before, it runs after
    assert not (home / upgrade.STAGED).exists()
    assert [e for e in _entries(paths) if e.get("primitive") == "upgrade"][-1]["status"] == "applied"

    third = fake_version(tmp_path / "third" / "cli-proxy-api", "v7.2.142")
    assert apply("upgrade", paths, binary=str(third)).ok
    assert upgrade.previous_path(paths).read_bytes() == new.read_bytes()  # two kept: current and the one before
    assert sorted(p.name for p in home.glob("cli-proxy-api*") if "log" not in p.name and "pid" not in p.name) == \
        ["cli-proxy-api", "cli-proxy-api.previous"]
    control.stop(paths)


def test_a_binary_that_fails_at_start_is_rolled_back_by_itself(home, tmp_path):
    paths = paths_of(home)
    old = fake_version(paths.binary, "v7.2.140").read_bytes()
    assert control.start(paths, timeout=10).ok
    bad = broken_at_start(tmp_path / "bad" / "cli-proxy-api")
    result = apply("upgrade", paths, binary=str(bad), timeout=5)
    assert not result.ok and result.details["rolled_back"], result
    assert "rolled back to v7.2.140" in result.message and "the previous binary runs again" in result.message
    assert result.details["reference"] == "references/binaries.md#upgrade-rolled-back"
    assert paths.binary.read_bytes() == old and not upgrade.previous_path(paths).exists()  # as before
    assert _owner(paths).state is OwnerState.OURS and control.health("127.0.0.1", _owner(paths).port)["ok"]
    assert not list(home.glob(".cli-proxy-api.*"))
    assert [e for e in _entries(paths) if e.get("primitive") == "upgrade"][-1]["status"] == "rolled back"
    control.stop(paths)


@pytest.mark.parametrize("content, mode", [(b"\x7fELF\x02\x01\x01", 0o755), (b"#!/bin/sh\nexit 1\n", 0o755),
                                           (b"#!/bin/sh\necho hi\n", 0o644)])
def test_a_binary_that_does_not_run_changes_nothing(home, tmp_path, content, mode):
    paths = paths_of(home)
    old = paths.binary.read_bytes()
    bad = tmp_path / "bad"
    bad.write_bytes(content)
    bad.chmod(mode)
    with pytest.raises(PrimitiveError) as refused:
        apply("upgrade", paths, binary=str(bad))
    assert "nothing was changed" in str(refused.value)
    assert paths.binary.read_bytes() == old and not upgrade.previous_path(paths).exists()
    assert _owner(paths).state is OwnerState.NONE


def test_not_running_before_means_not_running_after_and_dry_run_changes_nothing(home, tmp_path):
    paths = paths_of(home)
    fake_version(paths.binary, "v7.2.140")
    new = fake_version(tmp_path / "new" / "cli-proxy-api", "v7.2.141")
    dry = apply("upgrade", paths, dry_run=True, binary=str(new))
    assert dry.ok and dry.message.startswith("would upgrade") and not upgrade.previous_path(paths).exists()
    assert any("stop the proxy again after the probe" in c for c in dry.changes)
    result = apply("upgrade", paths, binary=str(new))
    assert result.ok, result
    assert _owner(paths).state is OwnerState.NONE
    same = apply("upgrade", paths, binary=str(new))
    assert same.ok and same.message.startswith("already at v7.2.141") and not same.changes


def test_a_version_without_go_is_refused_before_anything_happens(home, monkeypatch, tmp_path):
    paths = paths_of(home)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrimitiveError, match="go is not on PATH"):
        apply("upgrade", paths, version="v7.2.140")
    with pytest.raises(PrimitiveError, match="is not a CLIProxyAPI version"):
        apply("upgrade", paths, version="latest; rm -rf /")


# -- a port held by a process this home did not start ------------------------------------------------

def _no_build(monkeypatch, tmp_path) -> list:
    """A `go` on PATH, and a build that records being asked instead of building."""
    executable(tmp_path / "go-bin" / "go", "#!/bin/sh\nexit 1\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'go-bin'}{os.pathsep}{os.environ['PATH']}")
    asked: list = []
    monkeypatch.setattr(upgrade.build, "build_version", lambda *a, **k: asked.append(a) or "built")
    return asked


def test_an_unrecorded_proxy_of_this_home_is_refused_before_anything_is_built(home, spawned, monkeypatch,
                                                                                tmp_path):
    paths = paths_of(home)
    old = fake_version(paths.binary, "v7.2.140").read_bytes()
    proc = spawned.popen([home / "run.sh"], cwd=home)
    wait_listening(_owner(paths).port)
    assert _owner(paths).state is OwnerState.UNRECORDED
    asked = _no_build(monkeypatch, tmp_path)
    with pytest.raises(PrimitiveError) as refused:
        apply("upgrade", paths, version="v7.2.141", timeout=5)
    assert f"pid {proc.pid}" in str(refused.value) and "did not start" in str(refused.value)
    assert "nothing was changed" in str(refused.value)
    assert refused.value.reference == "references/service.md#port-owned-by-another-process"
    assert not asked and paths.binary.read_bytes() == old and not upgrade.previous_path(paths).exists()
    assert proc.poll() is None and not list(home.glob(".cli-proxy-api*"))


def test_a_foreign_listener_on_the_port_is_refused_before_anything_is_built(home, spawned, monkeypatch, tmp_path):
    paths = paths_of(home)
    old = fake_version(paths.binary, "v7.2.140").read_bytes()
    server = spawned.http_server(_owner(paths).port, cwd=tmp_path)
    asked = _no_build(monkeypatch, tmp_path)
    with pytest.raises(PrimitiveError, match=f"pid {server.pid}.*nothing was changed"):
        apply("upgrade", paths, version="v7.2.141", timeout=5)
    new = fake_version(tmp_path / "new" / "cli-proxy-api", "v7.2.141")
    with pytest.raises(PrimitiveError, match="did not start"):
        apply("upgrade", paths, binary=str(new), timeout=5)
    assert not asked and paths.binary.read_bytes() == old and not upgrade.previous_path(paths).exists()
    assert server.poll() is None
    assert apply("upgrade", paths, dry_run=True, binary=str(new)).ok  # a dry run still shows the plan


def test_a_start_that_finds_a_process_already_answering_is_no_proof_and_rolls_back(home, monkeypatch, tmp_path):
    paths = paths_of(home)
    old = fake_version(paths.binary, "v7.2.140").read_bytes()
    new = fake_version(tmp_path / "new" / "cli-proxy-api", "v7.2.141")
    from claudex_doctor.base.result import PrimitiveResult

    monkeypatch.setattr(control, "start", lambda paths, **kw: PrimitiveResult(
        True, "already running: pid 4242 answers on 127.0.0.1", details={"pid": 4242, "already_running": True}))
    result = apply("upgrade", paths, binary=str(new), timeout=5)
    assert not result.ok and result.details["rolled_back"], result
    assert "not started" in result.details["probe"] and "pid 4242" in result.details["probe"]
    assert paths.binary.read_bytes() == old and not upgrade.previous_path(paths).exists()


# -- the swap: all of it or none of it ----------------------------------------------------------------

def _record_syncs(monkeypatch) -> list:
    """The folders the upgrade itself syncs (atomic's own writes are not counted)."""
    synced: list = []

    class Recording:
        def __getattr__(self, name):
            return getattr(atomic, name)

        def fsync_dir(self, directory):
            synced.append(Path(directory))
            atomic.fsync_dir(directory)

    monkeypatch.setattr(upgrade, "atomic", Recording())
    return synced


def test_a_swap_that_fails_half_way_puts_the_binaries_back(home, monkeypatch, tmp_path):
    paths = paths_of(home)
    first = fake_version(paths.binary, "v7.2.140").read_bytes()
    second = fake_version(tmp_path / "second" / "cli-proxy-api", "v7.2.141")
    assert apply("upgrade", paths, binary=str(second)).ok
    assert control.start(paths, timeout=10).ok
    third = fake_version(tmp_path / "third" / "cli-proxy-api", "v7.2.142")
    real_replace = os.replace
    synced = _record_syncs(monkeypatch)

    def replace(src, dst, **kw):
        if Path(src).name == upgrade.STAGED:
            raise OSError(errno.EIO, "Input/output error", str(src))
        return real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "replace", replace)
    result = apply("upgrade", paths, binary=str(third), timeout=10)
    monkeypatch.setattr(os, "replace", real_replace)
    assert not result.ok and "could not put the new binary in place" in result.message, result
    assert "the binaries are as they were" in result.message and "the proxy runs again" in result.message
    assert paths.binary.read_bytes() == second.read_bytes()
    assert upgrade.previous_path(paths).read_bytes() == first  # the one kept before is kept still
    assert not list(home.glob(".cli-proxy-api*"))
    assert paths.home in synced
    assert _owner(paths).state is OwnerState.OURS
    assert [e for e in _entries(paths) if e.get("primitive") == "upgrade"][-1]["status"] == "failed"
    control.stop(paths)


def test_the_swap_and_the_rollback_sync_the_home_folder(home, monkeypatch, tmp_path):
    paths = paths_of(home)
    fake_version(paths.binary, "v7.2.140")
    synced = _record_syncs(monkeypatch)
    assert apply("upgrade", paths, binary=str(fake_version(tmp_path / "a" / "cli-proxy-api", "v7.2.141"))).ok
    assert synced.count(paths.home) == 1
    bad = apply("upgrade", paths, binary=str(broken_at_start(tmp_path / "b" / "cli-proxy-api")), timeout=5)
    assert not bad.ok and bad.details["rolled_back"]
    assert synced.count(paths.home) == 3


# -- the lock: not held while the new binary is built ---------------------------------------------------

def test_another_primitive_changes_the_home_while_the_new_binary_is_built(home, monkeypatch, tmp_path):
    import threading

    paths = paths_of(home)
    fake_version(paths.binary, "v7.2.140")
    executable(tmp_path / "go-bin" / "go", "#!/bin/sh\nexit 1\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'go-bin'}{os.pathsep}{os.environ['PATH']}")
    meanwhile: list = []

    def other_primitive() -> None:
        meanwhile.append(apply("stop", paths))

    def slow_build(version, target, env, status):  # a Go build takes minutes; another primitive runs meanwhile
        other = threading.Thread(target=other_primitive)
        other.start()
        other.join(timeout=5)
        meanwhile.append("done waiting")
        fake_version(Path(target), version)
        return "built"

    monkeypatch.setattr(upgrade.build, "build_version", slow_build)
    result = apply("upgrade", paths, version="v7.2.141", timeout=5)
    assert result.ok, result
    assert meanwhile and meanwhile[0] != "done waiting", "the other primitive waited for the build"
    assert meanwhile[0].ok
    assert "v7.2.141" in paths.binary.read_text()

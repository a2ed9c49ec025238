"""Atomic writes keep a backup of what they replace and never leave a half-written file."""

from __future__ import annotations

import os
import stat

import pytest

from claudex_doctor.base import atomic


def test_write_keeps_the_mode_and_a_backup(tmp_path):
    target = tmp_path / "config.yaml"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    saved = atomic.write_atomic(target, "new\n", backup_dir=tmp_path / "backups")
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert saved is not None and saved.read_text() == "old\n" and saved.parent.name == "backups"
    assert atomic.write_atomic(tmp_path / "fresh", b"x") is None
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o600


def test_install_file_streams_a_copy_in_place(tmp_path):
    source = tmp_path / "built"
    source.write_bytes(os.urandom(3 << 20))
    target = tmp_path / "home" / "cli-proxy-api"
    assert atomic.install_file(source, target, 0o755) is None
    assert target.read_bytes() == source.read_bytes() and stat.S_IMODE(target.stat().st_mode) == 0o755
    saved = atomic.install_file(source, target, 0o755, backup_dir=tmp_path / "backups")
    assert saved is not None and saved.read_bytes() == source.read_bytes()


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "env"
    target.write_text("keep me\n")

    class Boom(Exception):
        pass

    def explode(handle):
        handle.write(b"half")
        raise Boom

    with pytest.raises(Boom):
        atomic._replace(target, explode, None, False, None, None, False)
    assert target.read_text() == "keep me\n"
    assert [p.name for p in tmp_path.iterdir()] == ["env"]


def _bounded(call, fifo=None):
    """Run `call` in a thread and return ("ok", value) or ("raised", exception). A safety net only: should
    the call block on `fifo` (the bug), the FIFO is opened for writing to release it, and the outcome
    says it blocked; the test asserts on the outcome."""
    import threading

    outcome: list = []

    def run():
        try:
            outcome.append(("ok", call()))
        except BaseException as exc:  # noqa: BLE001  (the outcome is the assertion)
            outcome.append(("raised", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive() and fifo is not None:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(30)
        return ("blocked", None)
    return outcome[0] if outcome else ("blocked", None)


def test_a_backup_of_a_fifo_is_refused_never_blocks(tmp_path):
    fifo = tmp_path / "claudex-gateway-1a2b3c.service"
    os.mkfifo(fifo)
    how, value = _bounded(lambda: atomic.backup(fifo, tmp_path / "backups", tmp_path), fifo)
    assert how == "raised" and isinstance(value, atomic.Refused), (how, value)
    assert "named pipe" in value.strerror and value.filename == str(fifo)
    assert not (tmp_path / "backups").exists() or not list((tmp_path / "backups").iterdir())


def test_a_backup_of_a_link_to_a_device_is_refused(tmp_path):
    zero = tmp_path / "unit.service"
    os.symlink("/dev/zero", zero)
    how, value = _bounded(lambda: atomic.backup(zero, tmp_path / "backups", tmp_path))
    assert how == "raised" and isinstance(value, atomic.Refused), (how, value)
    assert "character device" in value.strerror
    assert atomic.backup(tmp_path / "missing", tmp_path / "backups", tmp_path) is None


def test_install_file_refuses_a_source_that_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "given"
    os.mkfifo(fifo)
    how, value = _bounded(lambda: atomic.install_file(fifo, tmp_path / "home" / "cli-proxy-api", 0o755), fifo)
    assert how == "raised" and isinstance(value, atomic.Refused), (how, value)
    assert not (tmp_path / "home" / "cli-proxy-api").exists()


def test_remove_keeps_a_backup_of_a_file_and_removes_a_link_as_it_is(tmp_path):
    root = tmp_path / "user"
    (root / "units").mkdir(parents=True)
    unit = root / "units" / "a.service"
    unit.write_text("[Unit]\n")
    saved = atomic.remove(unit, root, backup_dir=root / "backups")
    assert not os.path.lexists(unit) and saved is not None and saved.read_text() == "[Unit]\n"
    pointed = tmp_path / "elsewhere.service"
    pointed.write_text("not ours\n")
    os.symlink(pointed, unit)
    assert atomic.remove(unit, root, backup_dir=root / "backups") is None
    assert not os.path.lexists(unit) and pointed.read_text() == "not ours\n"
    assert len(list((root / "backups").iterdir())) == 1
    assert atomic.remove(unit, root) is None  # already gone: nothing to do


def test_remove_refuses_a_fifo_and_a_folder_out_of_its_root(tmp_path):
    root = tmp_path / "user"
    root.mkdir()
    fifo = root / "a.service"
    os.mkfifo(fifo)
    how, value = _bounded(lambda: atomic.remove(fifo, root, backup_dir=root / "backups"), fifo)
    assert how == "raised" and isinstance(value, atomic.Refused), (how, value)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.service").write_text("x")
    os.symlink(outside, root / "linked")
    with pytest.raises(atomic.Refused, match="outside"):
        atomic.remove(root / "linked" / "b.service", root)
    assert (outside / "b.service").read_text() == "x"

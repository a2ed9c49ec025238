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

"""secure-auth and auth.codex's permission finding: the Codex login readable by other users."""

from __future__ import annotations

import json
import os
import stat

import pytest

from claudex_doctor import primitives
from claudex_doctor.auth.permissions import exposure
from claudex_doctor.core.model import Safety, Status
from claudex_doctor.errors import PrimitiveError
from tests.authkit import Login, Stack, text_of


@pytest.fixture
def stack(tmp_path) -> Stack:
    made = Stack(tmp_path)
    made.make_home()
    return made


@pytest.mark.parametrize("file_mode, dir_mode, exposed", [
    (0o600, 0o700, False),
    (0o600, 0o755, False),   # a private file in an open directory is private
    (0o644, 0o700, False),   # nobody else can reach into the directory
    (0o644, 0o755, True),
    (0o640, 0o750, True),
    (0o600, 0o777, True),    # others may replace the file
    (0o600, 0o1777, False),  # ... unless the sticky bit stops them
])
def test_exposure(tmp_path, file_mode, dir_mode, exposed):
    folder = tmp_path / "codex"
    folder.mkdir()
    target = folder / "auth.json"
    target.write_text("{}")
    os.chmod(target, file_mode)
    os.chmod(folder, dir_mode)
    try:
        assert (exposure(target) is not None) is exposed
    finally:
        os.chmod(folder, 0o700)


def test_a_readable_codex_login_is_a_warning_with_a_confirm_fix_that_repairs_it(stack):
    login = Login()
    stack.write_codex(login.codex_json(), mode=0o644)
    os.chmod(stack.codex_home, 0o755)
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN, finding
    assert "readable by other users (file 0644, directory 0755" in finding.summary
    assert finding.reference == "references/auth.md#codex-auth-file-permissions"
    assert finding.fix.primitive == "secure-auth" and finding.fix.safety is Safety.CONFIRM
    assert login.canary not in text_of(finding)
    before = stack.codex_file.read_bytes()
    with pytest.raises(PrimitiveError, match="--yes"):
        primitives.apply("secure-auth", stack.paths)  # unconfirmed: nothing changes
    assert stack.codex_file.stat().st_mode & 0o777 == 0o644
    dry = primitives.apply("secure-auth", stack.paths, dry_run=True, **finding.fix.args)
    assert any("chmod 0600" in c for c in dry.changes) and stack.codex_file.stat().st_mode & 0o777 == 0o644
    primitives.apply("secure-auth", stack.paths, **finding.fix.args)
    assert stack.codex_file.stat().st_mode & 0o777 == 0o600
    assert stack.codex_file.read_bytes() == before, "only the mode changes"
    assert stack.run("auth.codex")["auth.codex"].status is Status.PASS
    assert json.loads(stack.paths.journal.read_text().splitlines()[-1])["primitive"] == "secure-auth"


def test_the_proxy_credential_and_its_directory_are_tightened_too(stack):
    login = Login()
    stack.write_codex(login.codex_json())
    stack.write_proxy(login.proxy_json(), mode=0o644)
    os.chmod(stack.auth_dir, 0o755)
    result = primitives.apply("secure-auth", stack.paths, yes=True)
    assert stack.proxy_file.stat().st_mode & 0o777 == 0o600 and stack.auth_dir.stat().st_mode & 0o777 == 0o700
    assert len(result.changes) == 2
    again = primitives.apply("secure-auth", stack.paths, yes=True)
    assert again.changes == [] and "already private" in again.message


def test_a_symlinked_login_is_refused_not_followed(stack, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    os.chmod(elsewhere, 0o644)
    stack.codex_home.mkdir(parents=True, exist_ok=True)
    stack.codex_file.symlink_to(elsewhere)
    with pytest.raises(PrimitiveError, match="not a regular file"):
        primitives.apply("secure-auth", stack.paths, yes=True)
    assert elsewhere.stat().st_mode & 0o777 == 0o644


def test_nothing_to_secure_without_files(stack):
    assert primitives.apply("secure-auth", stack.paths, yes=True).changes == []


def test_the_command(stack, cli):
    login = Login()
    stack.write_codex(login.codex_json(), mode=0o640)
    os.chmod(stack.codex_home, 0o750)
    refused = cli("secure-auth", env=stack.env)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    done = cli("secure-auth", "--yes", "--json", env=stack.env)
    assert done.returncode == 0 and json.loads(done.stdout)["primitive"] == "secure-auth"
    assert stack.codex_file.stat().st_mode & 0o777 == 0o600


def test_a_linked_auth_folder_out_of_the_home_is_refused_and_nothing_changes(tmp_path):
    """auth/ -> a folder outside the home: the file there is not the stack's to change, and no change is
    reported that was not made."""
    from claudex_doctor.base import paths as paths_mod
    from claudex_doctor.errors import PrimitiveError
    from claudex_doctor.primitives import apply

    home = tmp_path / "home"
    home.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o755)
    (outside / "codex-current.json").write_text("{}")
    os.chmod(outside / "codex-current.json", 0o644)
    (home / "auth").symlink_to(outside)
    paths = paths_mod.resolve(env={"HOME": str(tmp_path / "u"), "CLAUDEX_GATEWAY_HOME": str(home),
                                   "CODEX_HOME": str(tmp_path / "codex")})
    with pytest.raises(PrimitiveError, match="outside"):
        apply("secure-auth", paths, yes=True)
    assert stat.S_IMODE((outside / "codex-current.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755

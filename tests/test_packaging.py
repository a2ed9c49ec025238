"""The installed story: what setuptools ships is enough to run from any directory.

setuptools' `build_py` (the step that fills a wheel) copies the packages and
their package data into a temporary folder, offline and in about a second; the
CLI then runs from that copy alone (PYTHONPATH, another working directory), so
a page, a knowledge file or a subpackage missing from pyproject.toml fails here
rather than on a user's machine. The build must not warn (setuptools' deprecations
become build failures on a date: the SPDX `license` string is the current form).

setuptools comes with the test extra (`pip install -e '.[test]'`): venvs made by
Python 3.12 and newer have none, and these tests must run on every supported Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parent.parent
ROOTS = {"doctor": "claudex_doctor", "checks": "claudex_doctor/checks", "knowledge": "claudex_doctor/knowledge",
         "references": "claudex_doctor/references"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.fail("setuptools is missing: install the test extra (pip install -e '.[test]')", pytrace=False)
    out = tmp_path_factory.mktemp("build")
    proc = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q",
                           "egg_info", "--egg-base", str(out), "build_py", "-d", str(out / "lib")],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "would be ignored" not in proc.stderr, "pyproject.toml relies on setuptools' deprecated data-only packages"
    assert "SetuptoolsDeprecationWarning" not in proc.stderr, proc.stderr[-2000:]
    return out / "lib"


def test_the_wheel_declares_its_license_and_installs_a_working_command(tmp_path):
    """A wheel built offline (no build isolation) carries the SPDX license and the license file, and
    installed into a fresh venv its `claudex-doctor` console script runs (the dependencies come from
    this environment through a .pth file, so nothing is downloaded)."""
    import sysconfig
    import zipfile

    wheels = tmp_path / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
                           "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = wheels.glob("claudex_doctor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata.splitlines()
    assert not [line for line in metadata.splitlines() if line.startswith("Classifier: License")]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "deps-from-the-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                             capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr[-2000:]
    command = venv / "bin" / "claudex-doctor"
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60,
                             cwd=tmp_path, check=False)
    assert version.returncode == 0 and version.stdout.startswith("claudex-doctor "), version.stderr


def _expected_files() -> list[str]:
    out = []
    for folder, package in ROOTS.items():
        for path in (REPO / folder).rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(REPO / folder)
            if folder == "doctor" and relative.parts[0] in ("checks", "knowledge", "references"):
                continue
            if path.suffix in (".py", ".md", ".json"):
                out.append(f"{package}/{relative.as_posix()}")
    return sorted(out)


def test_every_module_page_and_knowledge_file_is_shipped(built):
    shipped = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    missing = sorted(set(_expected_files()) - set(shipped))
    assert not missing, f"not in the wheel (pyproject.toml packages / package-data): {missing}"


def _run(built: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(built))
    return subprocess.run([sys.executable, "-m", "claudex_doctor", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60, check=False)


def test_the_built_copy_runs_from_another_directory(built, tmp_path, user_home, gateway_home):
    code = ("import claudex_doctor, importlib.resources as r; "
            "print(claudex_doctor.__file__); print(r.files('claudex_doctor.references'))")
    where = subprocess.run([sys.executable, "-c", code],
                           capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(built)),
                           check=True).stdout.split()
    assert all(line.startswith(str(built)) for line in where), where

    page = _run(built, tmp_path, "explain", "litellm")
    assert page.returncode == 0, page.stderr
    assert "## LiteLLM in the path" in page.stdout

    port = free_port()  # a home on a random port: the run never looks at 8327
    gateway_home.mkdir(parents=True)
    (gateway_home / "config.yaml").write_text(f'host: "127.0.0.1"\nport: {port}\nauth-dir: "./auth"\n'
                                              'api-keys:\n  - "packaging-test-key-1234"\n')
    (gateway_home / "claude-code-gpt54.env").write_text(f"export ANTHROPIC_BASE_URL=http://127.0.0.1:{port}\n"
                                                        "export ANTHROPIC_AUTH_TOKEN=packaging-test-key-1234\n")
    run = _run(built, tmp_path, "--json", "--offline")
    assert run.returncode in (0, 1), run.stderr
    data = json.loads(run.stdout)
    from claudex_doctor.checks import CHECKS
    assert [c["id"] for c in data["checks"]] == [c.id for c in CHECKS]
    assert not [c["id"] for c in data["checks"] if c["status"] == "error"], run.stdout

"""The pinned CLIProxyAPI build: which version it builds and how it reads `go mod download -json`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claudex_doctor.errors import PrimitiveError
from claudex_doctor.knowledge import models
from claudex_doctor.proxy import build

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_pins_the_version_the_model_facts_pin(monkeypatch, tmp_path):
    """One pin: knowledge/models.json's pinned_proxy; the build follows it, so they cannot drift."""
    monkeypatch.setattr(models, "pinned_proxy", lambda: "v7.9.9")
    assert build.pinned_version() == "v7.9.9"
    with pytest.raises(PrimitiveError, match=r"CLIProxyAPI v7\.9\.9 needs Go"):
        build.build_pinned(tmp_path / "out", {"PATH": str(tmp_path)})


def test_the_end_to_end_components_install_the_pinned_proxy():
    script = (ROOT / ".ci" / "install-e2e").read_text(encoding="utf-8")
    pinned = re.search(r'^PROXY_VERSION="([^"]+)"', script, re.MULTILINE)
    assert pinned and pinned.group(1) == models.pinned_proxy() == build.pinned_version()


def test_go_mod_download_json_is_read_once_for_its_dir_and_its_error(tmp_path):
    module = tmp_path / "mod"
    (module / "cmd" / "server").mkdir(parents=True)
    answer = build._go_json(f'go: downloading x\n{{"Path": "m", "Dir": "{module}"}}')
    assert build._module_dir(answer) == module and build._json_error(answer) is None
    failed = build._go_json('{"Path": "m", "Error": "not found"}')
    assert build._module_dir(failed) is None and build._json_error(failed) == "not found"
    assert build._go_json("no json here") is None and build._go_json("{broken") is None


def test_a_version_is_a_tag():
    assert build.valid_version("v7.2.140") and build.valid_version("v7.3.0-rc1")
    assert not build.valid_version("7.2.140") and not build.valid_version("v7.2")

"""The programs setup needs and the minimum versions it holds them to."""

from __future__ import annotations

import os
from pathlib import Path

from claudex_doctor.machine import prerequisites


def _stand_in(bin_dir: Path, name: str, line: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho '{line}'\n")
    path.chmod(0o755)


def _found(tmp_path: Path, node: str, go: str) -> dict[str, prerequisites.Tool]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stand_in(bin_dir, "node", node)
    _stand_in(bin_dir, "go", go)
    tools = prerequisites.find(need_go=True, env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"})
    return {t.name: t for t in tools}


def test_node_older_than_claude_codes_engines_is_named(tmp_path):
    """Claude Code's package.json asks node >=22.0.0: Node 20 is too old, 22 is not."""
    tools = _found(tmp_path, "v20.20.2", "go version go1.26.0 linux/amd64")
    assert not tools["node"].ok and tools["node"].problem == "node 20.20.2 is older than 22.0"
    assert tools["go"].ok


def test_go_older_than_the_pinned_proxys_go_mod_is_named(tmp_path):
    tools = _found(tmp_path, "v22.0.0", "go version go1.25.9 linux/amd64")
    assert tools["node"].ok
    assert not tools["go"].ok and tools["go"].problem == "go 1.25.9 is older than 1.26"

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
    bin_dir.mkdir(parents=True)
    _stand_in(bin_dir, "node", node)
    _stand_in(bin_dir, "go", go)
    tools = prerequisites.find(need_go=True, env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"})
    return {t.name: t for t in tools}


def test_node_below_claude_codes_engines_is_a_note_and_below_codexs_a_stop(tmp_path):
    """Claude Code's package.json asks node >=22.0.0, but it is a native binary and its install runs on Node 20:
    a note, not a stop. The Codex CLI's `codex` is a Node script asking >=16: below that, a stop."""
    tools = _found(tmp_path, "v20.20.2", "go version go1.26.0 linux/amd64")
    node = tools["node"]
    assert node.ok and node.problem is None and node.note and "older than the 22.0" in node.note
    assert tools["go"].ok
    old = _found(tmp_path / "old", "v14.21.3", "go version go1.26.0 linux/amd64")["node"]
    assert not old.ok and old.problem == "node 14.21.3 is older than 16.0"
    new = _found(tmp_path / "new", "v22.12.0", "go version go1.26.0 linux/amd64")["node"]
    assert new.ok and new.note is None


def test_go_older_than_the_pinned_proxys_go_mod_is_named(tmp_path):
    tools = _found(tmp_path, "v22.0.0", "go version go1.25.9 linux/amd64")
    assert tools["node"].ok
    assert not tools["go"].ok and tools["go"].problem == "go 1.25.9 is older than 1.26"

"""What the throwaway homes of the check tests share: the layout, file writing, JWTs, snapshots.

`tests/authkit.py` (credential tests) and `tests/cfgkit.py` (config, env, settings and routing
tests) build their homes on `ThrowawayHome`; the homes that need a port (live checks, the service) are
`tests/fakes/home.py` and, on top of it, `tests/service_home.py`.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

from claudex_doctor.base import paths as paths_mod


def b64url(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(claims: dict) -> str:
    """A JWT-shaped token (dummy signature, never verified by anyone) carrying `claims`."""
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url(claims)}.{b64url(b'not-a-real-signature')}"


def write_file(path: Path, data: str | bytes, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    return path


def executable(path: Path, text: str) -> Path:
    """A script (0755), its directory made."""
    return write_file(path, text, 0o755)


def snapshot(*bases: Path) -> dict:
    """Bytes and modes of every file under `bases`, to prove that nothing changed."""
    out = {}
    for base in bases:
        for path in sorted(base.rglob("*")):
            try:
                st = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                out[str(path)] = (path.read_bytes(), stat.S_IMODE(st.st_mode))
            else:
                out[str(path)] = (None, stat.S_IMODE(st.st_mode))
    return out


def text_of(finding) -> str:
    """Everything a finding would show, as one string (to look for leaks)."""
    return json.dumps(finding.to_dict(), default=str)


def run_checks(ctx, ids) -> dict:
    """Run the given checks (and what they need) in `ctx`; findings by id."""
    from claudex_doctor.checks import graph
    from claudex_doctor.core.graph import run

    return {f.id: f for f in run(graph(), ctx, only=ids)}


class ThrowawayHome:
    """A runtime home and a Codex home under `root`, and the environment that points at them."""

    def __init__(self, root: Path, path: str) -> None:
        self.root = root
        self.user_home = Path(os.environ["HOME"])  # the test's own HOME (conftest isolates it)
        self.home = root / "gateway"
        self.codex_home = root / "codex"
        self.env = {"HOME": str(self.user_home), "PATH": path, "CODEX_HOME": str(self.codex_home),
                    "CLAUDEX_GATEWAY_HOME": str(self.home)}

    @property
    def config(self) -> Path:
        return self.home / "config.yaml"

    @property
    def env_file(self) -> Path:
        return self.home / paths_mod.ENV_FILE_NAME

    @property
    def launcher(self) -> Path:
        return self.home / "run.sh"

    @property
    def auth_dir(self) -> Path:
        return self.home / "auth"

    @property
    def proxy_file(self) -> Path:
        return self.auth_dir / paths_mod.PROXY_AUTH_NAME

    @property
    def codex_file(self) -> Path:
        return self.codex_home / "auth.json"

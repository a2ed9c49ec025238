"""Getting a CLIProxyAPI binary: probe one, copy one, or build the pinned version with Go.

The pinned build tries, in order:
1. `go install <module>/cmd/server@<version>` with a temporary GOBIN (the usual way);
2. `go mod download -json <module>@<version>` and `go build ./cmd/server` in the
   downloaded module (works when the module proxy refuses the version *list*,
   which `go install pkg@version` asks for, but still serves the version itself);
3. `git clone --depth=1 --branch <version>` of the upstream repository and `go build`.
Every build writes into a temporary directory; the caller installs the result.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from claudex_doctor.base.redact import redact_text
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.knowledge import models

REPO_URL = "https://github.com/router-for-me/CLIProxyAPI"
BUILD_TIMEOUT = 1800.0
ALTERNATIVES = "or pass --binary PATH (a cli-proxy-api you already have) or --source DIR (a CLIProxyAPI checkout)"


def pinned_version() -> str:
    """The CLIProxyAPI version the doctor builds by default: knowledge/models.json's `pinned_proxy`, the
    version its model facts were read from (one home, so the build and the checks cannot disagree)."""
    return models.pinned_proxy()


def which(name: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(name, path=env.get("PATH", os.defpath))


def run(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        timeout: float = 60.0) -> tuple[int | None, str]:
    """(exit code or None when it could not run / timed out, combined output). Never raises."""
    from claudex_doctor.base.proc import run_bounded

    proc = run_bounded(argv, timeout, env=env, cwd=cwd)
    if (proc.error or "").startswith("timed out"):
        return None, f"timed out after {timeout:.0f}s"
    if proc.error:
        return None, f"cannot run {argv[0]}: {proc.error}"
    return proc.returncode, proc.output


def probe(path: Path) -> tuple[str, str]:
    """('ok' | 'missing' | 'broken', one line). Runs `<binary> -h` in an empty directory."""
    if not path.exists():
        return "missing", f"{path} does not exist"
    if not path.is_file():
        return "broken", f"{path} is not a regular file"
    if not os.access(path, os.X_OK):
        return "broken", f"{path} is not executable"
    with tempfile.TemporaryDirectory(prefix="claudex-probe-") as empty:
        code, out = run([str(path), "-h"], cwd=Path(empty), timeout=10.0)
    for line in out.splitlines():
        if "CLIProxyAPI Version" in line:
            return "ok", line.strip()[:120]
    if code in (0, 2):
        return "ok", "runs (no version line)"
    if code is None:
        return "broken", out.strip()[:200]
    return "broken", f"`{path.name} -h` exits with {code}: {_tail(out)}"


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return redact_text(" | ".join(kept))[:400] or "(no output)"


def _go(env: Mapping[str, str]) -> str:
    from claudex_doctor.machine.prerequisites import GO_MIN

    go = which("go", env)
    if go is None:
        raise PrimitiveError(f"go is not on PATH: building CLIProxyAPI {pinned_version()} needs Go "
                             f"{'.'.join(map(str, GO_MIN))} or newer; "
                             f"install Go, {ALTERNATIVES}")
    return go


def build_from_source(source: Path, out: Path, env: Mapping[str, str], status=None) -> str:
    """`go build -o out ./cmd/server` inside a CLIProxyAPI checkout."""
    if not (source / "cmd" / "server").is_dir():
        raise PrimitiveError(f"{source} is not a CLIProxyAPI checkout (no cmd/server in it); "
                             "pass the repository's top directory, or use --binary PATH")
    go = _go(env)
    if status:
        status(f"building CLIProxyAPI from {source} (go build ./cmd/server)…")
    build_env = {**env, "CGO_ENABLED": "0"}
    code, output = run([go, "build", "-trimpath", "-o", str(out), "./cmd/server"], cwd=source, env=build_env,
                       timeout=BUILD_TIMEOUT)
    if code != 0 or not out.is_file():
        raise PrimitiveError(f"go build in {source} failed: {_tail(output)}")
    return f"built from {source} with go build ./cmd/server"


def module_for(version: str) -> str:
    """The Go module path of a CLIProxyAPI version: major versions 2 and up carry a /vN suffix."""
    major = version.lstrip("v").split(".", 1)[0]
    return f"{REPO_URL.removeprefix('https://')}/v{major}" if major.isdigit() and int(major) >= 2 else \
        REPO_URL.removeprefix("https://")


def ldflags(version: str) -> str:
    return f"-s -w -X main.Version={version}"


def valid_version(version: str) -> bool:
    """A CLIProxyAPI tag (v7.2.140, a pre-release such as v7.3.0-rc1 too): versions.is_tag."""
    from claudex_doctor.proxy.versions import is_tag
    return is_tag(version)


def build_pinned(out: Path, env: Mapping[str, str], status=None) -> str:
    """Build the pinned version into `out`; returns how it was obtained. Raises PrimitiveError naming what failed."""
    return build_version(pinned_version(), out, env, status)


def build_version(version: str, out: Path, env: Mapping[str, str], status=None) -> str:
    """Build CLIProxyAPI `version` (a tag such as v7.2.140) into `out`, the three ways the module docstring
    names; returns how. Raises PrimitiveError naming what failed."""
    if not valid_version(version):
        raise PrimitiveError(f"{version!r} is not a CLIProxyAPI version (a tag such as {pinned_version()})")
    module, flags = module_for(version), ldflags(version)
    go = _go(env)
    build_env = {**env, "CGO_ENABLED": "0"}
    failures: list[str] = []
    outputs: list[str] = []  # each attempt's last lines: shown whole when every attempt failed
    with _scratch() as scratch:
        # 1. go install pkg@version into a throwaway GOBIN.
        if status:
            status(f"building CLIProxyAPI {version} (go install)…")
        gobin = scratch / "bin"
        gobin.mkdir()
        code, output = run([go, "install", "-trimpath", "-ldflags", flags, f"{module}/cmd/server@{version}"],
                           cwd=scratch, env={**build_env, "GOBIN": str(gobin)}, timeout=BUILD_TIMEOUT)
        built = gobin / "server"
        if code == 0 and built.is_file():
            shutil.move(str(built), out)
            return f"go install {module}/cmd/server@{version}"
        outputs += _lines(output, "go install")
        failures.append(f"go install: {_tail(output, 2)}")

        # 2. Download the pinned module and build it where it landed.
        if status:
            status(f"building CLIProxyAPI {version} (go mod download + go build)…")
        code, output = run([go, "mod", "download", "-json", f"{module}@{version}"], cwd=scratch, env=build_env,
                           timeout=BUILD_TIMEOUT)
        answer = _go_json(output)
        module_dir = _module_dir(answer)
        if code == 0 and module_dir:
            code, output = run([go, "build", "-trimpath", "-buildvcs=false", "-ldflags", flags, "-o", str(out),
                                "./cmd/server"], cwd=module_dir, env=build_env, timeout=BUILD_TIMEOUT)
            if code == 0 and out.is_file():
                return f"go mod download {module}@{version} + go build"
            outputs += _lines(output, "go build of the downloaded module")
            failures.append(f"go build of the downloaded module: {_tail(output, 2)}")
        else:
            outputs += _lines(output, "go mod download")
            failures.append(f"go mod download: {_json_error(answer) or _tail(output, 2)}")

        # 3. Clone the upstream tag and build it.
        git = which("git", env)
        if git is None:
            raise PrimitiveError(f"could not build CLIProxyAPI {version}: " + "; ".join(failures) +
                                 f"; and git is not on PATH for the clone-and-build fallback. Check your network "
                                 f"or GOPROXY, install git, {ALTERNATIVES}", details={"build_output": outputs})
        if status:
            status(f"building CLIProxyAPI {version} (git clone + go build)…")
        checkout = scratch / "CLIProxyAPI"
        code, output = run([git, "clone", "--depth=1", "--branch", version, REPO_URL, str(checkout)],
                           cwd=scratch, env={**env, "GIT_TERMINAL_PROMPT": "0"}, timeout=BUILD_TIMEOUT)
        if code == 0:
            code, output = run([go, "build", "-trimpath", "-ldflags", flags, "-o", str(out), "./cmd/server"],
                               cwd=checkout, env=build_env, timeout=BUILD_TIMEOUT)
            if code == 0 and out.is_file():
                return f"git clone {REPO_URL} ({version}) + go build"
            outputs += _lines(output, "go build of the clone")
            failures.append(f"go build of the clone: {_tail(output, 2)}")
        else:
            outputs += _lines(output, "git clone")
            failures.append(f"git clone: {_tail(output, 2)}")
    raise PrimitiveError(f"could not build CLIProxyAPI {version}: " + "; ".join(failures) +
                         f". Check your network or GOPROXY, {ALTERNATIVES}", details={"build_output": outputs})


def _lines(output: str, step: str, keep: int = 15) -> list[str]:
    kept = [line.rstrip() for line in output.splitlines() if line.strip()][-keep:]
    return [f"{step}:"] + [redact_text(line)[:300] for line in kept]


def _go_json(output: str) -> dict | None:
    """The JSON object `go mod download -json` printed (after any log lines), None when there is none."""
    try:
        data = json.loads(output[output.find("{"):]) if "{" in output else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _module_dir(data: dict | None) -> Path | None:
    if isinstance(data, dict) and isinstance(data.get("Dir"), str) and not data.get("Error"):
        path = Path(data["Dir"])
        return path if (path / "cmd" / "server").is_dir() else None
    return None


def _json_error(data: dict | None) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("Error"), str):
        return redact_text(data["Error"])[:300]
    return None


@contextmanager
def _scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="claudex-build-"))
    try:
        yield path
    finally:
        # Module-cache copies are read-only; make them removable first.
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                try:
                    os.chmod(os.path.join(root, name), 0o700)
                except OSError:
                    pass
        shutil.rmtree(path, ignore_errors=True)

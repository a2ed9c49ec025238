"""CLIProxyAPI versions: reading one, comparing two, and asking the Go module proxy which it serves.

The lookup speaks the module proxy protocol (`$GOPROXY/<module>/@v/list`, then `@latest`) over HTTPS
with httpx, the way `go list -m -versions` would ask but without writing the Go module cache and without
a Go toolchain. `GOPROXY` is respected (its comma- or pipe-separated list; `direct` and `off` are not
proxies: `off` means do not ask), and so are HTTPS_PROXY and NO_PROXY. Bounded as a whole in time and in
bytes (base.http); never raises. A GOPROXY URL may carry `user:password@`: it is sent, never shown
(problems and `source` name scheme, host and path only). It is a network call: callers skip it offline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from claudex_doctor.base import files
from claudex_doctor.base.net import without_userinfo

DEFAULT_GOPROXY = "https://proxy.golang.org,direct"
MAX_ANSWER = 256 * 1024  # an @v/list of every tag a module ever had is a few KiB; @latest's JSON far less
_VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?")


def is_tag(text: str) -> bool:
    """Whether `text` is a version tag as written (v7.2.140, or a pre-release such as v7.3.0-rc1)."""
    return bool(_VERSION.fullmatch(text))


def parse(text: str | None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release tag such as v7.2.140; None for anything else (pre-releases too)."""
    if not text:
        return None
    match = _VERSION.fullmatch(text.strip())
    if not match or match.group(4):
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def from_help(output: str) -> str | None:
    """The version in `cli-proxy-api -h`'s first line: `CLIProxyAPI Version: v7.2.140, Commit: ...`."""
    match = re.search(r"CLIProxyAPI Version:\s*([^,\s]+)", output)
    return match.group(1) if match else None


def escape_module(module: str) -> str:
    """The module proxy's case encoding: each upper-case letter becomes `!` and its lower case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module)


def proxies(env: Mapping[str, str] | None = None) -> list[str] | None:
    """The module proxies GOPROXY lists, in order; None when GOPROXY is `off` (do not ask)."""
    env = os.environ if env is None else env
    value = env.get("GOPROXY") or DEFAULT_GOPROXY
    urls: list[str] = []
    for entry in re.split(r"[,|]", value):
        entry = entry.strip()
        if entry == "off":
            return None if not urls else urls
        if entry and entry != "direct" and re.match(r"https?://", entry):
            urls.append(entry.rstrip("/"))
    return urls


@dataclass
class Served:
    """What the module proxy answered about one module."""

    newest: str | None = None  # the newest release tag it serves (from the list, else @latest)
    listed: list[str] = field(default_factory=list)
    source: str = ""  # the URL that answered, without its userinfo (a GOPROXY may carry a password)
    problem: str | None = None  # why nothing could be learned

    def to_dict(self) -> dict:
        return {"newest": self.newest, "listed": len(self.listed), "source": self.source, "problem": self.problem}


def newest_served(module: str, env: Mapping[str, str] | None = None, timeout: float = 5.0) -> Served:
    """Ask each module proxy in GOPROXY for `module`'s versions; the first that answers wins. Each answer is
    read to MAX_ANSWER bytes at most, and the whole lookup ends within `timeout` seconds, whatever the
    servers do (a dripping answer is cut off at the deadline, an endless one at the cap)."""
    import time

    from claudex_doctor.base import http

    urls = proxies(env)
    if urls is None:
        return Served(problem="GOPROXY=off: the module proxy was not asked")
    if not urls:
        return Served(problem="GOPROXY names no module proxy (only direct): not asked")
    give_up = time.monotonic() + timeout
    problems: list[str] = []
    path = escape_module(module)
    for base in urls:
        for suffix in ("/@v/list", "/@latest"):
            left = give_up - time.monotonic()
            if left <= 0:
                problems.append(f"no answer within {timeout:g}s")
                return Served(problem="; ".join(problems))
            url = f"{base}/{path}{suffix}"
            budget = min(left, 5.0)
            got = http.get(url, {"User-Agent": "claudex-doctor"}, timeout=budget, limit=MAX_ANSWER,
                           trust_env=True, follow_redirects=True)
            if got.timed_out:
                problems.append(f"{without_userinfo(url)}: no whole answer within {budget:.1f}s")
                break
            if got.error:
                problems.append(f"{without_userinfo(base)}: {got.error}")
                break
            if got.status != 200:
                problems.append(f"{without_userinfo(url)}: {got.status}")
                continue
            if got.truncated:
                problems.append(f"{without_userinfo(url)}: the answer passed {MAX_ANSWER // 1024} KiB; not read")
                continue
            text = got.body.decode("utf-8", "replace")
            if suffix == "/@v/list":
                listed = [line.strip() for line in text.splitlines() if parse(line.strip())]
                if listed:
                    newest = max(listed, key=lambda v: parse(v) or (0, 0, 0))
                    return Served(newest, listed, without_userinfo(url))
                continue
            try:
                version = files.loads_json(text).get("Version")
            except (ValueError, AttributeError):
                version = None
            if isinstance(version, str) and parse(version):
                return Served(version, [], without_userinfo(url))
    return Served(problem="; ".join(problems) or "no version served")

#!/usr/bin/env python3
"""Refresh the model facts in knowledge/models.json from the pinned real components, and print the diff.

The maintainer's one path to new facts (never run by the doctor itself):

    bash .ci/install-e2e                          # the pinned CLIProxyAPI, Claude Code and Codex CLI
    python scripts/refresh_knowledge.py           # rewrite the generated parts, print what changed
    python scripts/refresh_knowledge.py --check   # print the diff only; exit 1 when there is one

What it reads:
- Codex CLI: `codex --version`, `codex debug models --bundled` (the catalog shipped with the binary:
  slugs, windows, efforts, upgrade targets), and the same catalog as embedded in the native binary,
  for the two fields the parsed form drops (`minimal_client_version`, `available_in_plans`).
- CLIProxyAPI: `cli-proxy-api -h` (its version), then the real proxy on a random loopback port with
  `-local-model` (its embedded catalog, no remote catalog), one crafted credential per plan, and
  `GET /v1/models` in both dialects (OpenAI: real ids; Anthropic, with `anthropic-version`: disguised
  ids with max_input_tokens and max_tokens). Its outbound proxy and HTTPS_PROXY point at a closed
  loopback port: nothing leaves the machine.

What it writes: `as_of`, `codex` and `proxies.<version>.{plan_tiers,default_tier,disguise_prefix,tiers,models}`.
Everything else in the file (recommended mappings, retirements, what a proxy presents upstream, its
effort suffixes) is curated by hand and kept; the end-to-end tests check the curated proxy facts
against the real proxy.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "knowledge" / "models.json"
ANTHROPIC_VERSION = "2023-06-01"
TIERS = ("free", "plus", "team", "pro")
# Plans whose tier is found out by listing: the tier words themselves, the proxy's aliases, and one
# plan id it has no rule for (it falls back to its default tier).
PROBE_PLANS = (*TIERS, "business", "go", "enterprise")
CATALOG_START = b'{\n  "models": ['
GENERATED_PROXY_KEYS = ("plan_tiers", "default_tier", "disguise_prefix", "tiers", "models")


class RefreshError(Exception):
    pass


class PortTaken(RefreshError):
    pass


class Ambiguous(RefreshError):
    pass


# -- components ------------------------------------------------------------------------------

def default_bin_dir(env: dict[str, str]) -> Path:
    """Where .ci/install-e2e puts the components (the same rule as tests/e2e/harness.py)."""
    if env.get("CLAUDEX_E2E_BIN_DIR"):
        return Path(env["CLAUDEX_E2E_BIN_DIR"]).expanduser()
    if env.get("CLAUDEX_E2E_CACHE"):
        return Path(env["CLAUDEX_E2E_CACHE"]).expanduser() / "bin"
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path(env.get("HOME", "~")).expanduser() / ".cache"
    return cache / "claudex-doctor-e2e" / "bin"


def _clean_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "TMPDIR": str(home)}
    env.update(extra or {})
    return env


def _run(argv: list[str], env: dict[str, str], timeout: float = 60) -> str:
    proc = subprocess.run(argv, env=env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RefreshError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-400:]}")
    return proc.stdout.decode("utf-8", errors="replace")


# -- Codex -----------------------------------------------------------------------------------

def codex_native(codex: Path) -> Path:
    """The native binary behind npm's `codex` launcher (the package `@openai/codex-<platform>`)."""
    launcher = codex.resolve()  # .../node_modules/@openai/codex/bin/codex.js
    root = launcher.parent.parent
    machine = os.uname().machine.lower()
    system = os.uname().sysname.lower()
    triples = {("linux", "x86_64"): ("x86_64-unknown-linux-musl", "linux-x64"),
               ("linux", "aarch64"): ("aarch64-unknown-linux-musl", "linux-arm64"),
               ("darwin", "x86_64"): ("x86_64-apple-darwin", "darwin-x64"),
               ("darwin", "arm64"): ("aarch64-apple-darwin", "darwin-arm64")}
    if (system, machine) not in triples:
        raise RefreshError(f"no Codex native package known for {system}/{machine}")
    triple, suffix = triples[(system, machine)]
    for vendor in (root.parent / f"codex-{suffix}" / "vendor", root / "node_modules" / "@openai" / f"codex-{suffix}" / "vendor",
                   root / "vendor"):
        binary = vendor / triple / "bin" / "codex"
        if binary.is_file():
            return binary
    raise RefreshError(f"the native Codex binary was not found next to {launcher}")


def embedded_catalog(native: Path) -> dict[str, dict[str, Any]]:
    """The raw catalog JSON embedded in the native binary, by slug (it keeps minimal_client_version and
    available_in_plans, which `codex debug models` leaves out)."""
    blob = native.read_bytes()
    at = blob.find(CATALOG_START)
    while at >= 0:
        try:
            data, _ = json.JSONDecoder().raw_decode(blob[at:at + 8 * 1024 * 1024].decode("utf-8", errors="replace"))
        except ValueError:
            at = blob.find(CATALOG_START, at + 1)
            continue
        if isinstance(data, dict) and isinstance(data.get("models"), list):
            return {m["slug"]: m for m in data["models"] if isinstance(m, dict) and "slug" in m}
        at = blob.find(CATALOG_START, at + 1)
    raise RefreshError(f"no embedded model catalog found in {native}")


def read_codex(codex: Path, work: Path) -> dict[str, Any]:
    home = work / "codex-home"
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    env = _clean_env(home, {"CODEX_HOME": str(home / ".codex")})
    version_line = _run([str(codex), "--version"], env).strip()
    version = version_line.split()[-1]
    bundled = json.loads(_run([str(codex), "debug", "models", "--bundled"], env))["models"]
    raw = embedded_catalog(codex_native(codex))
    if [m["slug"] for m in bundled] != list(raw):
        raise RefreshError("the embedded catalog and `codex debug models --bundled` list different models")
    models = []
    for item in bundled:
        extra = raw[item["slug"]]
        upgrade = item.get("upgrade") or None
        models.append({
            "id": item["slug"],
            "display_name": item.get("display_name"),
            "description": item.get("description"),
            "visibility": item.get("visibility"),
            "priority": item.get("priority"),
            "context_window": item.get("context_window"),
            "max_context_window": item.get("max_context_window"),
            "minimal_client_version": extra.get("minimal_client_version"),
            "default_effort": item.get("default_reasoning_level"),
            "efforts": [level["effort"] for level in item.get("supported_reasoning_levels") or []],
            "plans": sorted(extra.get("available_in_plans") or []),
            "upgrade": upgrade.get("model") if isinstance(upgrade, dict) else None,
            "retirement_at": upgrade.get("retirement_at") if isinstance(upgrade, dict) else None,
        })
    plans = sorted({plan for model in models for plan in model["plans"]})
    return {"package": "@openai/codex", "version": version, "plans": plans, "models": models}


# -- CLIProxyAPI -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listens(process: subprocess.Popen, port: int) -> bool:
    """Whether `process` itself listens on 127.0.0.1:`port` (the machine may run other proxies)."""
    import psutil

    if process.poll() is not None:
        return False
    try:
        connections = psutil.Process(process.pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def crafted_credential(plan: str) -> dict[str, Any]:
    """A codex credential the proxy loads without ever using it (nothing is sent upstream)."""
    now = datetime.now(timezone.utc)
    claims = {"exp": int((now + timedelta(days=10)).timestamp()), "iat": int(now.timestamp()),
              "email": "refresh@example.invalid",
              "https://api.openai.com/auth": {"chatgpt_plan_type": plan, "chatgpt_account_id": "acct-refresh"}}
    jwt = ".".join((_b64({"alg": "HS256", "typ": "JWT"}), _b64(claims), _b64(secrets.token_bytes(16))))
    return {"type": "codex", "access_token": jwt, "refresh_token": "rt-" + secrets.token_hex(16), "id_token": jwt,
            "account_id": "acct-refresh", "email": "refresh@example.invalid",
            "expired": (now + timedelta(days=10)).isoformat(timespec="seconds"),
            "last_refresh": now.isoformat(timespec="seconds")}


def proxy_version(proxy: Path, work: Path) -> str:
    proc = subprocess.run([str(proxy), "-h"], env=_clean_env(work), capture_output=True, timeout=30,
                          stdin=subprocess.DEVNULL, cwd=work)
    text = (proc.stdout + proc.stderr).decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("CLIProxyAPI Version:"):
            return line.split(":", 1)[1].split(",")[0].strip()
    raise RefreshError(f"{proxy} -h printed no version line")


def list_models(proxy: Path, work: Path, plan: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(OpenAI-dialect ids, Anthropic-dialect entries) of a real proxy holding one credential of `plan`."""
    home = work / f"proxy-{plan}"
    (home / "auth").mkdir(parents=True)
    port, key, dead = _free_port(), "sk-refresh-" + secrets.token_hex(12), f"http://127.0.0.1:{_free_port()}"
    (home / "config.yaml").write_text(
        f'host: "127.0.0.1"\nport: {port}\nauth-dir: "./auth"\napi-keys:\n  - "{key}"\ndebug: false\n'
        'logging-to-file: false\nrequest-retry: 0\nremote-management:\n  allow-remote: false\n  secret-key: ""\n'
        f'  disable-control-panel: true\nproxy-url: "{dead}"\n')
    (home / "auth" / "codex-current.json").write_text(json.dumps(crafted_credential(plan)))
    env = _clean_env(home, {"HTTPS_PROXY": dead, "HTTP_PROXY": dead, "https_proxy": dead, "http_proxy": dead})
    output = home / "proxy.out"
    with open(output, "wb") as out:
        process = subprocess.Popen([str(proxy), "-config", "config.yaml", "-local-model"], cwd=home, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}/v1/models"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise PortTaken(f"the proxy exited with {process.returncode} before listing models (port {port} "
                                "taken?)")
            try:
                reply = httpx.get(base, headers=headers, timeout=2)
                # the credentials are (re)loaded with their plan when this line is printed
                if reply.status_code == 200 and reply.json().get("data") and \
                        b"clients and configuration updated" in output.read_bytes():
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RefreshError("the proxy listed no model within 30 s")
            time.sleep(0.05)
        # Right after start the credential may still be listed with the default tier's models before its
        # plan is applied: read until both dialects give the same answer for a second.
        last, since = None, time.monotonic()
        while True:
            openai = [m["id"] for m in httpx.get(base, headers=headers, timeout=5).json()["data"]]
            anthropic = httpx.get(base, headers={**headers, "anthropic-version": ANTHROPIC_VERSION},
                                  timeout=5).json()["data"]
            now = (sorted(openai), json.dumps(anthropic, sort_keys=True))
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= 1.0:
                if not _listens(process, port):  # another program took the port and answered
                    raise PortTaken(f"port {port} answered, but not by the proxy started for plan {plan!r}")
                return openai, anthropic
            if time.monotonic() > deadline:
                raise RefreshError("the proxy's model list did not settle within 30 s")
            time.sleep(0.1)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def read_proxy(proxy: Path, work: Path) -> tuple[str, dict[str, Any]]:
    """The proxy's facts; read again (at most three times) when the plans' lists do not tell the tiers apart,
    which a proxy caught before its credential's plan was applied would cause."""
    for attempt in range(3):
        try:
            return _read_proxy(proxy, work / f"read{attempt}")
        except Ambiguous as exc:
            print(f"retrying: {exc}", file=sys.stderr)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _read_proxy(proxy: Path, work: Path) -> tuple[str, dict[str, Any]]:
    work.mkdir(parents=True, exist_ok=True)
    version = proxy_version(proxy, work)
    listed = {}
    for plan in PROBE_PLANS:
        for attempt in range(3):  # a random port may be taken by another program between choosing and binding
            try:
                listed[plan] = list_models(proxy, work / f"try{attempt}", plan)
                break
            except PortTaken as exc:
                print(f"retrying: {exc}", file=sys.stderr)
                if attempt == 2:
                    raise
    prefix = "claude-fable-5-dd-"
    models: dict[str, dict[str, Any]] = {}
    tiers: dict[str, list[str]] = {}
    for tier in TIERS:
        openai, anthropic = listed[tier]
        tiers[tier] = sorted(openai)
        for entry in anthropic:
            shown = entry["id"]
            real = shown[len(prefix):][::-1] if shown.startswith(prefix) else shown
            if real not in openai:
                raise RefreshError(f"the Anthropic dialect lists {shown}, which reverses to {real}, not an OpenAI id")
            item = models.setdefault(real, {"id": real, "display_name": entry.get("display_name"),
                                            "max_tokens": entry.get("max_tokens"), "max_input_tokens": {}})
            item["max_input_tokens"][tier] = entry.get("max_input_tokens")
    signature = {plan: (sorted(o), json.dumps(sorted(a, key=lambda e: e["id"]), sort_keys=True))
                 for plan, (o, a) in listed.items()}
    plan_tiers: dict[str, str] = {}
    for plan in PROBE_PLANS:
        same = [tier for tier in TIERS if signature[tier] == signature[plan]]
        if len(same) != 1:
            raise Ambiguous(f"plan {plan!r} lists what {same or 'no tier'} list(s): its tier is ambiguous")
        plan_tiers[plan] = same[0]
    default = plan_tiers.pop("enterprise")
    return version, {"plan_tiers": plan_tiers, "default_tier": default, "disguise_prefix": prefix,
                     "tiers": tiers, "models": [models[k] for k in sorted(models)]}


# -- the snapshot ----------------------------------------------------------------------------

def merged(current: dict[str, Any], codex: dict[str, Any], version: str, proxy: dict[str, Any],
           today: str) -> dict[str, Any]:
    data = json.loads(json.dumps(current))
    data["as_of"] = today
    data["codex"] = codex
    proxies = data.setdefault("proxies", {})
    entry = proxies.setdefault(version, {})
    for key in GENERATED_PROXY_KEYS:
        entry[key] = proxy[key]
    return data


def model_facts(data: dict[str, Any]) -> dict[str, Any]:
    """The generated part of a snapshot: what the refresh compares (`as_of` aside)."""
    return {"codex": data.get("codex"),
            "proxies": {version: {k: v for k, v in (entry or {}).items() if k in GENERATED_PROXY_KEYS}
                        for version, entry in (data.get("proxies") or {}).items()}}


def diff(old: Any, new: Any, path: str = "") -> list[str]:
    """Readable differences between two JSON values: '~ path: old -> new', '+ path: value', '- path: value'."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in old:
                lines.append(f"+ {where}: {json.dumps(new[key])}")
            elif key not in new:
                lines.append(f"- {where}: {json.dumps(old[key])}")
            else:
                lines.extend(diff(old[key], new[key], where))
        return lines
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(x, dict) and "id" in x for x in old + new):
        return diff({x["id"]: x for x in old}, {x["id"]: x for x in new}, path)
    if old != new:
        return [f"~ {path}: {json.dumps(old)} -> {json.dumps(new)}"]
    return []


def dumps(value: Any, indent: int = 0) -> str:
    """JSON for people: objects one key a line, lists of plain values and small objects on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or (len(flat) + len(inner) <= 120 and "\n" not in flat) or \
            (isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)):
        return flat
    if isinstance(value, list):
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in value) + "\n" + pad + "]"
    return "{\n" + ",\n".join(f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()) + "\n" + pad + "}"


def refresh(bin_dir: Path, snapshot: Path, today: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(current data, refreshed data, diff lines of the generated parts)."""
    for name in ("codex", "cli-proxy-api"):
        if not (bin_dir / name).exists():
            raise RefreshError(f"{bin_dir / name} is missing: run .ci/install-e2e first (or pass --bin-dir)")
    current = json.loads(snapshot.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="claudex-refresh-") as folder:
        work = Path(folder)
        codex = read_codex(bin_dir / "codex", work)
        version, proxy = read_proxy(bin_dir / "cli-proxy-api", work)
    new = merged(current, codex, version, proxy, today)
    return current, new, diff(model_facts(current), model_facts(new))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", type=Path, default=None, help="where the pinned components are "
                        "(default: the cache .ci/install-e2e fills)")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the snapshot differs")
    args = parser.parse_args(argv)
    bin_dir = args.bin_dir or default_bin_dir(dict(os.environ))
    today = datetime.now(timezone.utc).date().isoformat()
    try:
        current, new, lines = refresh(bin_dir, args.snapshot, today)
    except (RefreshError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
        print(f"refresh failed: {exc}", file=sys.stderr)
        return 2
    missing = [v for v, entry in new.get("proxies", {}).items() if "presents" not in entry]
    for line in lines:
        print(line)
    if not lines:
        print(f"model facts agree with codex-cli {new['codex']['version']} and CLIProxyAPI "
              f"{', '.join(new.get('proxies', {}))}")
    if missing:
        print(f"curate by hand: what CLIProxyAPI {', '.join(missing)} presents upstream and the effort suffixes it "
              "reads (tests/e2e asserts them)", file=sys.stderr)
    if args.check:
        return 1 if lines else 0
    if lines or current.get("as_of") != today:
        args.snapshot.write_text(dumps(new) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""config.yaml: does it parse, agree with the env file, and keep the proxy private?

config.valid
    What it checks: config.yaml reads as a YAML mapping; `port` is a whole number,
    8327 (anything else is a warning) and equal to the port in the env file's
    ANTHROPIC_BASE_URL; the settings the proxy reads have the right types;
    `auth-dir` resolves to an existing directory, and a relative one is only
    trusted when run.sh `cd`s into the home first.
    Why it matters: the proxy refuses a config it cannot load, listens where the
    config says (not where Claude Code looks), and resolves a relative auth-dir
    against whatever directory it was started from.
    Fix safety: the env file follows the config's port (set-env, safe); the port
    itself is never changed silently; a relative auth-dir under a launcher that
    does not cd becomes absolute (set-config, safe); a broken file is fixed by hand.

config.exposure
    What it checks: `host` binds loopback only; `api-keys` is a non-empty list
    without the example keys; remote management is not open to the network.
    Why it matters: the proxy spends the user's ChatGPT subscription for anyone
    who can reach it and holds a key; the example keys put it in safe mode
    (every /v1 call answers 403 unsafe_example_api_key).
    Fix safety: host=127.0.0.1 and allow-remote=false are safe; a new random key
    (written to config.yaml and the env file together) needs confirmation,
    since other clients using the old key stop working.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base import files
from claudex_doctor.base.files import Problem
from claudex_doctor.base.net import binds_everywhere, is_loopback, split_url
from claudex_doctor.base.paths import DEFAULT_PORT, display
from claudex_doctor.base.redact import PUBLIC_VALUES, fingerprint
from claudex_doctor.checks._findings import Problems, set_config_fix, set_env_fix
from claudex_doctor.checks._launcher import launcher_cd
from claudex_doctor.config import facts as stack
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, skipped

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/config.md"
BCRYPT = re.compile(r"^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$")
_YAML11_TRUE, _YAML11_FALSE = ("true", "yes", "on", "y"), ("false", "no", "off", "n")


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _as_bool(value) -> bool | None:
    """How the proxy's YAML reader takes a boolean field (it accepts the YAML 1.1 words too)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _YAML11_TRUE:
            return True
        if low in _YAML11_FALSE:
            return False
    return None


def unreadable_config(ctx: StackContext):
    """The outcome for a config.yaml that cannot be used at all (missing, not text, not YAML, not a mapping)."""
    loaded = ctx.config
    shown = display(ctx.paths.config, ctx.paths.user_home)
    evidence = {"path": shown, "problem": loaded.problem}
    if loaded.problem is Problem.MISSING:
        return failed(f"{shown} does not exist", ["Without it the proxy does not know its port, keys or auth-dir."],
                      evidence, reference=f"{REF}#config-missing",
                      fix=Fix.confirm("bootstrap", "Create the missing config.yaml (existing files are kept)"))
    if loaded.problem is Problem.INVALID and loaded.text and loaded.text.strip():
        from claudex_doctor.config.yamledit import parse_error
        where = parse_error(loaded.text) if "not valid YAML" in loaded.message else None
        line = re.search(r"line (\d+)", where or "")
        evidence["position"] = where
        return failed(f"config.yaml is not valid YAML: {where}" if where else loaded.message,
                      ["The proxy refuses to start with a config it cannot parse (or keeps the last good one while "
                       "running)."], evidence, reference=f"{REF}#config-does-not-parse",
                      fix=Fix.manual("Correct the file by hand, or restore the newest copy from the home's backups/",
                                     f"${{EDITOR:-vi}} {'+' + line.group(1) + ' ' if line else ''}{shown}"))
    if loaded.problem is Problem.WRONG_TYPE:
        return failed(loaded.message, ["config.yaml must be a mapping of settings (host: ..., port: ..., ...)."],
                      evidence, reference=f"{REF}#config-is-not-a-mapping",
                      fix=Fix.manual("Rewrite it as a mapping, or restore it from the home's backups/",
                                     f"${{EDITOR:-vi}} {shown}"))
    anchor = "config-unreadable" if loaded.problem in (Problem.UNREADABLE, Problem.NOT_A_FILE, Problem.TOO_LARGE) else \
        "config-does-not-parse"
    return failed(loaded.message, [], evidence, reference=f"{REF}#{anchor}",
                  fix=Fix.manual("Make config.yaml a readable text file again (or restore it from backups/)",
                                 f"ls -l {shown}"))


def _env_url(ctx: StackContext):
    env = ctx.env_file
    if not env.ok:
        return None, None
    url = env.data.get("ANTHROPIC_BASE_URL") or None
    return url, (split_url(url) if url else None)


def _with_port(url: str, port: int) -> str:
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url.strip())
    host = parts.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    netloc = (parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else "") + f"{host}:{port}"
    return urlunsplit((parts.scheme or "http", netloc, parts.path, parts.query, parts.fragment))


def _check_port(ctx: StackContext, data: dict, problems: Problems, evidence: dict) -> None:
    raw = data.get("port")
    url, parts = _env_url(ctx)
    env_port = parts[2] if parts else None
    evidence["env_port"] = env_port
    wanted = env_port or DEFAULT_PORT
    if raw is None:
        problems.fail("config.yaml sets no port: the proxy would listen on a random one",
                      [f"Claude Code looks for it on port {wanted} (ANTHROPIC_BASE_URL)."],
                      f"{REF}#port-missing-or-invalid",
                      set_config_fix(f"set port: {wanted}", {"port": wanted}))
        return
    if isinstance(raw, bool) or not isinstance(raw, int):
        guess = int(raw) if isinstance(raw, str) and raw.strip().isdigit() else wanted
        detail = ("It is quoted: the proxy's YAML reader does not accept text for a number."
                  if isinstance(raw, str) and raw.strip().isdigit() else "The proxy cannot load this config.")
        problems.fail(f"port is {_kind(raw)} ({str(raw)[:40]!r}), not a whole number", [detail],
                      f"{REF}#port-missing-or-invalid", set_config_fix(f"set port: {guess}", {"port": guess}))
        return
    evidence["port"] = raw
    if not 0 < raw < 65536:
        problems.fail(f"port {raw} is not a TCP port (1-65535)", [], f"{REF}#port-missing-or-invalid",
                      set_config_fix(f"set port: {wanted}", {"port": wanted}))
        return
    if env_port is not None and env_port != raw:
        problems.fail(f"config.yaml says port {raw} but the env file's ANTHROPIC_BASE_URL uses {env_port}",
                      ["Claude Code would knock on a port where the proxy does not listen.",
                       f"The env file follows the config; to use {env_port} instead run "
                       f"`claudex-doctor set-config port={env_port}` and restart the proxy."],
                      f"{REF}#port-mismatch",
                      set_env_fix(f"point ANTHROPIC_BASE_URL at port {raw}", {"ANTHROPIC_BASE_URL": _with_port(url, raw)}))
    elif raw != DEFAULT_PORT:
        problems.warn(f"port {raw} is not the standard {DEFAULT_PORT}",
                      ["It works while the env file agrees; the doctor never changes it for you. "
                       f"To return to the standard: `claudex-doctor set-config port={DEFAULT_PORT}` and "
                       f"`claudex-doctor set-env ANTHROPIC_BASE_URL=http://127.0.0.1:{DEFAULT_PORT}`, then restart."],
                      f"{REF}#non-standard-port")


def _check_types(data: dict, problems: Problems) -> None:
    wrong = f"{REF}#setting-has-the-wrong-type"
    host = data.get("host")
    if host is not None and not isinstance(host, str):
        problems.fail(f"host is {_kind(host)} ({str(host)[:40]}), not an address", [], wrong,
                      set_config_fix("bind the proxy to 127.0.0.1", {"host": "127.0.0.1"}))
    keys = data.get("api-keys")
    if keys is not None and not isinstance(keys, list):
        problems.fail(f"api-keys is {_kind(keys)}, not a list of keys",
                      ["The proxy cannot load a single value where it expects a list."], wrong,
                      set_config_fix("replace api-keys with one new random key (also set in the env file)",
                                     {"api-keys": "@random"}, confirm=True))
    elif isinstance(keys, list) and any(not isinstance(k, str) for k in keys):
        problems.warn("api-keys has entries that are not text", ["Quote every key: - \"...\"."], wrong)
    auth_dir = data.get("auth-dir")
    if auth_dir is not None and not isinstance(auth_dir, str):
        problems.fail(f"auth-dir is {_kind(auth_dir)}, not a path", [], wrong,
                      set_config_fix("set auth-dir: ./auth", {"auth-dir": "./auth"}, confirm=True))
    remote = data.get("remote-management")
    if remote is not None and not isinstance(remote, dict):
        problems.fail(f"remote-management is {_kind(remote)}, not a mapping", [], wrong,
                      Fix.manual("Write it as a mapping (allow-remote: false, secret-key: \"\")",
                                 "claudex-doctor explain config"))
    elif isinstance(remote, dict) and remote.get("allow-remote") is not None and \
            _as_bool(remote.get("allow-remote")) is None:
        problems.fail(f"remote-management.allow-remote is {_kind(remote.get('allow-remote'))}, not true/false", [],
                      wrong, set_config_fix("set remote-management.allow-remote: false",
                                            {"remote-management.allow-remote": False}))


def _check_auth_dir(ctx: StackContext, data: dict, problems: Problems, evidence: dict) -> None:
    p = ctx.paths
    raw = data.get("auth-dir")
    if raw is not None and not isinstance(raw, str):
        return  # reported as a wrong type
    state, why = launcher_cd(ctx)
    evidence["launcher"] = state
    default_fix = "./auth" if state == "home" else str(p.auth_dir)
    if not raw or not raw.strip():
        evidence["auth_dir"] = None
        problems.warn("auth-dir is not set: the proxy reads credentials from ~/.cli-proxy-api",
                      [f"sync-auth writes the proxy credential to {display(p.auth_dir, p.user_home)}."],
                      f"{REF}#auth-dir-outside-the-home",
                      set_config_fix(f"set auth-dir: {default_fix}", {"auth-dir": default_fix}, confirm=True))
        return
    text = raw.strip()
    evidence["auth_dir"] = text
    resolved = stack.auth_dir_path(p, text)
    if not (text == "~" or text.startswith("~/") or Path(text).is_absolute()):
        if state in ("none", "elsewhere"):
            absolute = str(files.real_path(p.home / text) if (p.home / text).exists() else p.home / text)
            problems.fail(f"auth-dir {text!r} is relative but run.sh does not cd into the home",
                          [why, "The proxy resolves a relative auth-dir against the directory it was started "
                                "from, so it would look for credentials somewhere else (and find none)."],
                          f"{REF}#relative-auth-dir-without-cd",
                          set_config_fix("make auth-dir absolute", {"auth-dir": absolute}))
        elif state == "missing":
            problems.warn(f"auth-dir {text!r} is relative and there is no run.sh to cd into the home",
                          ["It only works when the proxy is started from the home directory."],
                          f"{REF}#relative-auth-dir-without-cd",
                          Fix.confirm("bootstrap", "Recreate the missing launcher (existing files are kept)"))
        elif state in ("unknown", "unreadable"):
            problems.warn(f"auth-dir {text!r} is relative and the doctor cannot tell where run.sh cds", [why],
                          f"{REF}#relative-auth-dir-without-cd",
                          set_config_fix("make auth-dir absolute", {"auth-dir": str(p.home / text)}))
    shown = display(resolved, p.user_home)
    evidence["auth_dir_resolved"] = shown
    if not resolved.exists():
        problems.fail(f"auth-dir {shown} does not exist", ["The proxy has no credential to use: every request fails "
                                                          "with auth_unavailable."], f"{REF}#auth-dir-missing",
                      Fix.manual("Create it and copy the Codex login into it",
                                 f"mkdir -m 700 -p {shown} && claudex-doctor sync-auth"))
    elif not resolved.is_dir():
        problems.fail(f"auth-dir {shown} is not a directory", [], f"{REF}#auth-dir-missing",
                      Fix.manual("Move the file away and create the directory", f"mv {shown} {shown}.bak"))
    elif not _same_dir(resolved, p.auth_dir):
        problems.warn(f"auth-dir is {shown}, not the home's auth/",
                      [f"sync-auth writes to {display(p.auth_dir, p.user_home)}; the proxy would not see it."],
                      f"{REF}#auth-dir-outside-the-home",
                      set_config_fix(f"set auth-dir: {default_fix}", {"auth-dir": default_fix}, confirm=True))


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


@check("config.valid", "Proxy config", needs=("paths.home",),
       reference=f"{REF}#config-does-not-parse", fixes=("set-env", "set-config", "bootstrap"))
def config_valid(ctx: StackContext):
    if not ctx.config.ok:
        return unreadable_config(ctx)
    data = ctx.config.data
    evidence: dict = {"path": display(ctx.paths.config, ctx.paths.user_home)}
    problems = Problems()
    _check_port(ctx, data, problems, evidence)
    _check_types(data, problems)
    _check_auth_dir(ctx, data, problems, evidence)
    port = evidence.get("port")
    return problems.outcome(f"config.yaml parses; port {port}, auth-dir {evidence.get('auth_dir_resolved')}", evidence)


def _key_shown(key) -> str:
    if not isinstance(key, str):
        return f"<{_kind(key)}>"
    return key if key in PUBLIC_VALUES else fingerprint(key)


@check("config.exposure", "Proxy exposure", needs=("paths.home",), after=("config.valid",),
       reference=f"{REF}#proxy-exposed-to-the-network", fixes=("set-config",))
def config_exposure(ctx: StackContext):
    if not ctx.config.ok:
        return skipped("config.yaml cannot be read (see config.valid)", blocked_by=("config.valid",))
    data = ctx.config.data
    problems = Problems()
    raw_host = data.get("host")
    host = "" if raw_host is None else str(raw_host)
    keys = data.get("api-keys")
    evidence: dict = {"host": host, "api_keys": [_key_shown(k) for k in keys] if isinstance(keys, list) else None}
    _url, parts = _env_url(ctx)
    safe_host = parts[1] if parts and is_loopback(parts[1]) and parts[1] not in ("localhost",) else "127.0.0.1"
    bind_fix = set_config_fix(f"bind the proxy to {safe_host} only", {"host": safe_host})
    details = ["Anyone who can reach this machine on that port can spend your ChatGPT plan "
               "(they only need a key from api-keys, or none when it is empty)."]
    if binds_everywhere(host):
        problems.fail(f"host {host!r} binds every interface: your ChatGPT subscription is exposed to the network",
                      details, f"{REF}#proxy-exposed-to-the-network", bind_fix)
    elif not is_loopback(host):
        problems.fail(f"host {host} is not loopback: the proxy is reachable from the network", details,
                      f"{REF}#proxy-exposed-to-the-network", bind_fix)
    new_key = set_config_fix("replace api-keys with one new random key, written to config.yaml and to "
                             "ANTHROPIC_AUTH_TOKEN in the env file", {"api-keys": "@random"}, confirm=True)
    if keys is None or keys == []:
        problems.fail("api-keys is empty: the proxy accepts requests without any key",
                      ["Any local program (or the network, if exposed) can use your subscription."],
                      f"{REF}#no-api-keys", new_key)
    elif not isinstance(keys, list):
        problems.fail(f"api-keys is {_kind(keys)}, not a list of keys", [], f"{REF}#setting-has-the-wrong-type", new_key)
    else:
        template = sorted(k for k in keys if k in PUBLIC_VALUES)
        if template:
            problems.fail(f"api-keys holds the example key {template[0]}: the proxy is in safe mode",
                          ["Every /v1 request answers 403 unsafe_example_api_key until the example keys are gone."],
                          f"{REF}#example-api-keys-safe-mode", new_key)
    remote = data.get("remote-management")
    if isinstance(remote, dict):
        allow = _as_bool(remote.get("allow-remote")) or False
        secret = remote.get("secret-key")
        secret = secret if isinstance(secret, str) and secret.strip() else None
        hashed = bool(secret and BCRYPT.match(secret.strip()))
        evidence["allow_remote"] = allow
        evidence["secret_key"] = None if not secret else ("bcrypt hash" if hashed else
                                                          f"{fingerprint(secret)} (plaintext)")
        if allow and secret:
            problems.fail("remote management is open to the network (allow-remote: true with a secret-key)",
                          ["The management API can read and change the config and the credentials; anyone who "
                           "guesses or steals the key controls the proxy (5 wrong tries ban an IP for 30 min)."],
                          f"{REF}#remote-management-open",
                          set_config_fix("turn remote management off", {"remote-management.allow-remote": False}))
        elif allow:
            problems.note("allow-remote is true but no secret-key is set: the management API stays disabled.")
        if secret and not hashed:
            problems.note("The secret-key is still plaintext: the proxy bcrypt-hashes it and writes config.yaml back "
                          "at its next start. That rewrite is expected, not drift.")
    summary = f"bound to {host}, {len(keys) if isinstance(keys, list) else 0} local api key(s), " \
              f"remote management {'on' if evidence.get('allow_remote') else 'off'}"
    return problems.outcome(summary, evidence)

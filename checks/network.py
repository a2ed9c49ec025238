"""Proxy variables that send Claude Code's loopback request to a forward proxy.

env.proxy_vars
    What it checks: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY (either case) in the three places Claude
    Code's environment comes from, in the order each overrides the last: your shell (the
    doctor's own environment), the env file the wrapper sources (`set -a`), and the `env` blocks
    of Claude Code's settings files; and whether NO_PROXY/no_proxy there names the host of
    ANTHROPIC_BASE_URL.
    Why it matters: Claude Code (2.1.330, observed) sends even `http://127.0.0.1:8327` through
    any of these variables, HTTPS_PROXY included. Without a NO_PROXY that names the base URL's
    host exactly (`localhost` does not cover `127.0.0.1`; a CIDR such as 127.0.0.0/8 and `*` do;
    lower-case no_proxy wins over NO_PROXY when both are set), the request goes to the corporate
    proxy: "Connection refused", a 502, or a hang.
    Fix safety: `set-env` (safe: the env file, atomically, with a backup) sets NO_PROXY and
    no_proxy to what they held plus 127.0.0.1,localhost,::1 for claudex sessions. A variable set
    in a settings file's env block beats the env file: that file is the user's, so manual.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from claudex_doctor.base.net import bare_host, is_loopback, split_url
from claudex_doctor.base.paths import display
from claudex_doctor.checks._findings import set_env_fix
from claudex_doctor.config import facts as stack
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/network.md#proxy-variables-catch-loopback-traffic"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
NO_PROXY_VARS = ("no_proxy", "NO_PROXY")  # the lower-case one wins when both are set (observed)
LOOPBACK_ENTRIES = ("127.0.0.1", "localhost", "::1")


def shown_proxy(value: str) -> str:
    """A proxy URL without its credentials (user:password@ is cut)."""
    try:
        parts = urlsplit(value.strip() if "://" in value else "http://" + value.strip())
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable)"
    scheme = value.split("://", 1)[0] + "://" if "://" in value else ""
    return f"{scheme}{host}{port}"


def covers(no_proxy: str, host: str) -> bool:
    """Does a NO_PROXY value exempt `host`? Exact names, `*`, domain suffixes (.example or example
    matching sub.example), and CIDR ranges; `localhost` does not cover 127.0.0.1 (observed)."""
    host = bare_host(host)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = bare_host(raw)
        if not entry:
            continue
        if entry == "*":
            return True
        if ":" in entry and entry.count(":") == 1 and not entry.endswith("]"):  # host:port -> the host
            entry = entry.split(":", 1)[0]
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
            continue
        name = entry.lstrip(".").lstrip("*").lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def _settings_env(ctx: StackContext) -> list[tuple[str, dict[str, str]]]:
    """(file shown, {variable: value}) of the proxy variables in each readable settings env block."""
    from claudex_doctor.checks.claude_settings import read_settings, settings_files

    out = []
    for _, path in settings_files(ctx):
        loaded = read_settings(ctx, path)
        if not loaded.ok or not isinstance(loaded.data, dict) or not isinstance(loaded.data.get("env"), dict):
            continue  # claude.settings names a broken file
        block = {k: v for k, v in loaded.data["env"].items()
                 if k in PROXY_VARS + NO_PROXY_VARS and isinstance(v, str)}
        if block:
            out.append((display(path, ctx.paths.user_home), block))
    return out


def _merged(no_proxy: str) -> str:
    present = [e.strip() for e in no_proxy.replace(" ", ",").split(",") if e.strip()]
    return ",".join(present + [e for e in LOOPBACK_ENTRIES if e not in present])


@check("env.proxy_vars", "Proxy variables", needs=("paths.home",), after=("env.consistency",), reference=REF,
       fixes=("set-env",))
def env_proxy_vars(ctx: StackContext):
    layers: list[tuple[str, dict[str, str]]] = [
        ("your shell", {k: ctx.env[k] for k in PROXY_VARS + NO_PROXY_VARS if k in ctx.env})]
    file_values = ctx.env_file.data.values if ctx.env_file.ok else {}
    env_shown = display(ctx.paths.env_file, ctx.paths.user_home)
    layers.append((f"the env file ({env_shown})", {k: v for k, v in file_values.items()
                                                   if k in PROXY_VARS + NO_PROXY_VARS}))
    settings = _settings_env(ctx)
    layers += [(f"the env block of {shown}", block) for shown, block in settings]
    effective: dict[str, tuple[str, str]] = {}  # variable -> (value, where), the last layer wins
    for where, values in layers:
        for key, value in values.items():
            effective[key] = (value, where)
    proxies = {k: v for k, v in effective.items() if k in PROXY_VARS and v[0].strip()}
    url = stack.base_url(ctx) or f"http://127.0.0.1:{stack.gateway_port(ctx)}"
    parts = split_url(url)
    host = parts[1] if parts else "127.0.0.1"
    evidence = {"base_url_host": host,
                "proxy_variables": {k: f"{shown_proxy(v)} (from {w})" for k, (v, w) in proxies.items()},
                "no_proxy": {k: f"{v!r} (from {w})" for k, (v, w) in effective.items() if k in NO_PROXY_VARS}}
    if not proxies:
        return passed("no HTTP(S)_PROXY or ALL_PROXY in your shell, the env file or Claude Code's settings",
                      evidence=evidence)
    if not is_loopback(host):
        return passed(f"proxy variables set ({', '.join(proxies)}), but ANTHROPIC_BASE_URL is not on loopback "
                      f"({host}); whether the proxy should carry it is your network's call", evidence=evidence)
    # Node reads no_proxy before NO_PROXY: the lower-case one decides when it is set.
    ruling = next(((k, *effective[k]) for k in NO_PROXY_VARS if k in effective), None)
    names = ", ".join(f"{k}={shown_proxy(v)}" for k, (v, _) in proxies.items())
    if ruling is not None and covers(ruling[1], host):
        return passed(f"{ruling[0]} exempts {host}, so loopback traffic bypasses {names}", evidence=evidence)
    why = (f"{ruling[0]}={ruling[1]!r} ({ruling[2]}) does not name {host}" if ruling is not None
           else "no NO_PROXY is set")
    if ruling is not None and ruling[0] == "no_proxy" and covers(effective.get("NO_PROXY", ("", ""))[0], host):
        why += " (NO_PROXY does, but the lower-case no_proxy wins)"
    details = [f"Set: {', '.join(f'{k} from {w}' for k, (_, w) in proxies.items())}.",
               f"Claude Code sends its request for {url} through that proxy ({why}): \"Connection refused — a "
               "firewall or proxy may be blocking it\", a 502 Bad Gateway, or a hang, depending on the proxy.",
               "`localhost` does not exempt 127.0.0.1 (nor the reverse): NO_PROXY must name the host as "
               "ANTHROPIC_BASE_URL writes it, or a range such as 127.0.0.0/8."]
    in_settings = [w for k, (_, w) in effective.items() if w.startswith("the env block of")
                   and (k in NO_PROXY_VARS or k in proxies)]
    if in_settings:
        shown = in_settings[0].removeprefix("the env block of ")
        details.append("A settings env block beats the env file, so only that file can repair this.")
        fix = Fix.manual(f"Add 127.0.0.1,localhost,::1 to NO_PROXY (and no_proxy) in {shown}, or remove the "
                         "proxy variables there", f"${{EDITOR:-vi}} {shown}")
    else:
        current = ruling[1] if ruling is not None else ""
        value = _merged(current)
        fix = set_env_fix(f"Exempt loopback from the proxy in the env file (NO_PROXY and no_proxy={value})",
                          {"NO_PROXY": value, "no_proxy": value})
    return failed(f"{names} catches loopback traffic: {why}, so Claude Code sends {host} requests to that proxy",
                  details, evidence, REF, fix)

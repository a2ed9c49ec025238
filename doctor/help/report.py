"""The support report: one redacted file a user can attach to an issue.

`collect()` runs the checks once (through `diagnose`) and gathers what a helper
needs: versions, the home and its layout, every finding with evidence,
config.yaml, the env file and the relevant environment variables, the
credentials' metadata, the tail of the proxy logs, and the fix journal.

Redaction fails closed, in two layers:
1. structurally, while collecting: values under secret-looking names (api-keys,
   secret-key, *_TOKEN, refresh_token, ...) become fingerprints, URL passwords are
   masked, token files contribute fingerprints and dates only;
2. textually, last: the whole rendered document goes through `redact_text`
   (registered secrets and secret shapes) after the user's home directory has
   been replaced by `~`. A JSON document that this pass would break is refused.
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claudex_doctor import __version__
from claudex_doctor.base import files
from claudex_doctor.base.files import Problem
from claudex_doctor.base.redact import PUBLIC_VALUES, fingerprint, is_secret_name, redact, redact_text
from claudex_doctor.errors import ReportError

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

LOG_LINES = 80
MAX_LOG_BYTES = 256 * 1024
MAX_LINE = 1000
MAX_LAYOUT = 200

_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:]*:)([^\s/@]+)(@)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ENV_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "CLAUDEX_", "CODEX_", "LITELLM_", "OPENAI_", "CHATGPT_")
_ENV_NAMES = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
              "SSL_CERT_FILE", "MANAGEMENT_PASSWORD", "API_TIMEOUT_MS", "DISABLE_TELEMETRY", "SHELL", "PATH")


def new_id() -> str:
    """A short id to quote in an issue: 'cx-' and 8 hex digits from a random value."""
    return "cx-" + secrets.token_hex(4)


# -- structural masking ------------------------------------------------------------

def _mask_url_password(match: re.Match) -> str:
    return f"{match.group(1)}[redacted {fingerprint(match.group(2))}]{match.group(3)}"


def _mask_value(value: Any) -> Any:
    if value is None or isinstance(value, bool) or value == "":
        return value
    text = str(value)
    return text if text in PUBLIC_VALUES else fingerprint(text)


def mask(data: Any, secret: bool = False) -> Any:
    """A copy of JSON-like data with every value under a secret-looking key replaced by its fingerprint."""
    if isinstance(data, dict):
        return {str(k): mask(v, secret or bool(is_secret_name(k))) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask(v, secret) for v in data]
    if secret:
        return _mask_value(data)
    if isinstance(data, str):
        return _URL_PASSWORD.sub(_mask_url_password, data)
    return data


def mask_yaml_text(text: str) -> str:
    """Mask a YAML text line by line (for a config too broken to parse): secret keys and their list items."""
    out: list[str] = []
    block: int | None = None  # indent of a secret key whose list items follow
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        item = re.match(r"^(\s*-\s+)(.+?)\s*$", line)
        if block is not None and line.strip() and not (item and indent >= block) and indent <= block:
            block = None
        pair = re.match(r"""^(\s*(?:-\s+)?["']?)([^\s:"'#][^:"'#]*?)(["']?\s*:)(\s*)(.*)$""", line)
        if pair and is_secret_name(pair.group(2)):
            value = pair.group(5).strip()
            if value and not value.startswith(("#", "|", ">")):
                masked = _mask_value(value.strip("\"'"))
                line = f"{pair.group(1)}{pair.group(2)}{pair.group(3)}{pair.group(4)}{masked}"
            else:
                block = indent
        elif block is not None and item and indent >= block:
            line = item.group(1) + str(_mask_value(item.group(2).strip().strip("\"'")))
        out.append(_URL_PASSWORD.sub(_mask_url_password, line))
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def tilde(text: str, user_home: Path) -> str:
    """The user's home directory written as ~ wherever it appears in `text`."""
    home = str(user_home).rstrip("/")
    if not home or home == "/":
        return text
    return re.sub(r"(?<![\w.-])" + re.escape(home) + r"(?![\w.-])", "~", text)


# -- collection ----------------------------------------------------------------------

@dataclass
class Report:
    report_id: str
    generated_at: str
    user_home: Path
    result: Any  # RunResult
    versions: dict[str, Any] = field(default_factory=dict)
    home: dict[str, Any] = field(default_factory=dict)
    layout: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    credentials: list[dict[str, Any]] = field(default_factory=list)
    log_tail: list[dict[str, Any]] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)
    quota: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from claudex_doctor.render import json as json_render

        return {
            "report_id": self.report_id, "generated_at": self.generated_at, "versions": self.versions,
            "home": self.home, "layout": self.layout, "result": json.loads(json_render.render(self.result)),
            "config": self.config, "env": self.env, "environment": self.environment,
            "credentials": self.credentials, "log_tail": self.log_tail, "journal": self.journal,
            "quota": self.quota,
        }


def collect(paths: Paths, options, *, env=None, observer=None, log_lines: int = LOG_LINES, report_id: str | None = None) -> Report:
    from claudex_doctor.base import journal
    from claudex_doctor.checks import StackContext, graph
    from claudex_doctor.core.diagnose import diagnose

    result, run_ctx = diagnose(paths, options, graph(), observer=observer, env=env)
    assert isinstance(run_ctx, StackContext)
    ctx: StackContext = run_ctx
    report = Report(report_id or new_id(), datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    paths.user_home, result)
    report.versions = _versions(result)
    report.home = {"path": str(paths.home), "reason": paths.home_reason, "why": paths.home_explanation,
                   "wrapper": str(paths.wrapper), "codex_home": str(paths.codex_home),
                   "claude_config_dir": str(paths.claude_config_dir)}
    report.layout = layout(paths)
    report.config = _config(ctx)
    report.env = _env_file(ctx)
    report.environment = {name: (_mask_value(value) if is_secret_name(name) else mask(value))
                          for name, value in sorted(ctx.env.items())
                          if name.startswith(_ENV_PREFIXES) or name.upper() in _ENV_NAMES}
    report.credentials = [_credential("codex", paths.codex_auth, ctx.codex_auth),
                          _credential("proxy", paths.proxy_auth, ctx.proxy_auth)]
    report.log_tail = log_tail(paths, log_lines)
    report.journal = redact(journal.read(paths))
    report.quota = _quota(paths)
    return report


def _quota(paths: Paths) -> dict[str, Any]:
    """The last known Codex quota (cache or proxy log; the run's quota.codex finding has the live one)."""
    from claudex_doctor.usage.quota import read, to_data

    try:
        return to_data(read(paths, offline=True))
    except OSError as exc:
        return {"state": "unknown", "problem": "unreadable", "message": str(exc)[:200], "windows": []}


def _versions(result) -> dict[str, Any]:
    def found(check_id: str, key: str = "version"):
        finding = result.by_id(check_id)
        return finding.evidence.get(key) if finding is not None else None

    proxy = found("bin.proxy")
    commit = found("bin.proxy", "commit")
    return {"claudex-doctor": __version__, "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()} ({platform.machine()})", "claude": found("bin.claude"), "codex": found("bin.codex"),
            "cli-proxy-api": f"{proxy} ({commit})" if proxy and commit else proxy,
            "go": found("bin.go"), "git": found("bin.git")}


def _entry(path: Path, shown: str) -> dict[str, Any]:
    try:
        st = path.lstat()
    except OSError as exc:
        return {"path": shown, "type": "missing" if isinstance(exc, FileNotFoundError) else "unreadable"}
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "symlink" if stat.S_ISLNK(st.st_mode) else \
        "file" if stat.S_ISREG(st.st_mode) else "other"
    entry: dict[str, Any] = {"path": shown, "type": kind, "mode": oct(stat.S_IMODE(st.st_mode)),
                             "modified": datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat(timespec="seconds")}
    if kind == "file":
        entry["size"] = st.st_size
    if kind == "symlink":
        try:
            entry["target"] = os.readlink(path)
        except OSError:
            pass
    return entry


def layout(paths: Paths) -> list[dict[str, Any]]:
    """The home's files two levels deep, then the stack's files outside it: names, sizes, modes; never contents."""
    out: list[dict[str, Any]] = []
    home = paths.home
    if home.is_dir():
        out.append(_entry(home, str(home)))
        try:
            children = sorted(home.iterdir())
        except OSError:
            children = []
        for child in children:
            out.append(_entry(child, str(child)))
            if child.is_dir() and not child.is_symlink():
                try:
                    grandchildren = sorted(child.iterdir())
                except OSError:
                    continue
                for grandchild in grandchildren[:50]:
                    out.append(_entry(grandchild, str(grandchild)))
                if len(grandchildren) > 50:
                    out.append({"path": str(child / "..."), "type": "more", "count": len(grandchildren) - 50})
    else:
        out.append(_entry(home, str(home)))
    for extra in (paths.codex_auth, paths.codex_config, paths.wrapper, paths.claude_settings, paths.claude_json):
        out.append(_entry(extra, str(extra)))
    return out[:MAX_LAYOUT]


def _config(ctx) -> dict[str, Any]:
    loaded = ctx.config
    info: dict[str, Any] = {"path": str(loaded.path), "mode": loaded.perms}
    if loaded.ok:
        info["data"] = mask(loaded.data)
    else:
        info["problem"], info["message"] = loaded.problem, loaded.message
        if loaded.text and loaded.problem in (Problem.INVALID, Problem.WRONG_TYPE):
            info["text"] = mask_yaml_text(loaded.text)
    return info


def _env_file(ctx) -> dict[str, Any]:
    loaded = ctx.env_file
    info: dict[str, Any] = {"path": str(loaded.path), "mode": loaded.perms}
    if not loaded.ok:
        info["problem"], info["message"] = loaded.problem, loaded.message
        return info
    parsed = loaded.data
    info["values"] = {k: (_mask_value(v) if is_secret_name(k) else mask(v)) for k, v in parsed.values.items()}
    info["notes"] = list(parsed.notes)
    return info


def _credential(name: str, path: Path, loaded) -> dict[str, Any]:
    from claudex_doctor.auth.jwt import JWTError, claims

    info: dict[str, Any] = {"name": name, "path": str(path), "mode": loaded.perms}
    if not loaded.ok:
        info["problem"], info["message"] = loaded.problem, loaded.message
        return info
    data = loaded.data
    tokens = data.get("tokens") if isinstance(data.get("tokens"), dict) else data
    info["fields"] = sorted(str(k) for k in data)
    for key in ("auth_mode", "type", "last_refresh", "expired", "expires_at", "disabled"):
        if key in data and not isinstance(data[key], (dict, list)):
            info[key] = data[key]
    info["api_key_mode"] = bool(data.get("OPENAI_API_KEY"))
    for key in ("access_token", "refresh_token", "id_token", "account_id"):
        value = tokens.get(key)
        info[key] = fingerprint(value) if isinstance(value, str) and value else None
    for key in ("access_token", "id_token"):
        try:
            c = claims(tokens.get(key))
        except JWTError:
            continue
        info[f"{key}_claims"] = {"exp": c.exp.isoformat() if c.exp else None,
                                 "iat": c.iat.isoformat() if c.iat else None, "plan": c.plan,
                                 "account": fingerprint(c.account_id) if c.account_id else None}
    return info


def _tail(path: Path, lines: int) -> list[str]:
    loaded, _ = files.read_tail(path, MAX_LOG_BYTES)
    if not loaded.ok:
        raise OSError(loaded.message)
    data: bytes = loaded.data
    text = _ANSI.sub("", data.decode("utf-8", "replace")).replace("\x00", "")
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return [redact_text(line[:MAX_LINE]) for line in kept[-lines:]]


def log_tail(paths: Paths, lines: int = LOG_LINES) -> list[dict[str, Any]]:
    """The last lines of the service log and of the newest proxy log files (logs/, auth/logs/)."""
    candidates: list[Path] = [paths.log_file]
    for folder in (paths.logs_dir, paths.auth_dir / "logs"):
        try:
            found = [p for p in folder.glob("*.log") if p.is_file()]
        except OSError:
            found = []
        candidates += sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)[:3]
    out = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            out.append({"path": str(path), "lines": _tail(path, lines)})
        except OSError as exc:
            out.append({"path": str(path), "problem": f"cannot be read: {exc.strerror or exc}"})
    return out


# -- rendering -------------------------------------------------------------------------

def to_json(report: Report) -> str:
    text = json.dumps(redact(report.to_dict()), indent=2, ensure_ascii=False, default=str) + "\n"
    final = redact_text(tilde(text, report.user_home))
    try:
        json.loads(final)
    except ValueError:
        raise ReportError("redacting the JSON report broke its syntax; nothing was written") from None
    return final


def _assignment(key: str, value: Any) -> str:
    """KEY='value', always quoted: an unquoted KEY=value reads as one long token to the shape redactor."""
    text = "" if value is None else str(value)
    return f"{key}='" + text.replace("'", "'\\''") + "'"


def to_markdown(report: Report) -> str:
    from claudex_doctor.render import markdown as md

    cell, fence = md.cell, md.fence
    out = [f"# claudex-doctor report {report.report_id}", "",
           (f"Generated {report.generated_at} by claudex-doctor {__version__}. Secrets are replaced by "
            "fingerprints (`sha256:...`): equal fingerprints mean equal values. Your home directory is shown as `~`."),
           "", "## Versions", "", "| component | version |", "|---|---|"]
    out += [f"| {name} | {cell(value if value else 'not found')} |" for name, value in report.versions.items()]
    out += ["", "## Runtime home", "", "| | |", "|---|---|"]
    out += [f"| {key} | `{cell(value)}` |" for key, value in report.home.items()]
    out += ["", "## Layout", "", "| path | type | mode | size | modified |", "|---|---|---|---|---|"]
    for e in report.layout:
        extra = f" -> {e['target']}" if e.get("target") else ""
        out.append(f"| `{cell(e['path'])}`{cell(extra)} | {e.get('type', '')} | {e.get('mode', '')} | "
                   f"{e.get('size', e.get('count', ''))} | {e.get('modified', '')} |")
    out += ["", md.render(report.result, level=2).rstrip(), "", "## config.yaml", ""]
    config = report.config
    if "data" in config:
        out.append(fence(json.dumps(config["data"], indent=2, ensure_ascii=False, default=str), "json"))
    else:
        out += [f"{config.get('problem')}: {cell(config.get('message', ''))}", ""]
        if config.get("text"):
            out.append(fence(config["text"], "yaml"))
    out += ["## Env file", ""]
    if "values" in report.env:
        out.append(fence("\n".join(_assignment(k, v) for k, v in report.env["values"].items()) or "(empty)", "sh"))
        out += [f"- {cell(n)}" for n in report.env.get("notes", [])]
    else:
        out += [f"{report.env.get('problem')}: {cell(report.env.get('message', ''))}"]
    out += ["", "## Environment", "", fence("\n".join(_assignment(k, v) for k, v in report.environment.items())
                                           or "(none of the stack's variables are set)", "sh"),
            "## Credentials (fingerprints and dates only)", "",
            fence(json.dumps(report.credentials, indent=2, ensure_ascii=False, default=str), "json"),
            f"## Proxy log (last {LOG_LINES} lines per file)", ""]
    if not report.log_tail:
        out += ["No proxy log found.", ""]
    for entry in report.log_tail:
        out += [f"`{entry['path']}`", "", fence("\n".join(entry.get("lines", [])) or entry.get("problem", "(empty)"))]
    out += ["## Codex quota (last known)", ""]
    quota = report.quota or {}
    if quota.get("source"):
        out += [f"Plan {cell(quota.get('plan') or 'unknown')}, state {quota.get('state')}, from the "
                f"{cell(quota.get('source_words') or '')}, {quota.get('age_seconds')} s old.", "",
                "| window | used | resets |", "|---|---|---|"]
        out += [f"| {cell(w['title'])} | {w['used_percent']:.0f} % | {w['reset_at'] or '?'} |"
                for w in quota.get("windows", [])]
        out.append("")
    else:
        out += ["No reading cached and none in the proxy log.", ""]
    if quota.get("problem"):
        out += [f"Last attempt: {cell(quota.get('message') or quota['problem'])}", ""]
    out += ["## Fix journal", ""]
    out.append(fence("\n".join(json.dumps(e, ensure_ascii=False, default=str) for e in report.journal), "json")
               if report.journal else "No fixes recorded.\n")
    return redact_text(tilde("\n".join(out).rstrip() + "\n", report.user_home))

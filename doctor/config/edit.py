"""The editing primitives: `set-env` (the env file) and `set-config` (config.yaml).

Both say what they will change before they do (the `changes` lines, also for a
dry run), write atomically with a backup in the home's `backups/`, keep the
file's mode, journal what they applied, and never print a secret: values of
variables and keys that hold secrets appear as fingerprints.

Reserved values (a secret the user should never have to type or see):
  set-config api-keys=@random
      a new random local key, written as the only entry of `api-keys` AND as
      ANTHROPIC_AUTH_TOKEN in the env file, so the two never disagree.
  set-env ANTHROPIC_AUTH_TOKEN=@config
      the first real key of config.yaml's `api-keys`.
A value that must start with `@` is written as `@@...`. (The reserved words are kept under 8
characters so the redaction layer, which masks any long value after `TOKEN=`, leaves commands that
name them readable.)
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claudex_doctor.base import atomic, journal, redact
from claudex_doctor.base.files import Problem, read_text
from claudex_doctor.base.paths import display
from claudex_doctor.base.redact import is_secret_name
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.base.shellscan import word_end
from claudex_doctor.config import envfile
from claudex_doctor.errors import PrimitiveError

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

RANDOM = "@random"
CONFIG_KEY = "@config"
TEMPLATE_KEYS = redact.PUBLIC_VALUES
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOTTED = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$")

# config.yaml keys whose type is known (CLIProxyAPI's config struct); others are typed by their text.
CONFIG_TYPES: dict[str, type] = {
    "host": str, "port": int, "auth-dir": str, "api-keys": list, "debug": bool, "logging-to-file": bool,
    "request-retry": int, "proxy-url": str, "usage-statistics-enabled": bool,
    "remote-management.allow-remote": bool, "remote-management.secret-key": str,
    "remote-management.disable-control-panel": bool,
}
_TRUE, _FALSE = ("true", "yes", "on"), ("false", "no", "off")


def shown(name: str, value: Any) -> str:
    """A value as it may be printed: secrets as fingerprints, template keys as themselves."""
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        items = [shown(name, v) for v in value]
        return "[" + ", ".join(items) + "]" if items else "[] (empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    if value == "":
        return "(empty)"
    if is_secret_name(name) and value not in TEMPLATE_KEYS:
        return redact.fingerprint(value)
    return repr(value) if len(value) <= 120 else repr(value[:117] + "...")


def parse_assignments(items: list[str]) -> dict[str, str]:
    """['KEY=VALUE', ...] from the command line -> {KEY: VALUE}; a word without '=' is refused."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PrimitiveError(f"'{key or item}' is not KEY=VALUE (write KEY= to set an empty value)")
        if is_secret_name(key):
            redact.REGISTRY.add(value)
        out[key] = value
    return out


# -- reading ------------------------------------------------------------------------

def _read(path: Path, paths: Paths, what: str) -> tuple[Path, str, int]:
    """(real path, text, mode) of a file to edit, or a PrimitiveError saying why it cannot be."""
    shown_path = display(path, paths.user_home)
    try:
        target = atomic.target_in(path, paths.home)
    except atomic.Refused as exc:
        raise PrimitiveError(f"{what} cannot be edited: {exc.strerror}; nothing was changed") from None
    loaded = read_text(target)
    if loaded.problem is Problem.MISSING:
        raise PrimitiveError(f"{shown_path} does not exist: create the stack with `claudex-doctor bootstrap` first")
    if not loaded.ok:
        raise PrimitiveError(f"{what} cannot be edited: {loaded.message}; nothing was changed")
    return target, loaded.text or "", (loaded.mode or 0o600) & 0o7777


def _config_keys(paths: Paths) -> list[str]:
    from claudex_doctor.base.files import read_yaml

    loaded = read_yaml(paths.config)
    if not loaded.ok:
        raise PrimitiveError(f"cannot read a key from config.yaml: {loaded.message}")
    redact.register_from(loaded.data)
    keys = loaded.data.get("api-keys")
    return [k for k in keys if isinstance(k, str) and k and k not in TEMPLATE_KEYS] if isinstance(keys, list) else []


# -- set-env ------------------------------------------------------------------------

def _resolve_env_value(key: str, value: Any, paths: Paths) -> str:
    if isinstance(value, bool):
        value = "1" if value else "0"
    if not isinstance(value, str):
        value = str(value)
    if value.startswith("@@"):
        value = value[1:]
    elif value == CONFIG_KEY:
        keys = _config_keys(paths)
        if not keys:
            raise PrimitiveError("config.yaml has no real api key to copy (empty or template keys): "
                                 "run `claudex-doctor set-config api-keys=@random` instead")
        value = keys[0]
    elif value == RANDOM:
        raise PrimitiveError("a new key must go into config.yaml and the env file together: "
                             "run `claudex-doctor set-config api-keys=@random`")
    elif value.startswith("@"):
        raise PrimitiveError(f"{key}: unknown reserved value {value!r} (known: {CONFIG_KEY}); "
                             "write @@ for a literal @")
    if any(ch in value for ch in "\n\r\x00"):
        raise PrimitiveError(f"{key}: a value with a line break or NUL byte cannot be written to the env file")
    if is_secret_name(key):
        redact.REGISTRY.add(value)
    return value


def edit_env_text(text: str, values: Mapping[str, str], where: str) -> tuple[str, list[str]]:
    """The env file `text` with each KEY set to its value; plus one change line per key."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    current = envfile.parse(text)
    pattern = {key: re.compile(rf"^(\s*(?:export\s+)?{re.escape(key)}=)(.*)$") for key in values}
    uses_export = any(re.match(r"^\s*export\s+[A-Za-z_]", line) for line in lines)
    has_assign = any(envfile._ASSIGN.match(line) for line in lines)
    export = uses_export or not has_assign or not any(line.strip() == "set -a" for line in lines)
    changes: list[str] = []
    for key, value in values.items():
        old = current.values.get(key) if key in current.values else None
        index = next((i for i in range(len(lines) - 1, -1, -1) if pattern[key].match(lines[i])), None)
        quoted = envfile.render_line(key, value).split("=", 1)[1]
        found = pattern[key].match(lines[index]) if index is not None else None
        if index is not None and found is not None:
            head, raw = found.groups()
            end = word_end(raw)
            if old == value and key not in current.dynamic:
                changes.append(f"{where}: {key} already {shown(key, value)} (line {index + 1})")
                continue
            lines[index] = head + quoted + raw[end:]
            changes.append(f"{where}: {key} {shown(key, old)} -> {shown(key, value)} (line {index + 1})")
            continue
        while lines and lines[-1] == "":
            lines.pop()
        lines.append(("export " if export else "") + f"{key}={quoted}")
        lines.append("")
        changes.append(f"{where}: {key} {shown(key, None)} -> {shown(key, value)} (added at line {len(lines) - 1})")
    return newline.join(lines), changes


def set_env(paths: Paths, *, dry_run: bool = False, assignments: Mapping[str, Any]) -> PrimitiveResult:
    """Set variables in the env file, editing lines in place (comments and `export` kept) or appending."""
    if not assignments:
        raise PrimitiveError("set-env needs at least one KEY=VALUE")
    for key in assignments:
        if not _NAME.match(str(key)):
            raise PrimitiveError(f"{key!r} is not a valid variable name (letters, digits and _; not starting "
                                 "with a digit)")
    values = {key: _resolve_env_value(key, value, paths) for key, value in assignments.items()}
    target, text, mode = _read(paths.env_file, paths, "the env file")
    where = display(paths.env_file, paths.user_home)
    new_text, changes = edit_env_text(text, values, where)
    if new_text == text:
        return PrimitiveResult(True, "the env file already says that: nothing to change", changes)
    if dry_run:
        return PrimitiveResult(True, f"would update {where} (a backup would be kept)", changes,
                               details={"dry_run": True})
    saved = atomic.write_atomic(target, new_text, mode=mode, backup_dir=paths.backups, root=paths.home, private=True)
    backups = [str(saved)] if saved else []
    message = f"updated {where}; new claudex sessions pick it up (running ones keep the old values)"
    journal.record(paths, "set-env", "applied", message, changes, backups)
    return PrimitiveResult(True, message, changes, backups)


# -- set-config ---------------------------------------------------------------------

def _typed(key: str, value: Any) -> Any:
    want = CONFIG_TYPES.get(key)
    if not isinstance(value, str):
        if want is list and isinstance(value, (list, tuple)):
            value = list(value)
        if want is not None and not (isinstance(value, want) and not (want is int and isinstance(value, bool))):
            raise PrimitiveError(f"{key} must be {_type_name(want)}, not {type(value).__name__}")
        return value
    text = value.strip()
    if want is int or (want is None and re.fullmatch(r"-?\d+", text)):
        if not re.fullmatch(r"-?\d+", text):
            raise PrimitiveError(f"{key} must be a whole number, not {value!r}")
        number = int(text)
        if key == "port" and not 0 < number < 65536:
            raise PrimitiveError(f"port must be between 1 and 65535, not {number}")
        return number
    if want is bool or (want is None and text.lower() in ("true", "false")):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise PrimitiveError(f"{key} must be true or false, not {value!r}")
    if want is list:
        if text == RANDOM:
            return RANDOM
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _type_name(kind: type) -> str:
    return {int: "a whole number", bool: "true or false", list: "a list", str: "text"}.get(kind, kind.__name__)


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def set_config(paths: Paths, *, dry_run: bool = False, assignments: Mapping[str, Any]) -> PrimitiveResult:
    """Set keys in config.yaml (dotted for nested keys), keeping comments, order and quoting."""
    from claudex_doctor.config import yamledit

    if not assignments:
        raise PrimitiveError("set-config needs at least one KEY=VALUE")
    typed: dict[tuple[str, ...], Any] = {}
    for key, value in assignments.items():
        if not _DOTTED.match(str(key)):
            raise PrimitiveError(f"{key!r} is not a config key (use dots for nested keys: remote-management.allow-remote)")
        if is_secret_name(key) and isinstance(value, str):
            redact.REGISTRY.add(value)
        typed[tuple(str(key).split("."))] = _typed(str(key), value)
    target, text, mode = _read(paths.config, paths, "config.yaml")
    problem = yamledit.parse_error(text)
    if problem:
        raise PrimitiveError(f"config.yaml does not parse ({problem}); nothing was changed: fix it by hand "
                             f"or restore a backup from {display(paths.backups, paths.user_home)}")
    original = yamledit.safe_load(text)
    redact.register_from(original)
    new_key = None
    if typed.get(("api-keys",)) == RANDOM:
        new_key = "claudex-" + secrets.token_hex(24)
        redact.REGISTRY.add(new_key)
        typed[("api-keys",)] = [new_key]
    where = display(paths.config, paths.user_home)
    changes = []
    for path, value in typed.items():
        name = ".".join(path)
        old = _get(original, path)
        if yamledit.same(old, value):
            changes.append(f"{where}: {name} already {shown(name, value)}")
        else:
            new_text = shown(name, value) + (" (a new random key)" if new_key and path == ("api-keys",) else "")
            changes.append(f"{where}: {name} {shown(name, old)} -> {new_text}")
    try:
        new_text = yamledit.edit(text, typed)
    except yamledit.EditError as exc:
        raise PrimitiveError(f"config.yaml: {exc}") from None
    env_plan = None
    if new_key is not None:
        env_target, env_text, env_mode = _read(paths.env_file, paths, "the env file")
        env_new, env_changes = edit_env_text(env_text, {"ANTHROPIC_AUTH_TOKEN": new_key},
                                             display(paths.env_file, paths.user_home))
        changes.extend(env_changes)
        env_plan = (env_target, env_text, env_new, env_mode)
    # CLIProxyAPI's config watcher does not notice a config.yaml replaced by rename (observed with
    # v7.2.140; it also stops seeing later edits): a running proxy keeps its old config until restarted.
    details = {"restart_needed": True}
    if new_text == text and env_plan is None:
        return PrimitiveResult(True, "config.yaml already says that: nothing to change", changes,
                               details={"restart_needed": False})
    if dry_run:
        return PrimitiveResult(True, f"would update {where} (a backup would be kept)", changes,
                               details={**details, "dry_run": True})
    backups = []
    saved = atomic.write_atomic(target, new_text, mode=mode, backup_dir=paths.backups, root=paths.home, private=True)
    if saved:
        backups.append(str(saved))
    if env_plan is not None:
        env_target, env_text, env_new, env_mode = env_plan
        try:
            saved_env = atomic.write_atomic(env_target, env_new, mode=env_mode, backup_dir=paths.backups, root=paths.home,
                                             private=True)
        except OSError as exc:
            atomic.write_atomic(target, text, mode=mode, keep_backup=False, root=paths.home, private=True)
            raise PrimitiveError(f"the env file could not be written ({exc.strerror or exc}); config.yaml was "
                                 "put back as it was") from None
        if saved_env:
            backups.append(str(saved_env))
    message = (f"updated {where}; a running proxy keeps its old config until it restarts: "
               "run `claudex-doctor restart`")
    journal.record(paths, "set-config", "applied", message, changes, backups)
    return PrimitiveResult(True, message, changes, backups, details)

"""The `bootstrap` primitive: create the runtime home, the proxy binary, and the claudex wrapper.

    apply(paths, *, dry_run=False, force=False, binary=None, source=None, plan=None,
          only=None, env=None, doctor=None) -> PrimitiveResult

Parts (`only` picks some; default all): home, auth, config, env, launcher, binary, wrapper.
- Existing files are kept and reported as kept, so a second run changes nothing.
- `force` rewrites the selected parts (a byte-identical file is left alone), keeping a
  backup of each replaced file in `paths.backups`. The `wrapper.installed` fix uses
  `only=("wrapper",), force=True` to replace just the wrapper.
- The binary is kept unless `force`, or it is missing or broken; then it comes from
  `binary` (copied), `source` (go build) or the pinned CLIProxyAPI build.
- The local api key is reused from the existing config/env file when there is one, so
  rewriting either never breaks the other. A new key comes from secrets.token_urlsafe.
- `dry_run` lists every path it would write with its mode, writes nothing, prints no secret.
- All writes are atomic; it never moves or renames a home, never writes ~/.codex or ~/.claude.
"""

from __future__ import annotations

import filecmp
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base import atomic, files, journal, redact
from claudex_doctor.base.paths import display
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.config.templates import Settings, render_config, render_env, render_launcher
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.proxy import build as proxybuild

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

PARTS = ("home", "auth", "config", "env", "launcher", "binary", "wrapper")
HOME_PARTS = ("home", "auth", "config", "env", "launcher", "binary")
MODES = {"home": 0o700, "auth": 0o700, "config": 0o600, "env": 0o600, "launcher": 0o755, "binary": 0o755,
         "wrapper": 0o755}
TEMPLATE_KEYS = redact.PUBLIC_VALUES


class Action(Vocabulary):
    """What bootstrap does with one part."""

    CREATE = "create"        # it does not exist
    KEEP = "keep"            # it exists; without --force it is left as it is
    REWRITE = "rewrite"      # --force, or content this version writes differently (a backup is kept)
    UNCHANGED = "unchanged"  # already exactly what bootstrap would write
    REPLACE = "replace"      # the binary: a new one in place of a missing or broken one


@dataclass
class Item:
    part: str
    path: Path
    action: Action
    content: bytes | None = None  # files only
    note: str = ""

    @property
    def mode(self) -> int:
        return MODES[self.part]

    def to_dict(self, user_home: Path) -> dict:
        return {"part": self.part, "path": display(self.path, user_home), "mode": oct(self.mode),
                "action": self.action, "note": self.note}


def apply(paths: Paths, *, dry_run: bool = False, force: bool = False, binary: str | os.PathLike | None = None,
          source: str | os.PathLike | None = None, plan: str | None = None, only: Iterable[str] | None = None,
          env: Mapping[str, str] | None = None, doctor: Sequence[str] | None = None, status=None) -> PrimitiveResult:
    env = dict(os.environ if env is None else env)
    parts = _parts(only)
    _refuse_protected(paths, parts)
    if paths.home.exists() and not paths.home.is_dir():
        raise PrimitiveError(f"{display(paths.home, paths.user_home)} exists but is not a directory; "
                             "move it away first (bootstrap never moves or renames a home)")
    if binary and source:
        raise PrimitiveError("give --binary or --source, not both")

    settings = _settings(paths, env, plan, parts)
    items = _plan_files(paths, settings, parts, force, doctor, env)
    binary_item, obtain = _plan_binary(paths, parts, force, binary, source, env) if "binary" in parts else (None, None)
    if binary_item:
        items.insert(len([i for i in items if i.part != "wrapper"]), binary_item)

    user_home = paths.user_home
    if not any(item.part == "env" and item.action in (Action.CREATE, Action.REWRITE) for item in items):
        settings.notes = []  # the notes are about the env file's content
    changes = [_describe(item, settings, user_home, dry_run) for item in items]
    changes.extend(settings.notes)
    details = {"home": display(paths.home, user_home), "plan": settings.plan, "plan_source": settings.plan_source,
               "key": "new" if settings.new_key else "kept",
               "files": [item.to_dict(user_home) for item in items]}
    if dry_run:
        return PrimitiveResult(True, "dry run: nothing was written", changes, [], details)

    backups: list[str] = []
    with tempfile.TemporaryDirectory(prefix="claudex-bootstrap-") as staging:
        built: Path | None = None
        if obtain is not None:  # the slow, likeliest-to-fail step first: nothing is written if it fails
            built = Path(staging) / "cli-proxy-api"
            assert binary_item is not None  # planned together with `obtain`
            binary_item.note = obtain(built, status)
        for item in items:
            saved = _execute(paths, item, built)
            if saved:
                backups.append(str(saved))
    written = [i for i in items if i.action not in (Action.KEEP, Action.UNCHANGED)]
    if not written:
        message = "nothing to do: every part exists"
    elif all(i.part == "wrapper" for i in written):
        message = f"wrote the claudex wrapper {display(paths.wrapper, user_home)}"
    else:
        message = f"bootstrapped {display(paths.home, user_home)}"
    if written:
        changes = [_describe(item, settings, user_home, False) for item in items] + settings.notes
        journal.record(paths, "bootstrap", "applied", message, changes, backups, parts=list(parts),
                       plan=settings.plan)
    return PrimitiveResult(True, message, changes, backups, details)


def _parts(only: Iterable[str] | None) -> tuple[str, ...]:
    if only is None or isinstance(only, str) and not only:
        return PARTS
    wanted = [only] if isinstance(only, str) else list(only)
    wanted = [w.strip() for word in wanted for w in str(word).split(",") if w.strip()]
    unknown = [w for w in wanted if w not in PARTS]
    if unknown:
        raise PrimitiveError(f"unknown bootstrap part {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    return tuple(p for p in PARTS if p in wanted) or PARTS


def _refuse_protected(paths: Paths, parts: tuple[str, ...]) -> None:
    targets = ([paths.home] if any(p in HOME_PARTS for p in parts) else []) + \
        ([paths.wrapper] if "wrapper" in parts else [])
    for target in targets:
        for protected in (paths.codex_home, paths.claude_config_dir):
            t, p = os.path.abspath(target), os.path.abspath(protected)
            if t == p or t.startswith(p + os.sep):
                raise PrimitiveError(f"refusing to write {display(target, paths.user_home)}: it is inside "
                                     f"{display(protected, paths.user_home)}, which bootstrap never writes")


def _settings(paths: Paths, env: Mapping[str, str], plan: str | None, parts) -> Settings:
    from claudex_doctor.config.envfile import parse
    from claudex_doctor.config.templates import find_claude, resolve_plan
    from claudex_doctor.knowledge.models import recommended_mapping

    config = files.read_yaml(paths.config)
    config_data = config.data if config.ok else {}
    if config.ok:
        redact.register_from(config_data)
    env_loaded = files.read_text(paths.env_file)
    env_values = parse(env_loaded.text or "").values if env_loaded.ok else {}
    token = env_values.get("ANTHROPIC_AUTH_TOKEN")
    redact.REGISTRY.add(token)

    listed = config_data.get("api-keys")
    keys = [k for k in (listed if isinstance(listed, list) else [])
            if isinstance(k, str) and len(k) >= 8 and k not in TEMPLATE_KEYS]
    notes: list[str] = []
    new_key = False
    if token and token not in TEMPLATE_KEYS and (token in keys or not keys):
        key = token
    elif keys:
        key = keys[0]
    else:
        key, new_key = secrets.token_urlsafe(32), True
    redact.REGISTRY.add(key)

    port = _valid_port(config_data.get("port")) or _env_port(env_values.get("ANTHROPIC_BASE_URL")) or 8327
    chosen, source = resolve_plan(paths, plan, env)
    plan_known = source == "--plan" or source.startswith("from ")
    mapping, window = recommended_mapping(chosen, plan_known)
    claude = find_claude(env, paths.wrapper)
    if claude is None:
        notes.append("note: claude is not on PATH; the env file says CLAUDE_BIN=claude (install Claude Code, "
                     "then set the full path with `claudex-doctor set-env CLAUDE_BIN=...`)")
    if "unknown" in source or "default" in source:
        notes.append(f"note: model mapping for plan {chosen!r} ({source}); rerun with --plan to choose another")
    return Settings(home=paths.home.absolute(), port=port, key=key, new_key=new_key, plan=chosen, plan_source=source,
                    mapping=mapping, window=window, claude_bin=str(claude) if claude else "claude", notes=notes,
                    plan_known=plan_known)


def _valid_port(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 65536:
        return value
    return None


def _env_port(url: str | None) -> int | None:
    from urllib.parse import urlsplit
    if not url:
        return None
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def _plan_files(paths: Paths, settings: Settings, parts, force: bool, doctor, env: Mapping[str, str]) -> list[Item]:
    from claudex_doctor.base.platform import service_manager
    from claudex_doctor.service.supervisor import service_file
    from claudex_doctor.wrapper.script import doctor_argv, render

    items: list[Item] = []
    if "home" in parts or any(p in HOME_PARTS for p in parts):
        items.append(Item("home", paths.home, Action.KEEP if paths.home.is_dir() else Action.CREATE))
    if "auth" in parts:
        items.append(_dir_item(paths.auth_dir, force))
    rendered = {
        "config": (paths.config, lambda: render_config(settings)),
        "env": (paths.env_file, lambda: render_env(settings)),
        "launcher": (paths.launcher, lambda: render_launcher(settings)),
        "wrapper": (paths.wrapper, lambda: render(settings.home, paths.home.absolute() / paths.env_file.name,
                                                  doctor or doctor_argv(),
                                                  service_file(paths, service_manager(env), env))),
    }
    for part, (path, make) in rendered.items():
        if part in parts:
            items.append(_file_item(part, path, make().encode("utf-8"), force))
    return items


def _dir_item(path: Path, force: bool) -> Item:
    if path.exists() and not path.is_dir():
        raise PrimitiveError(f"{path} exists but is not a directory; move it away first")
    if not path.is_dir():
        return Item("auth", path, Action.CREATE)
    mode = files.file_mode(path)
    if mode != MODES["auth"]:
        if force:
            return Item("auth", path, Action.REWRITE, note=f"mode {oct(mode or 0)} -> 0o700")
        return Item("auth", path, Action.KEEP, note=f"mode {oct(mode or 0)}; --force sets 0o700")
    return Item("auth", path, Action.KEEP)


def _file_item(part: str, path: Path, content: bytes, force: bool) -> Item:
    if path.is_dir():
        raise PrimitiveError(f"{path} is a directory, not a file; move it away first")
    if not path.exists() and not path.is_symlink():
        return Item(part, path, Action.CREATE, content)
    if not force:
        return Item(part, path, Action.KEEP, content, note="exists; --force rewrites it, keeping a backup")
    existing = files.read_bytes(path, len(content))
    same = existing.ok and existing.data == content and files.file_mode(path) == MODES[part]
    return Item(part, path, Action.UNCHANGED if same else Action.REWRITE, content)


def _plan_binary(paths: Paths, parts, force: bool, binary, source, env) -> tuple[Item, Callable[..., str] | None]:
    target = paths.binary
    state, line = proxybuild.probe(target)
    if binary:
        given = Path(binary).expanduser().absolute()
        given_state, given_line = proxybuild.probe(given)
        if given_state != "ok":
            raise PrimitiveError(f"--binary {given}: {given_line}")
    if source:
        checkout = Path(source).expanduser().absolute()
        if not checkout.is_dir():
            raise PrimitiveError(f"--source {checkout} is not a directory")
    if state == "ok" and not force:
        note = f"{line}" + ("; --force replaces it" if binary or source else "")
        return Item("binary", target, Action.KEEP, note=note), None
    if binary and state == "ok" and (os.path.samefile(given, target) or filecmp.cmp(given, target, shallow=False)):
        return Item("binary", target, Action.UNCHANGED, note=f"same bytes as {given}"), None
    action = Action.CREATE if state == "missing" else Action.REPLACE
    why = "" if state == "missing" else f" (was: {line})" if state == "broken" else ""
    if binary:
        return Item("binary", target, action, note=f"copy of {given}{why}"), \
            lambda out, status: _copy(given, out)
    if source:
        if proxybuild.which("go", env) is None:
            proxybuild.build_from_source(checkout, target, env)  # raises the missing-go error
        return Item("binary", target, action, note=f"go build in {checkout}{why}"), \
            lambda out, status: proxybuild.build_from_source(checkout, out, env, status)
    if proxybuild.which("go", env) is None:
        proxybuild.build_pinned(target, env)  # raises the missing-go error before anything is written
    return Item("binary", target, action, note=f"CLIProxyAPI {proxybuild.pinned_version()} built with Go{why}"), \
        lambda out, status: proxybuild.build_pinned(out, env, status)


def _copy(given: Path, out: Path) -> str:
    shutil.copyfile(given, out)
    return f"copied from {given}"


def _execute(paths: Paths, item: Item, built: Path | None) -> Path | None:
    if item.action in (Action.KEEP, Action.UNCHANGED):
        return None
    # The wrapper lives outside the home (~/.local/bin): its root is its own folder; the rest is the home's.
    root = item.path.parent if item.part == "wrapper" else paths.home
    if item.part in ("home", "auth"):
        atomic.ensure_dir(item.path, paths.home, private=True)
        return None
    backup_dir = paths.backups if paths.home.is_dir() else item.path.parent
    if item.part == "binary":
        assert built is not None
        return atomic.install_file(built, item.path, item.mode, keep_backup=item.path.exists(),
                                   backup_dir=backup_dir, root=root)
    return atomic.write_atomic(item.path, item.content or b"", mode=item.mode, keep_backup=item.action is Action.REWRITE,
                               backup_dir=backup_dir, root=root, private=item.part in ("config", "env"))


def _describe(item: Item, settings: Settings, user_home: Path, dry_run: bool) -> str:
    shown = display(item.path, user_home)
    mode = f"{item.mode:04o}"
    what = {
        "home": "the runtime home",
        "auth": "the proxy credential directory",
        "config": f"proxy config: host 127.0.0.1, port {settings.port}, auth-dir ./auth, "
                  + ("one new random api key" if settings.new_key else "the existing api key"),
        "env": f"env file: base URL http://127.0.0.1:{settings.port}, plan {settings.plan} "
               + ", ".join(f"{k} {v}" for k, v in settings.mapping.items())
               + (f", context window {settings.window}" if settings.window else "")
               + f", CLAUDE_BIN {settings.claude_bin}",
        "launcher": "launcher run.sh",
        "binary": "CLIProxyAPI binary",
        "wrapper": "the claudex wrapper for this home",
    }[item.part]
    verb = item.action.value
    line = f"{verb} {shown}{'/' if item.part in ('home', 'auth') else ''} ({mode}): {what}"
    if item.action in (Action.REWRITE, Action.REPLACE) and item.part not in ("home", "auth"):
        line += "; the old file is kept as a backup"
    if item.note:
        line += f" [{item.note}]"
    return redact.redact_text(line)

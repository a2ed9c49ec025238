"""Where the stack lives on this machine (the design's runtime layout).

Pure functions of the environment: nothing here touches the disk except to
ask whether a directory exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_NAME = "claudex-gateway"
LEGACY_HOME_NAME = "cliproxyapi-codex-test"
ENV_FILE_NAME = "claude-code-gpt54.env"  # historical name: kept, never renamed
PROXY_AUTH_NAME = "codex-current.json"
DEFAULT_PORT = 8327
DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class HomeChoice:
    path: Path
    reason: str  # "option" | "env" | "xdg" | "legacy"
    explanation: str


@dataclass(frozen=True)
class Paths:
    home: Path
    home_reason: str
    home_explanation: str
    user_home: Path
    codex_home: Path
    wrapper: Path
    wrapper_reason: str
    claude_config_dir: Path
    cwd: Path

    @property
    def binary(self) -> Path:
        return self.home / "cli-proxy-api"

    @property
    def config(self) -> Path:
        return self.home / "config.yaml"

    @property
    def launcher(self) -> Path:
        return self.home / "run.sh"

    @property
    def env_file(self) -> Path:
        return self.home / ENV_FILE_NAME

    @property
    def auth_dir(self) -> Path:
        return self.home / "auth"

    @property
    def proxy_auth(self) -> Path:
        return self.auth_dir / PROXY_AUTH_NAME

    @property
    def codex_auth(self) -> Path:
        return self.codex_home / "auth.json"

    @property
    def codex_config(self) -> Path:
        return self.codex_home / "config.toml"

    @property
    def pidfile(self) -> Path:
        return self.home / "cli-proxy-api.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "cli-proxy-api.log"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def journal(self) -> Path:
        return self.home / "doctor-journal.jsonl"

    @property
    def backups(self) -> Path:
        return self.home / "backups"


    @property
    def claude_settings(self) -> Path:
        return self.claude_config_dir / "settings.json"

    @property
    def claude_json(self) -> Path:
        # ~/.claude.json lives beside ~/.claude, or inside CLAUDE_CONFIG_DIR when that is set.
        if self.claude_config_dir != self.user_home / ".claude":
            return self.claude_config_dir / ".claude.json"
        return self.user_home / ".claude.json"


def _data_home(env: Mapping[str, str], user_home: Path) -> Path:
    xdg = env.get("XDG_DATA_HOME")
    return Path(xdg).expanduser() if xdg else user_home / ".local" / "share"


def resolve_home(env: Mapping[str, str], user_home: Path, option: str | None = None) -> HomeChoice:
    """The runtime home: --home, then CLAUDEX_GATEWAY_HOME, then XDG, then the legacy name if only it exists."""
    if option:
        return HomeChoice(Path(option).expanduser().absolute(), "option", "given with --home")
    explicit = env.get("CLAUDEX_GATEWAY_HOME")
    if explicit:
        return HomeChoice(Path(explicit).expanduser().absolute(), "env", "set by CLAUDEX_GATEWAY_HOME")
    data = _data_home(env, user_home)
    current, legacy = data / HOME_NAME, data / LEGACY_HOME_NAME
    base = "XDG_DATA_HOME" if env.get("XDG_DATA_HOME") else "~/.local/share"
    if not current.exists() and legacy.is_dir():
        return HomeChoice(legacy, "legacy", f"legacy home under {base}: {HOME_NAME} does not exist but {LEGACY_HOME_NAME} does")
    return HomeChoice(current, "xdg", f"default home under {base}")


def resolve(env: Mapping[str, str] | None = None, home_option: str | None = None, wrapper_option: str | None = None,
            cwd: Path | None = None) -> Paths:
    env = os.environ if env is None else env
    user_home = Path(env.get("HOME") or Path.home())
    choice = resolve_home(env, user_home, home_option)
    codex_home = Path(env["CODEX_HOME"]).expanduser() if env.get("CODEX_HOME") else user_home / ".codex"
    if wrapper_option:
        wrapper, wrapper_reason = Path(wrapper_option).expanduser().absolute(), "option"
    elif env.get("CLAUDEX_WRAPPER"):
        wrapper, wrapper_reason = Path(env["CLAUDEX_WRAPPER"]).expanduser(), "env"
    else:
        wrapper, wrapper_reason = user_home / ".local" / "bin" / "claudex", "default"
    claude_dir = Path(env["CLAUDE_CONFIG_DIR"]).expanduser() if env.get("CLAUDE_CONFIG_DIR") else user_home / ".claude"
    return Paths(
        home=choice.path,
        home_reason=choice.reason,
        home_explanation=choice.explanation,
        user_home=user_home,
        codex_home=codex_home,
        wrapper=wrapper,
        wrapper_reason=wrapper_reason,
        claude_config_dir=claude_dir,
        cwd=cwd or Path.cwd(),
    )


def display(path: Path | str, user_home: Path | None = None) -> str:
    """A path as the user would type it: their home directory shown as ~."""
    text = str(path)
    home = str(user_home or Path(os.environ.get("HOME") or Path.home()))
    if home and home != "/" and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home):]
    return text


def shell_word(path: Path | str, user_home: Path | None = None) -> str:
    """A path as a word to paste into a shell command: `"$HOME/..."` under the home (a `~` would not
    expand inside quotes), else the path, quoted when it needs it."""
    shown = display(path, user_home)
    if shown == "~" or shown.startswith("~/"):
        return '"$HOME' + shown[1:].replace('"', '\\"') + '"'
    import shlex
    return shlex.quote(shown)

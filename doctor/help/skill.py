"""The skill `claudex-gateway`: how an agent should diagnose and repair this stack.

`install()` writes `<claude config dir>/skills/claudex-gateway/SKILL.md`
(`~/.claude`, or `$CLAUDE_CONFIG_DIR`) for Claude Code, and, with `agent="codex"`,
`$CODEX_HOME/skills/claudex-gateway/SKILL.md` (`~/.codex/skills`) for the Codex CLI: the
agent that still works when the gateway is down. Codex 0.171.0 reads user skills from
`$CODEX_HOME/skills/<name>/SKILL.md` with the same front matter (name, description): its
bundled skill-installer says so, and its binary names the root `codex-home-skills`. The file ends with a marker that holds
the hash of what was written, so a later install can tell three cases apart:
our file, unchanged since (replaced by the newer text, with a backup); a file
the user edited, or one we did not write (kept unless `force`; replaced with a
backup when forced); and the same text (nothing to do). Writes are atomic.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor import __version__
from claudex_doctor.base import files
from claudex_doctor.base.vocab import Vocabulary

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

NAME = "claudex-gateway"
_MARKER = re.compile(r"\n<!-- claudex-doctor skill (?P<version>\S+); sha256:(?P<digest>[0-9a-f]{64}) -->\n?\Z")

DESCRIPTION = (
    "Diagnose and repair the local claudex stack (Claude Code -> claudex wrapper -> CLIProxyAPI on "
    "127.0.0.1:8327 -> ChatGPT Codex backend) with claudex-doctor. Use when claudex or Claude Code through "
    "the gateway fails (401/403/404/429/5xx, refresh_token_reused, unknown model, context window errors, "
    "hangs), after a Codex login or logout, when setting up or moving the gateway, when changing the "
    "Opus/Sonnet/Haiku model mapping, or when someone suggests replacing the proxy with LiteLLM."
)

BODY = """\
# claudex gateway

The user runs Claude Code on their ChatGPT subscription through a local gateway:

    claudex (wrapper) -> claude (Claude Code) -> CLIProxyAPI on 127.0.0.1:8327 -> chatgpt.com/backend-api/codex

`claudex-doctor` diagnoses every hop and repairs what can be repaired safely. Use it instead of
poking at the files by hand: it knows the layout, never prints secrets, and writes atomically
with backups.

## 1. Diagnose first, as JSON

Run `claudex-doctor --json` (add `--offline` to send no model request and spend no quota).
stdout holds only the JSON:

- `status`: `pass`, `warn`, `fail` or `error` for the whole run.
- `checks[]`: one entry per check, with `id` (stable, e.g. `auth.sync`, `port.owner`), `status`
  (`pass`, `warn`, `fail`, `skip`, `error`), `summary` (one line), `details`, `evidence`,
  `blocked_by` (for `skip`: the failing checks that made it impossible), `reference`
  (`references/<page>.md#<anchor>`) and `fix` (`primitive`, `safety`, `command`, `description`)
  or null.
- Exit code: 0 nothing failing (warnings allowed), 1 at least one check failed, 2 the doctor
  itself could not run (bad usage, a crashed check).

Work on `fail` entries first, upstream before downstream: a `skip` with `blocked_by` clears once
its blocker is fixed. `error` means a bug in the doctor, not in the stack: write a report (step 5).
To re-check a few things: `claudex-doctor --json --only ID[,ID]`. The catalog: `claudex-doctor checks`.

## 2. Understand before you change anything

`claudex-doctor explain <topic>` prints the page behind a finding: cause, how to confirm, and the
fix with its safety class. Topics include `stack`, `auth`, `models`, `context-window`, `service`,
`wrapper`, `probes`, `config`, `claude-code`, `binaries`, `home`, `litellm`; a check id
(`claudex-doctor explain auth.sync`) or a finding's `reference` works too. `claudex-doctor
explain` lists them; add `--json` for {topic, title, path, headings, markdown}.

## 3. Repair through the doctor

1. `claudex-doctor --fix --dry-run`: shows every planned fix and the exact change; touches nothing.
   Show the plan to the user.
2. Without a terminal (as an agent runs it) `--fix` alone applies nothing. Once the user has
   agreed to the plan, `claudex-doctor --fix --yes` applies the `safe` and the `confirm` fixes
   (for example writing `~/.codex/auth.json`, re-bootstrapping), then checks everything again and
   shows each fix's checks before and after.
3. On the user's own terminal, `claudex-doctor --fix` applies the `safe` fixes and asks before
   each `confirm` one.
4. `manual` fixes are for the user: give them the command (`codex login`, stopping a process
   that is not the stack's own, installing a program). Do not run interactive logins yourself.
5. Check again with `claudex-doctor --json`.

The same primitives run by hand: `claudex-doctor sync-auth`, `claudex-doctor start | stop |
restart | status`, `claudex-doctor probe`, `claudex-doctor set-env KEY=VALUE`,
`claudex-doctor set-config KEY=VALUE`, `claudex-doctor bootstrap`; those that change something
take `--dry-run`.
`claudex status|start|stop|restart` reaches the same service commands through the wrapper.

The plan's Codex quota: `claudex-doctor quota --json` (each window's `used_percent`, `reset_at`,
`state`: `room`, `near`, `exhausted`; exit 1 when a window is exhausted). It never refreshes a
token. `claudex-doctor statusline install` (confirm class: ask the user first; `--dry-run` shows
the change) puts the gateway, the mapped model, the 5-hour and weekly quota and the context in
Claude Code's status line; it keeps an existing `statusLine` unless `--force`.

## 4. Rules

- Never replace CLIProxyAPI with LiteLLM, and do not add a LiteLLM hop: a ChatGPT login is an
  OAuth session, not an API key, and the Codex backend's dialect breaks through LiteLLM
  (`claudex-doctor explain litellm`). Redesign only if the user explicitly asks.
- Never print or paste secrets: do not `cat` `~/.codex/auth.json`, `auth/codex-current.json`,
  the env file's `ANTHROPIC_AUTH_TOKEN` or `config.yaml`'s `api-keys`. The doctor shows
  fingerprints (`sha256:1a2b3c4d`); equal fingerprints mean equal values.
- Do not copy tokens between `~/.codex/auth.json` and the proxy credential by hand: refresh tokens
  rotate, and a stale copy logs one side out (`refresh_token_reused`). Use `claudex-doctor sync-auth`.
- Do not change the port (8327), the home's file names, or the wrapper's behaviour silently.
  The wrapper must keep passing arguments to claude byte for byte (`claudex --resume` ==
  `claude --resume` with the gateway's environment).
- Change the model mapping only in the env file (`claudex-doctor set-env`), with models the
  user's plan offers; `claudex-doctor explain models` and `explain context-window` say which.
- Never stop or kill a process the stack did not start; the doctor refuses to, and so should you.
- Rebuild the proxy binary only when `bin.proxy` says it is missing or broken (`claudex-doctor bootstrap`).

## 5. Hand off

When something is beyond a fix (a doctor `error`, an upstream outage, an account problem), run
`claudex-doctor report`. It writes a redacted `claudex-report-<id>.md` (mode 0600) and prints
its id and path on stderr. Ask the user to read it before they attach it to an issue.

## Quick map

| symptom | look at | usually |
|---|---|---|
| `401 Invalid API key` from 127.0.0.1:8327 | `env.consistency` | the env file's token is not in `api-keys`: `--fix --dry-run` shows the repair |
| connection refused | `port.owner`, `proxy.health` | the proxy is not running: `claudex-doctor start` |
| `refresh_token_reused`, 401 from upstream | `auth.codex`, `auth.proxy`, `auth.sync` | `sync-auth`, or `codex login` (manual) |
| `unknown provider for model`, model not found | `env.mapping`, `proxy.models` | remap with `set-env` to a model the plan offers |
| "input exceeds the context window" | `env.context_window` | tell Claude Code the real window: `--fix --dry-run` shows the repair |
| `429 usage_limit_reached` | `quota.codex`, `logs.errors` | the plan's Codex quota: `claudex-doctor quota` shows when each window resets |
| requests go to port 4000 or errors start with `litellm.` | `route.litellm` | point `ANTHROPIC_BASE_URL` back at the proxy |
| settings ignored, wrong endpoint used | `claude.settings` | an `env` block in Claude Code's settings overrides the wrapper |
"""


def render() -> str:
    """The SKILL.md text this version installs, marker included."""
    description = DESCRIPTION.replace("\\", "\\\\").replace('"', '\\"')
    text = f'---\nname: {NAME}\ndescription: "{description}"\n---\n\n{BODY}'
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{text}\n<!-- claudex-doctor skill {__version__}; sha256:{digest} -->\n"


AGENTS = ("claude", "codex")


def target(paths: Paths, agent: str = "claude") -> Path:
    if agent == "codex":
        return paths.codex_home / "skills" / NAME / "SKILL.md"
    return paths.claude_config_dir / "skills" / NAME / "SKILL.md"


def root(paths: Paths, agent: str = "claude") -> Path:
    return paths.codex_home if agent == "codex" else paths.claude_config_dir


def state(existing: str | None, wanted: str | None = None) -> str:
    """missing | current | outdated (ours, unedited) | modified (edited, or not ours)."""
    if existing is None:
        return "missing"
    if existing == (wanted if wanted is not None else render()):
        return "current"
    marker = _MARKER.search(existing)
    if marker is not None:
        body = existing[:marker.start()]
        if hashlib.sha256(body.encode("utf-8")).hexdigest() == marker.group("digest"):
            return "outdated"
    return "modified"


class SkillAction(Vocabulary):
    """What `skill install` did (or, dry-running, would do)."""

    INSTALLED = "installed"
    UPDATED = "updated"
    REPLACED = "replaced"            # --force over a copy the user edited (a backup is kept)
    UNCHANGED = "unchanged"
    KEPT = "kept"                    # a copy the user edited, left alone
    WOULD_INSTALL = "would-install"
    WOULD_UPDATE = "would-update"
    WOULD_REPLACE = "would-replace"


@dataclass(frozen=True)
class SkillResult:
    action: SkillAction
    path: Path
    before: str  # the state found
    backup: Path | None = None

    @property
    def ok(self) -> bool:
        return self.action is not SkillAction.KEPT

    def to_dict(self, shown_path: str, shown_backup: str | None) -> dict:
        return {"action": self.action, "path": shown_path, "state_before": self.before, "backup": shown_backup,
                "ok": self.ok}


def read_existing(path: Path) -> str | None:
    loaded = files.read_bytes(path)
    if loaded.problem is files.Problem.MISSING:
        return None
    try:
        if not loaded.ok:
            raise OSError(loaded.message)
        return loaded.data.decode("utf-8")
    except UnicodeDecodeError:
        return ""  # not text we wrote: treated as modified


def install(paths: Paths, *, force: bool = False, dry_run: bool = False, agent: str = "claude") -> SkillResult:
    """Write the skill for `agent` (claude | codex); idempotent; a user-edited file is kept unless `force`
    (then backed up)."""
    from claudex_doctor.base.atomic import write_atomic

    path = target(paths, agent)
    wanted = render()
    before = state(read_existing(path), wanted)
    if before == "current":
        return SkillResult(SkillAction.UNCHANGED, path, before)
    if before == "modified" and not force:
        return SkillResult(SkillAction.KEPT, path, before)
    verb, done = {"missing": ("install", "installed"), "outdated": ("update", "updated"),
                  "modified": ("replace", "replaced")}[before]
    if dry_run:
        return SkillResult(SkillAction(f"would-{verb}"), path, before)
    backup = write_atomic(path, wanted, mode=0o644, keep_backup=before != "missing", root=root(paths, agent))
    return SkillResult(SkillAction(done), path, before, backup)

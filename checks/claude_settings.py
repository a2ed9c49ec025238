"""Claude Code's own settings that can silently override the wrapper's environment.

claude.settings
    What it checks: the `env` blocks of ~/.claude/settings.json (or
    $CLAUDE_CONFIG_DIR/settings.json), the current project's .claude/settings.json
    and .claude/settings.local.json, and managed settings, for the variables the
    wrapper sets (base URL, token, API key, model mapping, window); a pinned
    claude-* `model`; a `modelOverrides` map that rewrites a model id the wrapper
    maps (or a claude-* id); an `apiKeyHelper` (in any of them or ~/.claude.json);
    cloud-provider switches (CLAUDE_CODE_USE_*) in settings or the shell; and a
    /login-managed key (primaryApiKey in ~/.claude.json).
    Why it matters: a settings `env` block is applied over the shell environment,
    so a value there beats the env file the wrapper sourced, silently; a /login
    key or an apiKeyHelper beside ANTHROPIC_AUTH_TOKEN is an auth conflict (the
    helper's key is sent as X-Api-Key with every request; without the token it
    replaces it: "Invalid API key · Fix external API key").
    Fix safety: manual only. These files belong to Claude Code and hold the
    user's own choices; the doctor says which line to remove (or `claude /logout`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base import files, redact
from claudex_doctor.base.files import Problem, read_json
from claudex_doctor.base.paths import display
from claudex_doctor.checks._findings import Problems
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix
from claudex_doctor.knowledge import models as _models

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/claude-code.md"
ALIASES = ("default", "opus", "sonnet", "haiku", "fable", "opusplan", "best")
_PAIR = re.compile(r'"([^"\\\n]{1,200})"\s*:\s*"([^"\\\n]{1,4096})"')
_PLAIN_WORD = re.compile(r"[A-Z][A-Z0-9_]*|[a-z][a-z_.-]*")
_WORD = re.compile(r"(?<![A-Za-z0-9_+/=.~-])[A-Za-z0-9_+/=.~-]{20,512}(?![A-Za-z0-9_+/=.~-])")  # token-shaped


def _register_broken(text: str | None) -> None:
    """A file that does not parse may still hold secrets: register what looks like one."""
    if not text:
        return
    for key, value in _PAIR.findall(text):
        if redact.is_secret_name(key):
            redact.REGISTRY.add(value)
    for word in _WORD.findall(text):
        if not _PLAIN_WORD.fullmatch(word):  # variable names and plain words are not secrets
            redact.REGISTRY.add(word)


def settings_files(ctx: StackContext) -> list[tuple[str, Path]]:
    """(label, path) of every settings file Claude Code reads, most general first, without duplicates."""
    p = ctx.paths
    knowledge = _models.claude_env()["settings_override"]
    candidates = [("user settings", p.claude_settings),
                  ("project settings", p.cwd / ".claude" / "settings.json"),
                  ("local project settings", p.cwd / ".claude" / "settings.local.json")]
    candidates += [("managed settings", Path(path)) for path in knowledge["managed_paths"]]
    seen, out = set(), []
    for label, path in candidates:
        key = files.real_path(path)
        if key in seen:
            continue
        seen.add(key)
        out.append((label, path))
    return out


def read_settings(ctx: StackContext, path: Path) -> files.Loaded:
    """A settings file, read once per run whichever check asks first."""
    return ctx.memo(f"claude_settings:{path}", lambda: read_json(path))


def _norm_url(value: str) -> str:
    return value.strip().rstrip("/").lower()


def _check_env_block(ctx: StackContext, label: str, shown: str, block: dict, problems: Problems) -> list[str]:
    knowledge = _models.claude_env()
    wrapper_vars = knowledge["settings_override"]["wrapper_variables"]
    window_vars = knowledge["settings_override"]["window_variables"]
    file_env = ctx.env_file.data.values if ctx.env_file.ok else {}
    edit = Fix.manual(f"Remove the variable from the env block of {shown} (the wrapper's env file sets it)",
                      f"${{EDITOR:-vi}} {shown}")
    found: list[str] = []
    for name, raw in block.items():
        if raw is None:
            continue
        value = raw if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
        theirs = file_env.get(name)
        if name in knowledge["cloud_provider_switches"] and value.strip().lower() in knowledge["truthy_values"]:
            found.append(name)
            problems.fail(f"{label} sets {name}: Claude Code goes to a cloud provider, not to the proxy",
                          [f"In {shown}."], f"{REF}#cloud-provider-switch-set", edit)
            continue
        if name not in wrapper_vars and name not in window_vars:
            continue
        found.append(name)
        if name == "ANTHROPIC_API_KEY":
            if value.strip():
                problems.warn(f"{label} sets ANTHROPIC_API_KEY: an auth conflict with the wrapper's token",
                              [f"In {shown}; value {redact.fingerprint(value)}. Claude Code sends it as X-Api-Key "
                               "beside the token, to the proxy, with every request."],
                              f"{REF}#settings-override-the-wrapper", edit)
            continue
        if name == "ANTHROPIC_AUTH_TOKEN":
            same = theirs is not None and value == theirs
        elif name == "ANTHROPIC_BASE_URL":
            same = theirs is not None and _norm_url(value) == _norm_url(theirs)
        else:
            same = theirs is not None and value.strip() == theirs.strip()
        if same:
            problems.note(f"{shown} repeats {name} with the env file's value; harmless while they agree.")
            continue
        shown_value = redact.fingerprint(value) if name == "ANTHROPIC_AUTH_TOKEN" else repr(value[:80])
        shown_theirs = "unset" if theirs is None else (redact.fingerprint(theirs) if name == "ANTHROPIC_AUTH_TOKEN"
                                                       else repr(theirs[:80]))
        details = [f"In {shown}: {name}={shown_value}; the env file has {shown_theirs}.",
                   "A settings env block is applied over the environment the wrapper exported."]
        if name in window_vars:
            problems.warn(f"{label} overrides {name}", details, f"{REF}#settings-override-the-wrapper", edit)
        else:
            problems.fail(f"{label} overrides {name}: claudex's value never reaches Claude Code", details,
                          f"{REF}#settings-override-the-wrapper", edit)
    return found


def _check_file(ctx: StackContext, label: str, path: Path, problems: Problems, evidence: dict) -> None:
    shown = display(path, ctx.paths.user_home)
    loaded = read_settings(ctx, path)
    if loaded.problem is Problem.MISSING:
        return
    if not loaded.ok:
        _register_broken(loaded.text)
        evidence["files"][shown] = loaded.problem
        problems.warn(f"{label} ({shown}) cannot be used: {loaded.message}",
                      ["Claude Code skips a settings file it cannot read, so whatever it meant to set is not set; "
                       "the doctor could not check it for overrides."], f"{REF}#settings-file-unreadable",
                      Fix.manual(f"Repair {shown} (valid JSON object) or move it away", f"${{EDITOR:-vi}} {shown}"))
        return
    data = loaded.data
    redact.register_from(data)
    evidence["files"][shown] = "read"
    block = data.get("env")
    if block is not None and not isinstance(block, dict):
        problems.warn(f"{label} ({shown}) has an env that is not an object", [], f"{REF}#settings-file-unreadable")
    elif isinstance(block, dict):
        for value in block.values():
            if isinstance(value, str) and len(value) >= 16:
                redact.REGISTRY.add(value)  # settings env values may be secrets whatever their name
        found = _check_env_block(ctx, label, shown, block, problems)
        if found:
            evidence["overrides"][shown] = found
    model = data.get("model")
    if isinstance(model, str) and model.strip().lower().startswith("claude-"):
        problems.fail(f"{label} pins model {model}: the proxy cannot serve Claude models",
                      [f"In {shown}. Use an alias (opus, sonnet, haiku) so the wrapper's mapping applies."],
                      f"{REF}#settings-pin-a-claude-model",
                      Fix.manual(f"Remove \"model\" from {shown}, or set it to an alias", f"${{EDITOR:-vi}} {shown}"))
    overrides = data.get("modelOverrides")
    if isinstance(overrides, dict) and overrides:
        mapped = set(ctx.env_file.data.values.get(v, "") for v in _models.claude_env()["model_variables"]) \
            if ctx.env_file.ok else set()
        pairs = [f"{k} -> {v}" for k, v in list(overrides.items())[:6] if isinstance(k, str)]
        hits = [k for k in overrides if isinstance(k, str) and (k in mapped or k.lower().startswith("claude"))]
        evidence["model_overrides"][shown] = pairs
        if hits:
            problems.warn(f"{label} sets modelOverrides for {', '.join(hits[:3])}: Claude Code may send the "
                          "proxy another id than the env file maps",
                          [f"In {shown}: {'; '.join(pairs)}.",
                           _models.claude_env()["settings_model_keys"]["modelOverrides"],
                           "The proxy then receives the override's id, which it may not serve (\"unknown provider "
                           "for model\")."],
                          f"{REF}#settings-model-overrides",
                          Fix.manual(f"Remove \"modelOverrides\" from {shown} (the env file maps the aliases)",
                                     f"${{EDITOR:-vi}} {shown}"))
    if "apiKeyHelper" in data:
        _api_key_helper(ctx, label, shown, data["apiKeyHelper"], problems, evidence)



def _api_key_helper(ctx: StackContext, label: str, shown: str, helper, problems: Problems, evidence: dict) -> None:
    """An apiKeyHelper beside the wrapper's token: Claude Code runs it and sends its output too.

    Observed with Claude Code 2.1.330: with ANTHROPIC_AUTH_TOKEN set, every request carries
    `Authorization: Bearer <token>` AND `X-Api-Key: <helper output>`; without the token the helper's
    output is both. The doctor never runs the helper (diagnosing runs nothing from the user's files)."""
    if helper is None or (isinstance(helper, str) and not helper.strip()):
        return
    edit = Fix.manual(f"Remove \"apiKeyHelper\" from {shown} (claudex authenticates with the env file's token)",
                      f"${{EDITOR:-vi}} {shown}")
    anchor = f"{REF}#apikeyhelper-overrides-the-gateway-token"
    if not isinstance(helper, str):
        problems.warn(f"{label} ({shown}) has an apiKeyHelper that is not a command string "
                      f"({type(helper).__name__})", ["Claude Code cannot run it; remove it."], anchor, edit)
        return
    if len(helper.strip()) >= 16:
        redact.REGISTRY.add(helper.strip())  # a command may embed a key: never shown, only fingerprinted
    evidence.setdefault("api_key_helpers", {})[shown] = redact.fingerprint(helper.strip())
    token = (ctx.env_file.data.values if ctx.env_file.ok else {}).get("ANTHROPIC_AUTH_TOKEN", "").strip()
    said = ("Claude Code shows \"Invalid API key · Fix external API key\" when a gateway rejects the helper's key, "
            "a message that names neither the helper nor this file.")
    if not token:
        problems.fail(f"{label} sets apiKeyHelper and the env file has no ANTHROPIC_AUTH_TOKEN: Claude Code sends "
                      "the helper's key to the proxy instead of the gateway token",
                      [f"In {shown}. {said}", "The proxy accepts only the keys in config.yaml's api-keys."],
                      anchor, edit)
        return
    problems.warn(f"{label} sets apiKeyHelper: Claude Code sends its key beside the wrapper's token",
                  [f"In {shown}. With ANTHROPIC_AUTH_TOKEN set, Claude Code sends the token as Authorization and "
                   "the helper's output as X-Api-Key with every request: your other key reaches the proxy, and "
                   "a gateway that reads X-Api-Key first rejects the request. CLIProxyAPI accepts either key, so "
                   f"it works by accident. {said}",
                   "The helper also runs at every start; when it fails, Claude Code prints \"apiKeyHelper failed\"."],
                  anchor, edit)


def _login_key(ctx: StackContext, problems: Problems, evidence: dict) -> None:
    p = ctx.paths
    shown = display(p.claude_json, p.user_home)
    loaded = read_json(p.claude_json, cap=files.LARGE_CAP)
    key = None
    if loaded.problem is Problem.MISSING:
        return
    if loaded.problem is Problem.TOO_LARGE:
        head = files.read_head(p.claude_json, 32 * files.MiB)
        match = re.search(rb'"primaryApiKey"\s*:\s*"([^"]+)"', head.data) if head.ok else None
        key = match.group(1).decode("utf-8", "replace") if match else None
    elif not loaded.ok:
        _register_broken(loaded.text)
        evidence["files"][shown] = loaded.problem
        problems.warn(f"{shown} cannot be read: {loaded.message}",
                      ["The doctor could not check it for a /login key."], f"{REF}#settings-file-unreadable",
                      Fix.manual("Let Claude Code rewrite it: move it away and start claude once", f"ls -l {shown}"))
        return
    else:
        redact.register_from(loaded.data)
        value = loaded.data.get("primaryApiKey")
        key = value if isinstance(value, str) and value.strip() else None
        if "apiKeyHelper" in loaded.data:
            _api_key_helper(ctx, "~/.claude.json", shown, loaded.data["apiKeyHelper"], problems, evidence)
    evidence["files"][shown] = "read"
    if key:
        redact.REGISTRY.add(key)
        evidence["login_key"] = redact.fingerprint(key)
        problems.warn("a /login API key in ~/.claude.json conflicts with the wrapper's ANTHROPIC_AUTH_TOKEN",
                      [f"{shown} holds primaryApiKey {redact.fingerprint(key)}; Claude Code sends it as X-Api-Key "
                       "beside the token (\"Auth conflict\"): your Anthropic key reaches the proxy with every "
                       "request. CLIProxyAPI accepts a request while either key is valid, so it works, by accident."],
                      f"{REF}#login-key-conflicts-with-the-token",
                      Fix.manual("Log out of the Anthropic API key login (claudex does not need it)", "claude /logout"))


@check("claude.settings", "Claude Code settings",
       reference=f"{REF}#settings-override-the-wrapper", fixes=("manual",))
def claude_settings(ctx: StackContext):
    problems = Problems()
    evidence: dict = {"files": {}, "overrides": {}, "model_overrides": {}}
    for label, path in settings_files(ctx):
        _check_file(ctx, label, path, problems, evidence)
    knowledge = _models.claude_env()
    for name in knowledge["cloud_provider_switches"]:
        if ctx.env.get(name, "").strip().lower() in knowledge["truthy_values"]:
            problems.fail(f"your shell sets {name}: Claude Code goes to a cloud provider, not to the proxy",
                          ["The wrapper keeps inherited variables; unset it in your shell profile."],
                          f"{REF}#cloud-provider-switch-set", Fix.manual(f"Unset {name}", f"unset {name}"))
    _login_key(ctx, problems, evidence)
    read = [k for k, v in evidence["files"].items() if v == "read"]
    summary = f"nothing overrides the wrapper ({len(read)} file(s) read)" if read else \
        "no Claude Code settings files to override the wrapper"
    return problems.outcome(summary, evidence)

"""The env file the wrapper sources: consistency, model mapping, context window.

env.consistency
    What it checks: the env file reads as plain assignments (it is parsed, never
    executed); ANTHROPIC_BASE_URL is set, has no trailing /v1, and names the host
    and port config.yaml binds; ANTHROPIC_AUTH_TOKEN is one of config.yaml's
    api-keys (fingerprints only); no ANTHROPIC_API_KEY beside it (in the file or
    inherited from the shell); no Windows line endings.
    Why it matters: Claude Code sends exactly these; one wrong value and every
    request fails (connection refused, 401, 404 on /v1/v1/messages) or goes to
    api.anthropic.com instead.
    Fix safety: set-env edits are safe (the config is the authority: the env file
    follows it); a new key for both files needs confirmation.

env.mapping (see checks/_mapping.py)

env.context_window
    What it checks: Claude Code is told the real context window of the mapped
    models (CLAUDE_CODE_AUTO_COMPACT_WINDOW, or CLAUDE_CODE_MAX_CONTEXT_TOKENS),
    no larger than the smallest one, for the account's plan.
    Why it matters: Claude Code does not know these models; it assumes 1M tokens
    (200k with CLAUDE_CODE_DISABLE_1M_CONTEXT), so sessions grow until the upstream
    rejects them with "input exceeds the context window".
    Fix safety: setting the window in the env file is safe.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from claudex_doctor.base.files import Problem
from claudex_doctor.base.net import bare_host, binds_everywhere, is_loopback, split_url
from claudex_doctor.base.paths import DEFAULT_HOST, DEFAULT_PORT, display
from claudex_doctor.base.redact import PUBLIC_VALUES, fingerprint
from claudex_doctor.checks._findings import Problems, set_config_fix, set_env_fix
from claudex_doctor.checks._knowledge import gather
from claudex_doctor.checks._mapping import env_mapping  # registered from here: checks.env.env_mapping
from claudex_doctor.config import facts as stack
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, skipped, warned
from claudex_doctor.knowledge import models as _models

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

__all__ = ["env_consistency", "env_mapping", "env_context_window", "env_file_problem", "parse_size"]

REF = "references/config.md"
CW = "references/context-window.md"


def env_file_problem(ctx: StackContext):
    """A failing outcome when the env file cannot be used at all, else None."""
    loaded = ctx.env_file
    if loaded.ok:
        return None
    shown = display(ctx.paths.env_file, ctx.paths.user_home)
    evidence = {"path": shown, "problem": loaded.problem}
    if loaded.problem is Problem.MISSING:
        return failed(f"{shown} does not exist", ["The claudex wrapper sources it for the proxy's URL, key and "
                                                 "model mapping; without it claude talks to api.anthropic.com."],
                      evidence, reference=f"{REF}#env-file-missing",
                      fix=Fix.confirm("bootstrap", "Create the missing env file (existing files are kept)"))
    return failed(loaded.message, ["The wrapper's shell would fail on it or read garbage."], evidence,
                  reference=f"{REF}#env-file-unreadable",
                  fix=Fix.manual("Make it a readable UTF-8 text file again (or restore it from the home's backups/)",
                                 f"ls -l {shown}"))


def _config_view(ctx: StackContext) -> tuple[str | None, int | None, list | None]:
    """(host, port, api-keys) from config.yaml when it reads; Nones otherwise."""
    if not ctx.config.ok:
        return None, None, None
    data = ctx.config.data
    host = data.get("host")
    host = "" if host is None else host if isinstance(host, str) else None
    keys = data.get("api-keys")
    return host, stack.config_port(ctx), keys if isinstance(keys, list) else ([] if keys is None else None)


def _target_url(host: str | None, port: int | None) -> str:
    if host is None or binds_everywhere(host) or host == "localhost":
        host = DEFAULT_HOST
    host = bare_host(host)
    return f"http://{'[' + host + ']' if ':' in host else host}:{port or DEFAULT_PORT}"


def _check_base_url(ctx: StackContext, env, problems: Problems, evidence: dict, host, port) -> None:
    url = env.get("ANTHROPIC_BASE_URL")
    target = _target_url(host, port)
    fix = set_env_fix(f"set ANTHROPIC_BASE_URL to {target}", {"ANTHROPIC_BASE_URL": target})
    evidence["base_url"] = url
    if not url:
        problems.fail("ANTHROPIC_BASE_URL is not set: Claude Code would go to api.anthropic.com",
                      [], f"{REF}#base-url-missing", fix)
        return
    if "ANTHROPIC_BASE_URL" in env.dynamic:
        problems.warn("ANTHROPIC_BASE_URL uses shell expansion; the doctor reads it literally",
                      [f"Write the value out ({target})."], f"{REF}#env-file-lines-the-doctor-cannot-read", fix)
        return
    parts = split_url(url)
    if parts is None or parts[0] not in ("http", "https"):
        problems.fail(f"ANTHROPIC_BASE_URL {url!r} is not an http:// URL", [], f"{REF}#base-url-missing", fix)
        return
    scheme, url_host, url_port, path = parts
    if path.rstrip("/").lower().endswith("/v1"):
        fixed = url.rstrip("/")[:-3].rstrip("/")
        problems.fail("ANTHROPIC_BASE_URL ends in /v1: Claude Code appends /v1/messages itself",
                      ["Requests would go to /v1/v1/messages and get 404."], f"{REF}#base-url-ends-in-v1",
                      set_env_fix("drop the trailing /v1", {"ANTHROPIC_BASE_URL": fixed}))
    elif path.strip("/"):
        problems.warn(f"ANTHROPIC_BASE_URL has a path ({path}); the proxy serves /v1 at its root", [],
                      f"{REF}#base-url-ends-in-v1", fix)
    if scheme == "https":
        problems.warn("ANTHROPIC_BASE_URL uses https; the local proxy speaks plain http", [],
                      f"{REF}#env-file-disagrees-with-config", fix)
    if host is None:
        problems.note("config.yaml could not be read, so host and port were not compared (see config.valid).")
        return
    if port is not None and url_port != port:
        problems.fail(f"ANTHROPIC_BASE_URL uses port {url_port} but config.yaml says {port}",
                      ["Claude Code would connect to a port where the proxy does not listen."],
                      f"{REF}#env-file-disagrees-with-config", fix)
    if binds_everywhere(host):
        if not is_loopback(url_host):
            problems.warn(f"ANTHROPIC_BASE_URL goes to {url_host}, not to this machine's loopback", [],
                          f"{REF}#env-file-disagrees-with-config", fix)
    elif bare_host(host) != url_host:
        if url_host == "localhost" and is_loopback(host):
            problems.warn(f"ANTHROPIC_BASE_URL says localhost; the proxy binds {host}",
                          ["localhost may resolve to ::1 first, where nothing listens: write the address."],
                          f"{REF}#env-file-disagrees-with-config", fix)
        elif not (host == "localhost" and is_loopback(url_host) and url_host in ("127.0.0.1",)):
            problems.fail(f"ANTHROPIC_BASE_URL goes to {url_host} but the proxy binds {host or 'every interface'}",
                          ["Connections would be refused."], f"{REF}#env-file-disagrees-with-config", fix)


def _check_token(ctx: StackContext, env, problems: Problems, evidence: dict, keys) -> None:
    token = env.get("ANTHROPIC_AUTH_TOKEN") or ""
    real = [k for k in (keys or []) if isinstance(k, str) and k and k not in PUBLIC_VALUES]
    evidence["token"] = (token if token in PUBLIC_VALUES else fingerprint(token)) if token else None
    copy_key = set_env_fix("copy config.yaml's key into ANTHROPIC_AUTH_TOKEN", {"ANTHROPIC_AUTH_TOKEN": "@config"})
    new_key = set_config_fix("make one new random key for config.yaml and the env file", {"api-keys": "@random"},
                             confirm=True)
    if not token:
        problems.fail("ANTHROPIC_AUTH_TOKEN is not set: the proxy rejects Claude Code's requests (401)", [],
                      f"{REF}#auth-token-not-accepted", copy_key if real else new_key)
        return
    if keys is None:
        return  # config unreadable or api-keys of the wrong type: config.valid / config.exposure say so
    if not keys:
        problems.note("config.yaml's api-keys is empty, so the proxy takes any token (see config.exposure).")
        return
    if token in keys:
        if token in PUBLIC_VALUES:
            problems.fail(f"ANTHROPIC_AUTH_TOKEN is the example key {token}: the proxy answers 403 in safe mode",
                          ["The config side is the one to change: it still holds the example keys."],
                          f"{REF}#example-api-keys-safe-mode", new_key)
        return
    shown_keys = [k if k in PUBLIC_VALUES else fingerprint(k) for k in keys if isinstance(k, str)]
    details = [f"The env file sends {evidence['token']}; config.yaml accepts {', '.join(shown_keys)}."]
    if real:
        details.append("The proxy enforces api-keys, so the env file is the side to change.")
        fix = copy_key
    else:
        details.append("config.yaml only has the example keys: the config is the side to change.")
        fix = new_key
    if token.startswith("sk-ant-"):
        details.append("The token looks like an Anthropic API key; the proxy needs its own local key instead.")
    problems.fail("ANTHROPIC_AUTH_TOKEN is not one of config.yaml's api-keys: every request gets 401",
                  details, f"{REF}#auth-token-not-accepted", fix)


def _check_api_key(ctx: StackContext, env, problems: Problems) -> None:
    in_file = env.get("ANTHROPIC_API_KEY")
    inherited = ctx.env.get("ANTHROPIC_API_KEY")
    blank = set_env_fix("blank ANTHROPIC_API_KEY in the env file", {"ANTHROPIC_API_KEY": ""})
    why = ["Claude Code then sends both an Authorization and an X-Api-Key header (\"Auth conflict\"): your "
           "Anthropic API key travels to the proxy with every request. CLIProxyAPI accepts the request while either "
           "key is valid, so it works, by accident."]
    if in_file:
        problems.warn("ANTHROPIC_API_KEY is set beside ANTHROPIC_AUTH_TOKEN", why, f"{REF}#api-key-beside-the-token",
                      blank)
    elif in_file is None and inherited:
        problems.warn("ANTHROPIC_API_KEY from your shell reaches Claude Code beside the token",
                      why + ["The wrapper keeps inherited variables; an empty ANTHROPIC_API_KEY= line in the env "
                             "file switches it off for claudex only."], f"{REF}#api-key-beside-the-token", blank)


@check("env.consistency", "Env file", needs=("paths.home",), after=("config.valid",),
       reference=f"{REF}#env-file-disagrees-with-config", fixes=("set-env", "set-config", "bootstrap"))
def env_consistency(ctx: StackContext):
    problem = env_file_problem(ctx)
    if problem:
        return problem
    env = ctx.env_file.data
    problems = Problems()
    evidence: dict = {"path": display(ctx.paths.env_file, ctx.paths.user_home)}
    if "\r" in (ctx.env_file.text or ""):
        problems.fail("the env file has Windows (CRLF) line endings: the shell keeps a \\r in every value",
                      ["ANTHROPIC_BASE_URL would end in \\r and the token would never match."],
                      f"{REF}#env-file-has-windows-line-endings",
                      Fix.manual("Convert it to Unix line endings", f"sed -i 's/\\r$//' {evidence['path']}"))
    host, port, keys = _config_view(ctx)
    _check_base_url(ctx, env, problems, evidence, host, port)
    _check_token(ctx, env, problems, evidence, keys)
    _check_api_key(ctx, env, problems)
    if env.notes:
        problems.warn(f"{len(env.notes)} line(s) of the env file are not plain assignments", env.notes[:8],
                      f"{REF}#env-file-lines-the-doctor-cannot-read")
    for name in _models.claude_env()["any_nonempty_enables"]:
        value = env.get(name)
        if value is not None and value.strip().lower() in ("0", "false", "no", "off"):
            problems.note(f"{name} is {value!r}, which still turns it on: Claude Code treats any non-empty value "
                          "as yes.")
    return problems.outcome(f"points at {evidence.get('base_url')} with a key config.yaml accepts", evidence)


# -- context window ------------------------------------------------------------

def parse_size(text: str, allow_suffix: bool = True) -> int | None:
    """'372000' / '372k' / '1m' -> tokens, as Claude Code reads CLAUDE_CODE_AUTO_COMPACT_WINDOW; None if unusable."""
    value = text.strip().lower().replace("_", "").replace(",", "")
    suffixes = _models.claude_env()["context_window"]["suffixes"]
    factor = 1
    if allow_suffix and value[-1:] in suffixes:
        factor, value = suffixes[value[-1]], value[:-1]
    if not re.fullmatch(r"\d+(\.\d+)?", value) or (factor == 1 and "." in value):
        return None
    tokens = round(float(value) * factor)
    return tokens if tokens >= 1 else None


def _window_settings(ctx: StackContext, env) -> list[tuple[str, str, str]]:
    """(variable, value, source) for each window variable set in the env file or inherited from the shell."""
    out = []
    for name in _models.claude_env()["context_window"]["window_variables"]:
        if env.get(name) is not None:
            if env.get(name).strip():
                out.append((name, env.get(name), "env file"))
        elif ctx.env.get(name, "").strip():
            out.append((name, ctx.env[name], "shell"))
    return out


def _smallest(mapped: list, facts):
    """(window Fact, alias, Mapped) of the smallest known window among the mapped models, or None."""
    sized = []
    for alias, m in mapped:
        model = facts.model(m.name) if not m.error else None
        if model is not None and model.window is not None:
            sized.append((model.window, alias, m))
    return min(sized, key=lambda s: s[0].value) if sized else None


@check("env.context_window", "Context window", needs=("paths.home",), after=("env.mapping",),
       reference=f"{CW}#claude-code-guesses-the-window", fixes=("set-env",))
def env_context_window(ctx: StackContext):
    if not ctx.env_file.ok:
        return skipped("the env file cannot be read (see env.consistency)", blocked_by=("env.consistency",))
    env = ctx.env_file.data
    knowledge = _models.claude_env()
    facts_cw = knowledge["context_window"]
    raw_plan, plan_source = stack.plan(ctx)
    facts = gather(ctx)
    plan = facts.plan
    now = ctx.now()
    mapped = [(alias, _models.parse(text)) for alias, text in stack.mapping(ctx).items()]
    known = {m.name: facts.model(m.name) for _, m in mapped if not m.error}
    unknown = [f"{alias}: {m.raw}" for alias, m in mapped if getattr(known.get(m.name), "window", None) is None]
    evidence: dict = {"plan": plan or raw_plan, "plan_source": plan_source, "unknown_models": unknown}
    low = _smallest(mapped, facts)
    if low is None:
        if not mapped:
            return skipped("no model is mapped in the env file (see env.mapping)", blocked_by=("env.mapping",))
        return warned("no source knows the window of any mapped model",
                      [f"Not listed with a window by the running proxy, Codex's models_cache.json or the snapshot of "
                       f"{_models.catalog()['as_of']}: {', '.join(unknown)}.",
                       "Look the window up and set CLAUDE_CODE_AUTO_COMPACT_WINDOW to the smallest."],
                      evidence, reference=f"{CW}#claude-code-guesses-the-window")
    fact, alias, model = low
    smallest = fact.value
    # With the plan unknown, a value that fits the default plan (what the proxy assumes) is only a warning.
    default_plan = _models.catalog()["default_plan"]
    high = smallest if plan else _smallest(mapped, dataclasses.replace(facts, plan=default_plan))[0].value
    evidence.update({"smallest_window": smallest, "smallest_for": f"{alias}: {model.raw}",
                     **fact.source.evidence(now)})
    claimed = getattr(known.get(model.name), "claimed_window", None)
    if claimed is not None:
        evidence["claimed_window"] = {"value": claimed.value, **claimed.source.evidence(now)}
    recommended = facts_cw["recommended_variable"]
    which = (f"{smallest:,} tokens ({alias} -> {model.name}, {'plan ' + plan if plan else 'plan unknown'}) "
             f"per {fact.source.words()}")
    problems = Problems()
    if claimed is not None:
        problems.note(f"{claimed.source.words().capitalize()} says {claimed.value:,} for {model.name}; "
                      f"Codex caps it at {smallest:,}, and the smaller one is used.")
    if plan is None:
        problems.note("The ChatGPT plan is unknown, so the smallest window any plan gets was used "
                      f"(on {default_plan} it is {high:,}).")
    if unknown:
        problems.note(f"Windows no source knows were left out: {', '.join(unknown)}.")
    settings = _window_settings(ctx, env)
    evidence["settings"] = {name: f"{value} ({source})" for name, value, source in settings}
    set_fix = set_env_fix(f"tell Claude Code the real window: {recommended} {smallest}", {recommended: str(smallest)})
    effective = []
    for name, value, source in settings:
        size = parse_size(value, allow_suffix=name == recommended)
        fix_this = set_env_fix(f"set {name} to {smallest}", {name: str(smallest)}) if source == "env file" else set_fix
        if size is None:
            problems.fail(f"{name} is {value!r}, not a token count: Claude Code ignores it",
                          [f"Set it to {smallest} (smallest mapped window: {which})."],
                          f"{CW}#window-setting-unreadable", fix_this)
            continue
        if name == recommended and size < facts_cw["auto_compact_minimum"]:
            problems.warn(f"{name} is {value}, under Claude Code's minimum; it is raised to "
                          f"{facts_cw['auto_compact_minimum']:,}", [], f"{CW}#window-setting-unreadable", fix_this)
            size = facts_cw["auto_compact_minimum"]
        effective.append(size)
        if size > smallest:
            why = ["Sessions grow past what the upstream accepts and fail with \"input exceeds the context window "
                   "of this model\"."]
            if size <= high:
                problems.warn(f"{name} is {value}: that fits only the {_models.catalog()['default_plan']} plan; "
                              f"the smallest mapped window on other plans is {which}",
                              why + ["Log in with `codex login` so the doctor can read the plan."],
                              f"{CW}#window-larger-than-the-model", fix_this)
            else:
                problems.fail(f"{name} is {value}, larger than the smallest mapped window, {which}", why,
                              f"{CW}#window-larger-than-the-model", fix_this)
        elif size < smallest // 2:
            problems.note(f"{name} is {value}: compaction starts at less than half of the real window "
                          f"({smallest:,}).")
        if source == "shell":
            problems.note(f"{name} comes from your shell, not from the env file: other shells may lack it.")
    if not settings:
        switch = str(env.get(facts_cw["disable_1m_variable"]) or ctx.env.get(facts_cw["disable_1m_variable"]) or "")
        assumed = facts_cw["with_disable_1m"] if switch.strip().lower() in knowledge["truthy_values"] \
            else facts_cw["unknown_model_assumption"]
        evidence["assumed_by_claude_code"] = assumed
        one_m = [a for a, m in mapped if m.one_m]
        if one_m:
            problems.note(f"{', '.join(one_m)} carries a [1m] suffix, which also tells Claude Code 1M tokens.")
        enforcement = facts_cw["enforcement_off_variable"]
        off = str(env.get(enforcement) or ctx.env.get(enforcement) or "").strip().lower() in knowledge["truthy_values"]
        evidence["unknown_model_window_enforced"] = not off
        if assumed > smallest:
            how = (f"{enforcement}=1 turns off the compaction within the assumed window, so Claude Code waits for "
                   "the upstream's error." if off else
                   "Claude Code compacts within the window it assumes for a model it does not know, which is "
                   "larger than the real one.")
            problems.warn(f"Claude Code assumes {assumed:,} tokens but the smallest mapped window is {which}",
                          [f"Set {recommended} to {smallest} (or CLAUDE_CODE_MAX_CONTEXT_TOKENS) in the env file.",
                           how, "Without it sessions grow until the upstream rejects them (\"input exceeds the "
                           "context window\")."], f"{CW}#claude-code-guesses-the-window", set_fix)
        else:
            problems.note(f"Claude Code assumes {assumed:,} tokens (CLAUDE_CODE_DISABLE_1M_CONTEXT), under the real "
                          f"window; setting {recommended} to {smallest} would use all of it.")
            return problems.outcome(f"Claude Code assumes {assumed:,} tokens, within {which}", evidence)
    limit = min(effective) if effective else None
    return problems.outcome(f"Claude Code compacts within {limit:,} tokens; smallest mapped window {which}"
                            if limit else f"smallest mapped window {which}", evidence)

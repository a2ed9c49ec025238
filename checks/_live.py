"""From a failed probe `Reply` to a finding: one diagnosis per failure mode, shared by proxy.* and probe.*.

Each branch names the failure in the user's terms, says which side is wrong, and
links its own heading in references/probes.md. Nothing here sends a request or
writes anything; secrets only ever appear as fingerprints.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from claudex_doctor.base.redact import fingerprint
from claudex_doctor.checks._state import MAX_RESET, later
from claudex_doctor.config import facts as stack
from claudex_doctor.core.model import Fix, Outcome, failed, skipped, warned
from claudex_doctor.proxy.client import Failure

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/probes.md"
RESTART = Fix.safe("restart", "Restart the proxy from this home")
SYNC = Fix.safe("sync-auth", "Copy the newest Codex login into the proxy credential")
SAFE_MODE_FIX = Fix.manual("Replace the template api-keys in config.yaml with one random key, set the env file's "
                           "ANTHROPIC_AUTH_TOKEN to it, then restart the proxy",
                           "claudex-doctor --fix --dry-run  # shows the config and env edits")
RELOGIN = Fix.manual("Log in to Codex again, then copy the login to the proxy",
                     "codex login && claudex-doctor sync-auth")


def ref(anchor: str) -> str:
    return f"{REF}#{anchor}"


def where(reply) -> str:
    return f"{reply.method} {reply.url}"


def evidence(reply, **extra: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"request": where(reply)}
    if reply.status is not None:
        facts["status"] = reply.status
    if reply.first_byte_ms is not None:
        facts["first_byte_ms"] = reply.first_byte_ms
    facts["elapsed_ms"] = reply.elapsed_ms
    if reply.error:
        facts["error"] = reply.error
    if reply.text and not reply.ok:
        facts["body_excerpt"] = reply.excerpt()
    if reply.truncated:
        facts["body_truncated"] = True  # the body went past the probe's cap; what was read is judged
    facts.update(extra)
    return facts


def transport(reply, what: str, expected: float = 1.0) -> Outcome:
    """The request got no HTTP answer at all. `expected`: seconds within which a healthy answer starts."""
    ev = evidence(reply)
    if reply.error is Failure.NO_TIME:
        return skipped("not run: the run's deadline left no time for this request",
                       [f"Raise it with --deadline; {what} needs a live answer."], ev)
    if reply.error is Failure.REFUSED:
        return failed(f"connection refused at {reply.url} ({reply.elapsed_ms} ms): nothing listens there now",
                      ["The port was closed when this request was made: the proxy is not running, or it "
                       "exited after the port check ran."], ev, ref("connection-refused"), RESTART)
    if reply.error is Failure.CONNECT_TIMEOUT:
        return failed(f"no TCP connection to {reply.url} within {reply.detail.split('within ')[-1]}",
                      ["Something drops the connection attempt (a firewall rule, a wrong host in "
                       "ANTHROPIC_BASE_URL, or an overloaded machine)."], ev, ref("connection-refused"), RESTART)
    if reply.error is Failure.CONNECT:
        return failed(f"cannot connect to {reply.url}: {reply.detail}",
                      ["Check the host in ANTHROPIC_BASE_URL (the env file)."], ev, ref("connection-refused"))
    if reply.error is Failure.HANG and reply.budget < expected:
        return failed(f"no answer within {reply.budget:.1f}s, all the run's deadline left: the proxy hangs, "
                      "or the model is slower than that",
                      [f"{what} got no answer before the deadline. Run `claudex-doctor probe --deadline 60` to "
                       "tell a hang from a slow model."], ev, ref("proxy-hangs"), RESTART)
    if reply.error is Failure.HANG:
        return failed(f"the proxy accepted the connection but sent nothing in {reply.budget:.1f}s: it hangs",
                      [f"{what} got no answer before the run's deadline. A process that accepts and never "
                       "answers makes Claude Code wait until its own timeout (API_TIMEOUT_MS, 10 minutes)."],
                      ev, ref("proxy-hangs"), RESTART)
    if reply.error is Failure.STALLED:
        seen = ", ".join(reply.event_names[-4:]) if reply.events else f"HTTP {reply.status} headers"
        return failed(f"the answer started, then stalled: nothing more within {reply.budget:.1f}s (last: {seen})",
                      [f"{what} received part of an answer and then waited in vain."], ev, ref("proxy-hangs"),
                      RESTART)
    if reply.error is Failure.CLOSED:
        return failed(f"the connection closed without a complete answer: {reply.detail}",
                      ["The process on the port dropped the request mid-way: it crashed, or it is not an HTTP "
                       "server of the kind expected."], ev, ref("malformed-answer"), RESTART)
    return failed(f"the request failed: {reply.detail}", [], ev, ref("connection-refused"))


def _contains(text: str, *words: str) -> bool:
    low = text.lower()
    return any(w.lower() in low for w in words)


def _reset_seconds(reply) -> int | None:
    def find(value: Any) -> int | None:
        if isinstance(value, dict):
            for key in ("resets_in_seconds", "reset_after_seconds"):
                number = value.get(key)
                if isinstance(number, (int, float)) and not isinstance(number, bool) and 0 <= number <= MAX_RESET:
                    return int(number)
            for item in value.values():
                found = find(item)
                if found is not None:
                    return found
        return None

    found = find(reply.data)
    if found is None:
        for _, payload in reply.events:
            found = find(payload) if found is None else found
    for header in ("x-codex-primary-reset-after-seconds", "retry-after"):
        value = reply.headers.get(header, "").strip()
        if found is None and value.isdigit() and len(value) <= 12:
            found = int(value)
    return found


_LOGGED_RESET = re.compile(r"usage_limit_reached.*?\"resets_in_seconds\":\s*(\d{1,12})\b")


def _reset_from_log(ctx: StackContext):
    """When the quota resets, from the newest usage_limit_reached line in the proxy log: CLIProxyAPI
    logs the upstream body (with resets_in_seconds) but gives the client only the message. Read once a run."""
    return ctx.memo("live:reset_from_log", lambda: _logged_reset(ctx))


def _logged_reset(ctx: StackContext):
    from claudex_doctor.checks.logs import log_sources, read_tail
    from claudex_doctor.service.proxylog import stamp

    for path in log_sources(ctx):
        try:
            text, _ = read_tail(path, 64 * 1024)
        except OSError:
            continue
        for line in reversed(text.splitlines()):
            match = _LOGGED_RESET.search(line)
            at = stamp(line) if match else None
            if match is not None and at is not None:
                return later(at, int(match.group(1)))
    return None


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{round(hours / 24)} days"


def _key_side(ctx: StackContext, reply, message: str) -> Outcome:
    """401 from the proxy itself: which side holds the wrong key, shown by fingerprints."""
    env_token = stack.env_values(ctx).get("ANTHROPIC_AUTH_TOKEN") or None
    keys = stack.api_keys(ctx)
    sent = stack.local_key(ctx)
    ev = evidence(reply, sent_key=fingerprint(sent) if sent else None,
                  env_token=fingerprint(env_token) if env_token else None,
                  config_api_keys=[fingerprint(k) for k in keys])
    listed = ", ".join(fingerprint(k) for k in keys) or "none"
    if "missing" in message.lower() or not sent:
        if not keys:
            return failed("401 Missing API key: the running proxy wants a key, but neither the env file "
                          "(ANTHROPIC_AUTH_TOKEN) nor config.yaml (api-keys) has one",
                          ["The proxy on the port was started with api-keys that config.yaml no longer has; "
                           "restart it so both sides agree, and set ANTHROPIC_AUTH_TOKEN to the same key."],
                          ev, ref("invalid-or-missing-api-key"), RESTART)
        return failed("401 Missing API key: the env file sets no ANTHROPIC_AUTH_TOKEN, so Claude Code sends no key",
                      [f"config.yaml's api-keys: {listed}."], ev, ref("invalid-or-missing-api-key"),
                      Fix.safe("set-env", "Set ANTHROPIC_AUTH_TOKEN to config.yaml's first api key",
                               command="claudex-doctor set-env ANTHROPIC_AUTH_TOKEN=<config.yaml api key>",
                               assignments={"ANTHROPIC_AUTH_TOKEN": keys[0]}))
    if env_token and keys and env_token not in keys:
        return failed(f"401 Invalid API key: the env file's ANTHROPIC_AUTH_TOKEN ({fingerprint(env_token)}) "
                      "is not one of config.yaml's api-keys: the env file is the wrong side",
                      [f"config.yaml's api-keys: {listed}. Claude Code sends the env file's token."],
                      ev, ref("invalid-or-missing-api-key"),
                      Fix.safe("set-env", "Set ANTHROPIC_AUTH_TOKEN to config.yaml's first api key",
                               command="claudex-doctor set-env ANTHROPIC_AUTH_TOKEN=<config.yaml api key>",
                               assignments={"ANTHROPIC_AUTH_TOKEN": keys[0]}))
    source = "the env file's ANTHROPIC_AUTH_TOKEN" if env_token else "config.yaml's first api key"
    return failed(f"401 Invalid API key: {source} ({fingerprint(sent)}) is in config.yaml, but the running "
                  "proxy rejects it: it runs with another config",
                  ["The process on the port was started before api-keys changed, or from another home. "
                   "Restart it from this home."], ev, ref("invalid-or-missing-api-key"), RESTART)


def http_failure(ctx: StackContext, reply, what: str, status: int | None = None) -> Outcome:
    """An HTTP answer that is an error (or not the JSON expected): name the failure mode.

    `status` overrides the reply's (an error event inside a 200 stream is a failure all the same)."""
    status = status or reply.status or 0
    message = reply.error_message()
    etype = reply.error_type()
    text = f"{etype} {message} {reply.text[:4000]}"
    shown = message or reply.excerpt() or f"HTTP {status}"
    ev = evidence(reply)
    if status == 401 and message in ("Missing API key", "Invalid API key"):
        return _key_side(ctx, reply, message)
    if _contains(text, "unsafe_example_api_key") or reply.headers.get("x-cpa-safe-mode"):
        return failed("403 unsafe_example_api_key: the proxy is in safe mode because config.yaml's api-keys are "
                      "the template values (your-api-key-N)",
                      ["Every /v1 request is refused until api-keys holds a real random key."], ev,
                      ref("safe-mode-template-api-keys"),
                      SAFE_MODE_FIX)
    if status == 429 and _contains(text, "cooling down", "model_cooldown"):
        judged = _cooldown(ctx, reply, ev)
        if judged is not None:
            return judged
    if status == 429 or _contains(text, "usage_limit_reached", "usage limit"):
        seconds = _reset_seconds(reply)
        when = ""
        at = later(ctx.now(), seconds) if seconds is not None else _reset_from_log(ctx)
        if at is not None:
            left = max(0, int((at - ctx.now()).total_seconds()))
            when = f"; it resets in {_duration(left)} (around {at.astimezone():%Y-%m-%d %H:%M %Z})"
            ev["resets_in_seconds"] = left
            if seconds is None:
                ev["reset_from"] = "the proxy log (the client's error carries no reset time)"
        plan = reply.headers.get("x-codex-plan-type")
        if plan:
            ev["plan"] = plan
        kind = "usage_limit_reached" if _contains(text, "usage_limit_reached", "usage limit") else "rate limited"
        return failed(f"429 {kind}: the ChatGPT plan's Codex quota is used up{when}",
                      ["This is the plan's 5-hour or weekly limit, not a proxy fault. Requests work again "
                       "after the reset."], ev, ref("usage-limit-reached"),
                      Fix.manual("Wait for the reset (or use a plan with more Codex quota)", "claudex-doctor probe"))
    if _contains(text, "not supported when using codex with a chatgpt account", "model_not_found",
                 "unknown provider for model", "model is not supported"):
        model = reply_model(reply)
        offered = ctx.published("offered_models")
        if _contains(text, "unknown provider for model") and offered == []:
            return failed(f"400 unknown provider for model {model}: the proxy has no usable Codex credential loaded",
                          ["GET /v1/models offers no model at all, so every model is unknown to it: the auth "
                           "directory holds no valid codex credential."], ev, ref("no-credential-loaded"), SYNC)
        return failed(f"400 model {model} is not served: {shown}",
                      ["The model is not offered to this ChatGPT plan, is retired, or is written in a form "
                       "the proxy does not route (old `-high` names, a claude-* name)."], ev,
                      ref("model-not-supported"),
                      Fix.manual("Map the aliases to models the proxy offers", "claudex-doctor --only env.mapping"))
    if _contains(text, "auth_unavailable", "no auth available", "auth_not_found"):
        judged = _unavailable(ctx, reply, ev, status)
        if judged is not None:
            return judged
        return failed(f"{status} auth_unavailable: the proxy has no usable Codex credential right now",
                      ["Every credential is missing, disabled, or benched after 401/429/5xx answers; the proxy "
                       "log names none that the doctor could tie to this model."],
                      ev, ref("auth-unavailable"), _login_fix(ctx))
    if _contains(text, "refresh_token_reused", "token_expired", "token_invalidated", "refresh_token_expired",
                 "refresh_token_invalidated") or (status == 401 and message):
        return failed(f"{status}: the ChatGPT login was rejected upstream: {shown}",
                      ["The proxy's OAuth tokens are expired, revoked, or were used up by another refresher."],
                      ev, ref("token-expired-or-invalidated"), RELOGIN)
    if _contains(text, "unsupported_country_region_territory"):
        return failed(f"{status}: chatgpt.com refuses this region: {shown}", [], ev, ref("upstream-unreachable"))
    if status >= 500 and _contains(text, "dial tcp", "no such host", "i/o timeout", "connection refused",
                                   "tls handshake", "connection reset", "EOF"):
        return failed(f"{status}: the proxy cannot reach chatgpt.com: {shown}",
                      ["The proxy answers, but its upstream request failed: DNS, firewall, or proxy-url."],
                      ev, ref("upstream-unreachable"),
                      Fix.manual("Check this machine's route to chatgpt.com (or set proxy-url in config.yaml)",
                                 "curl -sI https://chatgpt.com"))
    if _contains(text, "unknown parameter", "unsupported parameter"):
        return failed(f"{status}: the upstream rejected a request field: {shown}",
                      ["A newer Claude Code sends fields this proxy version does not translate."], ev,
                      ref("unsupported-parameter"),
                      Fix.confirm("bootstrap", "Install the current CLIProxyAPI build", command="claudex-doctor bootstrap --force"))
    if _contains(text, "exceeds the context window", "context_length_exceeded"):
        return failed(f"{status}: {shown}", [], ev, ref("context-window-exceeded"))
    if status == 404:
        doubled = "/v1/v1/" in reply.url
        return failed(f"{what}: HTTP 404, no such route at {reply.url}",
                      ["ANTHROPIC_BASE_URL ends in /v1, but Claude Code appends /v1/messages itself: drop the "
                       "trailing /v1." if doubled else
                       "The server on the port does not serve this route: an old proxy, a path in "
                       "ANTHROPIC_BASE_URL, or a server that is not CLIProxyAPI."], ev,
                      ref("request-rejected"),
                      Fix.safe("set-env", "Drop the trailing /v1 from ANTHROPIC_BASE_URL",
                               command=f"claudex-doctor set-env ANTHROPIC_BASE_URL={reply.url.split('/v1/v1/')[0]}",
                               assignments={"ANTHROPIC_BASE_URL": reply.url.split("/v1/v1/")[0]}) if doubled else None)
    if 200 <= status < 300:
        kind = reply.content_type or "no content type"
        return failed(f"{what} answered HTTP {status} with {kind}, not the JSON an Anthropic client expects",
                      [f"Body starts: {reply.excerpt(120)!r}" if reply.text else "The body was empty."], ev,
                      ref("malformed-answer"))
    return failed(f"{what} was refused: HTTP {status}: {shown}", [], ev, ref("request-rejected"))


# -- state inside the proxy: stale benches versus real limits (see checks/_state.py) ----------

STATE = "references/proxy-state.md"
RESTART_STALE = Fix.safe("restart", "Restart the proxy: its cooldowns and suspensions live in memory and go with it")
RELOGIN_SPENT = Fix.manual("Log in to Codex again (a new token pair), then copy it to the proxy; sync-auth alone "
                           "would copy the same spent token", "codex login && claudex-doctor sync-auth")


def _login_fix(ctx: StackContext) -> Fix:
    """sync-auth only when it changes something: Codex holds a newer login than the proxy."""
    from claudex_doctor.auth import credentials as codexauth
    from claudex_doctor.checks._credentials import codex_state, proxy_state

    codex, proxy = codex_state(ctx), proxy_state(ctx)
    if codex.ok and codex.tokens is not None:
        if not proxy.ok or proxy.tokens is None or codexauth.compare(codex.tokens, proxy.tokens).newer == "codex":
            return SYNC
    return RELOGIN


def _manage_hint(ctx: StackContext) -> str:
    from claudex_doctor.checks._state import management_key

    if management_key(ctx):
        return ("Without a restart: POST /v0/management/reset-quota {\"auth_index\": ...} (index from GET "
                "/v0/management/auth-files) with MANAGEMENT_PASSWORD as the bearer.")
    return "The proxy's own reset (POST /v0/management/reset-quota) needs MANAGEMENT_PASSWORD; a restart does the same."


def _asked_facts(ev: dict, err, asked) -> None:
    if err is not None:
        ev["last_upstream_error"] = {"model": err.model, "at": err.when, "kind": err.kind, "said": err.quoted}
    if asked is not None:
        ev["asked_other_model"] = {"model": asked.model, "status": asked.status, "answered": asked.answered}


def _cooldown(ctx: StackContext, reply, ev: dict) -> Outcome | None:
    """429 "All credentials for model X are cooling down": the quota is used up, or the cooldown is stale."""
    from claudex_doctor.checks._state import ask_sibling, benched_model, history

    model = benched_model(reply) or "?"
    errors, _ = history(ctx)
    err = errors.get(model)
    reset = err.reset_at() if err is not None and err.kind == "quota" else None
    reset = reset or _reset_from_log(ctx)
    now = ctx.now()
    reset_passed = reset is not None and reset <= now
    asked = None if reset_passed else ask_sibling(ctx, model)  # a passed reset decides alone: no quota spent
    _asked_facts(ev, err, asked)
    said = f"chatgpt.com said at {err.when}: \"{err.quoted}\"" if err is not None else \
        "The upstream error that started it is not in the readable log."
    if reset is not None:
        ev["upstream_reset_at"] = reset.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    if (asked is not None and asked.answered) or reset_passed:
        why = []
        if reset_passed:
            why.append(f"the reset time passed ({reset.astimezone():%H:%M})")
        if asked is not None and asked.answered:
            why.append(f"the upstream answers again ({asked.model} answered just now)")
        return failed(f"stale cooldown: {' and '.join(why)}, yet the proxy still refuses {model} from memory "
                      "(\"All credentials for model " + model + " are cooling down\"); a restart clears it",
                      [said, "CLIProxyAPI benches a model after a 429 until the reset the upstream named and never "
                       "asks again before that; a quota that came back early stays blocked.", _manage_hint(ctx)],
                      ev, f"{STATE}#stale-cooldown", RESTART_STALE)
    if asked is not None and asked.status == 429:
        left = f"; it resets at {reset.astimezone():%H:%M} (in {_duration(max(0, int((reset - now).total_seconds())))})" \
            if reset is not None else ""
        return failed(f"429: quota used up: the ChatGPT plan's Codex quota is spent{left}; {asked.model} is refused "
                      "too", [said, "The proxy's cooldown matches the real limit: nothing to repair, wait for the "
                              "reset."], ev, ref("usage-limit-reached"),
                      Fix.manual("Wait for the reset (or use a plan with more Codex quota)", "claudex-doctor probe"))
    return None


def _unavailable(ctx: StackContext, reply, ev: dict, status: int) -> Outcome | None:
    """503 auth_unavailable for one model: a spent login, a suspension whose cause is gone, or a real one."""
    from claudex_doctor.checks._state import ask_sibling, benched_model, history, plan_serves

    model = benched_model(reply) or "?"
    errors, _ = history(ctx)
    spent = _spent_login(ctx, ev)
    if spent is not None:
        return spent
    err = errors.get(model)
    if ctx.published("offered_models") == [] and err is None:
        return None  # no credential loaded at all: proxy.models says so
    refused = err is not None and err.kind == "model_not_supported"
    serves = plan_serves(ctx, model) if refused else None
    # A model the plan lacks is decided by the catalog alone: no other model is asked (no quota spent).
    asked = None if refused and serves is False else ask_sibling(ctx, model)
    _asked_facts(ev, err, asked)
    works = asked is not None and asked.answered
    other = asked.model if asked is not None else "another model"
    cause = f"after chatgpt.com said at {err.when}: \"{err.quoted}\"" if err is not None else \
        "(its cause is not in the readable log)"
    if err is not None and refused:
        raw_plan, _ = stack.plan(ctx)
        if serves is False:
            return failed(f"{status}: {model} is not in the {raw_plan} plan: chatgpt.com refused it at {err.when} "
                          "and the proxy suspended it for 12 h",
                          [f"\"{err.quoted}\"", "Not a stale state: map the alias to a model the plan includes."],
                          ev, "references/models.md#model-not-offered-to-your-plan",
                          Fix.manual("Map the aliases to models your plan includes", "claudex-doctor --only env.mapping"))
        if serves and works:
            return failed(f"{status}: suspended model: the proxy benched {model} {cause}, but your {raw_plan} plan "
                          f"includes it and the login works ({other} answered just now); a restart clears it",
                          ["CLIProxyAPI suspends a model for 12 h after a model_not_supported answer and drops it "
                           "from /v1/models; it does not ask again before that.", _manage_hint(ctx)],
                          ev, f"{STATE}#model-suspended-by-the-proxy", RESTART_STALE)
        return None
    if works:
        what = {"unauthorized": "a 401", "transient": "a transient upstream error",
                "quota": "a 429"}.get(err.kind if err is not None else "", "an earlier error")
        anchor = "credential-benched-after-a-transient-error" if err is not None and err.kind == "transient" \
            else "model-suspended-by-the-proxy"
        return failed(f"{status}: suspended model: the proxy benched {model} after {what} {cause}; the login works "
                      f"again ({other} answered just now), so the suspension is stale; a restart clears it",
                      ["CLIProxyAPI benches one model of a credential after an upstream error (30 min after a 401, "
                       "60 s after a 5xx) and answers for itself until then.", _manage_hint(ctx)],
                      ev, f"{STATE}#{anchor}", RESTART_STALE)
    if asked is not None and asked.status == 401:
        return failed(f"{asked.status}: the ChatGPT login is rejected upstream: {model} is suspended {cause}, and "
                      f"{asked.model} is refused too ({asked.said})", [], ev, ref("token-expired-or-invalidated"),
                      _login_fix(ctx))
    return None


def _spent_login(ctx: StackContext, ev: dict) -> Outcome | None:
    """The proxy's refresh failed with refresh_token_reused after its credential last changed."""
    from claudex_doctor.auth import credentials as codexauth
    from claudex_doctor.checks._credentials import codex_state, proxy_state
    from claudex_doctor.checks._state import reused_since

    reused_at = reused_since(ctx, ctx.paths.proxy_auth)
    if reused_at is None:
        return None
    ev["refresh_token_reused_at"] = reused_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    codex, proxy = codex_state(ctx), proxy_state(ctx)
    when = f"{reused_at.astimezone():%H:%M:%S}"
    if codex.ok and codex.tokens is not None and proxy.ok and proxy.tokens is not None:
        cmp = codexauth.compare(codex.tokens, proxy.tokens)
        if cmp.newer == "codex":
            return failed(f"503 auth_unavailable: the proxy's login is spent (refresh_token_reused at {when}), and "
                          "Codex holds a newer one: sync-auth copies it, and the proxy reloads the file",
                          [], ev, ref("refresh-token-reused"), SYNC)
        if cmp.newer == "same" or cmp.same_refresh_token:
            return failed(f"503 auth_unavailable: the proxy's refresh token was already used (refresh_token_reused "
                          f"at {when}), and Codex holds the same spent token: nothing to copy",
                          ["A third refresher (Codex elsewhere, another gateway, a restored copy) used the token "
                           "both files share. Only a new login mints a new one; sync-auth alone changes nothing."],
                          ev, "references/auth.md#spent-refresh-token-on-both-sides", RELOGIN_SPENT)
    return failed(f"503 auth_unavailable: the proxy's login is spent (refresh_token_reused at {when})", [], ev,
                  ref("refresh-token-reused"), RELOGIN_SPENT)


def reply_model(reply) -> str:
    match = re.search(r"(?:for model|The ')\s*'?([\w.\-()\[\]]+)", reply.error_message() or reply.text)
    return match.group(1).rstrip("'") if match else "?"


def slow(reply, threshold: float, what: str, outcome: Outcome) -> Outcome:
    """Turn a pass into a warning when the first byte came very late."""
    if reply.first_byte_ms is None or reply.first_byte_ms < threshold * 1000:
        return outcome
    return warned(f"{outcome.summary}, but the first byte took {reply.first_byte_ms / 1000:.1f}s "
                  f"(slow; expected under {threshold:g}s)",
                  [f"{what} is very slow to start answering; Claude Code will feel stuck."],
                  {**outcome.evidence, "slow_threshold_s": threshold}, ref("slow-first-byte"), RESTART)

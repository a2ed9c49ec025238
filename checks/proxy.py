"""The running proxy answers like CLIProxyAPI and offers the mapped models.

proxy.health -- GET (and HEAD) /healthz answer {"status":"ok"} and GET / says "CLI Proxy API Server".
    What it checks: something on the gateway port answers HTTP, it is CLIProxyAPI (not a LiteLLM
    server or another program), it is not in safe mode (template api-keys), and it answers fast.
    Why it matters: every other live check, and Claude Code itself, goes through this process.
    Fix safety: `restart` (safe: it only ever stops the proxy this home started). Safe mode is
    repaired in config.yaml (see config.exposure); a foreign server is left to the user.
proxy.models -- GET /v1/models with the local key, OpenAI format (real ids, not the disguised
    ones Anthropic-style clients see): the base names of the mapped models are offered. A second
    GET with `anthropic-version` reads each model's window (max_input_tokens) and output limit.
    Why it matters: a model the proxy does not offer fails every request Claude Code makes with
    it. The live list is published as `offered_models`, the windows as `live_models`, for
    env.mapping and env.context_window, which trust them over the dated snapshot.
    Fix safety: `set-env` (safe) to a catalog replacement the proxy offers; `sync-auth` (safe)
    when no model is offered at all (no usable credential loaded).
Both run with --offline: they are answered by the proxy itself and spend no Codex quota.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claudex_doctor.checks._knowledge import LIVE_KEY
from claudex_doctor.checks._live import SAFE_MODE_FIX, SYNC, evidence, http_failure, ref, slow, transport
from claudex_doctor.checks._state import SUSPENDED_REF, suspended
from claudex_doctor.config import facts as stack
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed
from claudex_doctor.knowledge import models
from claudex_doctor.proxy.client import LOCAL_CAP, SLOW_LOCAL, client

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

HEALTH_CAP = 5.0


def _litellm_hint(reply) -> str:
    marks = reply.text.lower()
    if "litellm" in marks or any(h.startswith("x-litellm") for h in reply.headers) or \
            (reply.data == {"detail": "Not Found"}):
        return " It looks like LiteLLM (FastAPI-style answers): see `claudex-doctor explain litellm`."
    return ""


def _not_cliproxy(reply, why: str):
    hint = _litellm_hint(reply)
    return failed(f"the server on {reply.url.rsplit('/', 1)[0]} is not CLIProxyAPI: {why}",
                  ["CLIProxyAPI answers GET /healthz with {\"status\":\"ok\"} and GET / with "
                   "\"CLI Proxy API Server\"." + hint], evidence(reply), ref("not-cliproxyapi"),
                  Fix.manual("Find out what listens on the port and stop it, then start the proxy",
                             "claudex-doctor status"))


@check("proxy.health", "Proxy health", needs=("port.owner",), timeout=None,
       reference="references/probes.md#health-check-fails", fixes=("restart",))
def proxy_health(ctx: StackContext):
    probe = client(ctx)
    health = probe.get("/healthz", root=True, auth=False, cap=HEALTH_CAP)
    if health.error:
        return transport(health, "GET /healthz")
    if health.status == 404:
        return _not_cliproxy(health, "GET /healthz answers 404")
    if health.status != 200 or not isinstance(health.data, dict) or health.data.get("status") != "ok":
        shown = health.excerpt(80) or "an empty body"
        return _not_cliproxy(health, f"GET /healthz answers HTTP {health.status} with {shown!r}")
    head = probe.head("/healthz", cap=HEALTH_CAP)
    if head.error:
        return transport(head, "HEAD /healthz")
    if head.status != 200:
        return _not_cliproxy(head, f"HEAD /healthz answers HTTP {head.status} (CLIProxyAPI answers 200)")
    root = probe.get("/", root=True, auth=False, cap=HEALTH_CAP)
    if root.error:
        return transport(root, "GET /")
    if root.content_type == "text/html" and ("api-keys" in root.text or "Example API key" in root.text):
        return failed("the proxy is in safe mode: config.yaml's api-keys are the template values (your-api-key-N)",
                      ["GET / shows the \"Example API key detected\" page and every /v1 request gets 403 "
                       "unsafe_example_api_key, so Claude Code cannot work."],
                      evidence(root), ref("safe-mode-template-api-keys"), SAFE_MODE_FIX)
    if not isinstance(root.data, dict) or root.data.get("message") != "CLI Proxy API Server":
        shown = root.excerpt(80) or "an empty body"
        return _not_cliproxy(root, f"GET / answers HTTP {root.status} {root.content_type or ''} {shown!r}".replace("  ", " "))
    outcome = passed(f"CLIProxyAPI answers at {probe.origin} ({health.first_byte_ms} ms)",
                     evidence=evidence(health, url=probe.origin))
    return slow(health, SLOW_LOCAL, "GET /healthz", outcome)


@check("proxy.models", "Offered models", needs=("proxy.health",), after=("env.consistency",), timeout=None,
       reference="references/probes.md#mapped-model-not-offered", fixes=("set-env", "sync-auth"))
def proxy_models(ctx: StackContext):
    reply = client(ctx).get("/v1/models", cap=LOCAL_CAP)
    if reply.error:
        return transport(reply, "GET /v1/models")
    if reply.status != 200:
        return http_failure(ctx, reply, "GET /v1/models")
    data = reply.data.get("data") if isinstance(reply.data, dict) else None
    if not isinstance(data, list):
        return failed("GET /v1/models did not answer an OpenAI model list",
                      [f"Body starts: {reply.excerpt(120)!r}"], evidence(reply), ref("malformed-answer"))
    offered = [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
    ctx.publish("offered_models", offered)
    if offered:
        # The Anthropic dialect (what Claude Code sees) carries each model's window: the live facts
        # env.mapping and env.context_window prefer over the snapshot. Its ids are disguised.
        windows = client(ctx).get("/v1/models", cap=LOCAL_CAP, anthropic=True)
        listed = windows.data.get("data") if windows.status == 200 and isinstance(windows.data, dict) else None
        ctx.publish(LIVE_KEY, models.live_list(data, listed, ctx.now().isoformat(timespec="seconds")))
    if not offered:
        return failed("the proxy offers no models: it has no usable Codex credential loaded",
                      ["With a valid codex credential in its auth directory, CLIProxyAPI lists the plan's "
                       "models here; an empty list means every request will fail with "
                       "'unknown provider for model'."], evidence(reply, offered=[]), ref("no-credential-loaded"),
                      SYNC)
    mapping = stack.mapping(ctx)
    ev = evidence(reply, offered=offered, mapping=mapping)
    missing = {alias: model for alias, model in mapping.items() if not models.offers(offered, model)}
    if not mapping:
        return passed(f"{len(offered)} models offered (the env file maps no model to compare)", evidence=ev)
    if not missing:
        bases = sorted({models.base_name(m) for m in mapping.values()})
        return slow(reply, SLOW_LOCAL, "GET /v1/models",
                    passed(f"the mapped models are offered: {', '.join(bases)} ({len(offered)} in all)", evidence=ev))
    suspended = _suspended(ctx, missing)
    if suspended is not None:
        return failed(suspended[0], suspended[1], ev, SUSPENDED_REF,
                      Fix.safe("restart", "Restart the proxy: its suspensions live in memory and go with it"))
    lines = [f"{alias} -> {model}: not offered" for alias, model in missing.items()]
    assignments = {}
    for alias, model in missing.items():
        better = models.replacement(model, offered)
        if better:
            assignments[stack.ALIASES[alias]] = better
            lines.append(f"  {stack.ALIASES[alias]}={better} is the catalog's replacement, and it is offered")
    lines.append("Offered: " + ", ".join(offered))
    names = ", ".join(sorted({models.base_name(m) for m in missing.values()}))
    fix = Fix.safe("set-env", "Map the aliases to offered replacement models",
                   command="claudex-doctor set-env " + " ".join(f"{k}='{v}'" for k, v in assignments.items()),
                   assignments=assignments) if len(assignments) == len(missing) else \
        Fix.manual("Map each alias to a model the proxy lists", "claudex-doctor set-env ANTHROPIC_DEFAULT_<ALIAS>_MODEL=...")
    return failed(f"the proxy does not offer {names} (mapped as {', '.join(missing)})", lines, ev,
                  ref("mapped-model-not-offered"), fix)


def _suspended(ctx: StackContext, missing: dict[str, str]) -> tuple[str, list[str]] | None:
    """A mapped model missing because the proxy suspended it (see _state.suspended), in words."""
    found = suspended(ctx, missing.values())
    if found is None:
        return None
    names = ", ".join(e.model for e in found)
    first = found[0]
    return (f"the proxy has suspended {names} after an upstream error ({first.when}: \"{first.quoted}\"), so "
            "/v1/models leaves it out; the plan includes it, and a restart clears the suspension",
            ["CLIProxyAPI drops a model it benched (after a 401, a 404, a 5xx or model_not_supported) from "
             "/v1/models until the bench ends: 30 min to 12 h. This is state in the proxy, not the plan: do not "
             "remap. If the model is still refused after the restart, the probe says so with chatgpt.com's words."])

"""Credential facts shared by the auth.* checks, computed once per run through `ctx.memo`.

Other checks may use them too (e.g. the plan or account behind the login): `codex_state(ctx)` and
`proxy_state(ctx)` give the parsed `claudex_doctor.auth.credentials` views of the two files, `storage(ctx)`
Codex's credential store, and `login_status(ctx)` what `codex login status` says (bounded, run
with the doctor's own CODEX_HOME, never when that directory is missing). All read-only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from claudex_doctor.auth import credentials as codexauth
from claudex_doctor.checks.binaries import codex_native

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext


def storage(ctx: StackContext) -> codexauth.Storage:
    return ctx.memo("codex_storage", lambda: codexauth.storage_mode(ctx.paths.codex_config))


def codex_state(ctx: StackContext) -> codexauth.CodexAuth:
    return ctx.memo("codexauth.codex", lambda: codexauth.read_codex(ctx.codex_auth))


def proxy_state(ctx: StackContext) -> codexauth.ProxyAuth:
    return ctx.memo("codexauth.proxy", lambda: codexauth.read_proxy(ctx.proxy_auth))


STATUS_PATTERNS = (
    ("chatgpt", re.compile(r"Logged in using ChatGPT", re.I)),
    ("api_key", re.compile(r"Logged in using an API key|API key configured", re.I)),
    ("not_logged_in", re.compile(r"Not logged in", re.I)),
    ("error", re.compile(r"Error checking login status", re.I)),
)


def parse_login_status(text: str) -> str:
    """`codex login status` output -> chatgpt | api_key | not_logged_in | error | unknown."""
    for state, pattern in STATUS_PATTERNS:
        if pattern.search(text):
            return state
    return "unknown"


def login_status(ctx: StackContext) -> tuple[str, str] | None:
    """(state, first line) from `codex login status`, run with the doctor's CODEX_HOME; None if not run."""
    def compute():
        codex = ctx.which("codex")
        if codex is None or not ctx.paths.codex_home.is_dir():
            return None  # codex refuses a CODEX_HOME that does not exist; nothing to ask
        env = dict(ctx.env)
        env["CODEX_HOME"] = str(ctx.paths.codex_home)
        program = codex
        native = codex_native(codex)  # the binary npm's launcher would exec, without its Node start-up
        if native is not None:
            program, extra = native
            env.update(extra)
        # Leave the check time to report when codex hangs: finish before the run's deadline does.
        budget = min(4.0, max(0.2, ctx.remaining() - 0.5))
        proc = ctx.run([str(program), "login", "status"], timeout=budget, env=env)
        if proc.error:
            return "unknown", f"codex login status: {proc.error}"
        lines = [line.strip() for line in proc.output.splitlines()
                 if line.strip() and not line.startswith("WARNING:")]
        state = parse_login_status(proc.output)
        shown = next((line for line in lines if parse_login_status(line) == state), lines[0] if lines else "")
        return state, shown[:200]
    return ctx.memo("codex_login_status", compute)

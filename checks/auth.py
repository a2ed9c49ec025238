"""Credentials: the Codex CLI's auth.json, the proxy's codex-current.json, and whether they agree.

auth.codex
    What it checks: $CODEX_HOME/auth.json exists (or Codex keeps its login in the keyring, where a
    missing file is normal); it is a ChatGPT login, not an API key; the JWTs' expiry, plan and
    account; last_refresh; and that `codex login status` (when codex is installed) agrees.
    It is private: not readable by other users (mode and directory).
    Why it matters: it is the source `sync-auth` copies into the proxy; the proxy's OAuth path
    needs ChatGPT tokens, and anyone who reads the file can spend the plan.
    Fix safety: manual (`codex login`); the doctor never logs anyone in. Loose permissions:
    `secure-auth --yes` (confirm: only the mode changes, but it is the Codex CLI's own file).
auth.proxy
    What it checks: auth/codex-current.json is a flat CLIProxyAPI codex credential (type codex),
    not disabled, 0600 in a 0700 directory, and not expired beyond repair.
    Why it matters: without it every request fails with 500 auth_unavailable.
    Fix safety: `sync-auth` (safe: newest wins, atomic, backup) writes it from the Codex login.
auth.sync
    What it checks: both files hold the same ChatGPT account; the same refresh token, or which side
    refreshed last (last_refresh, else token issue time).
    Why it matters: refresh tokens rotate on every use; two refreshers sharing one token log each
    other out with refresh_token_reused.
    Fix safety: `sync-auth` (safe) when Codex is newer; `sync-auth --reverse --yes` (confirm: it
    writes ~/.codex/auth.json) when the proxy refreshed; manual when the accounts differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claudex_doctor.auth import credentials as codexauth
from claudex_doctor.auth.credentials import CredentialState
from claudex_doctor.base.paths import display
from claudex_doctor.checks._credentials import codex_state, login_status, parse_login_status, proxy_state, storage
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed, skipped, warned

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

__all__ = ["auth_codex", "auth_proxy", "auth_sync", "parse_login_status"]

REF = "references/auth.md"

RACE = ("OpenAI rotates the refresh token on every refresh. While the Codex CLI and the proxy hold the "
        "same one, whichever refreshes second is logged out with refresh_token_reused. Let one side own "
        "refresh: after the proxy refreshes, copy its tokens back with `claudex-doctor sync-auth --reverse "
        "--yes`; or give the proxy its own login (`./cli-proxy-api -codex-login` in the home).")


def _relogin() -> Fix:
    return Fix.manual("Log in to Codex with your ChatGPT account (choose 'Sign in with ChatGPT')", "codex login")


def _identity(tokens: codexauth.TokenSet) -> str:
    parts = [tokens.email or "unknown email", tokens.plan or "plan unknown"]
    return ", ".join(parts)


# -- auth.codex -------------------------------------------------------------------

@check("auth.codex", "Codex login", reference=f"{REF}#codex-not-logged-in", fixes=("manual",))
def auth_codex(ctx: StackContext):
    p = ctx.paths
    shown = display(p.codex_auth, p.user_home)
    store = storage(ctx)
    state = codex_state(ctx)
    status = login_status(ctx)
    evidence = {"path": shown, "storage": store.mode, "storage_source": store.source}
    details: list[str] = [store.note] if store.note else []
    if status:
        evidence["codex_login_status"] = status[0]
    said = f"`codex login status` says: {status[1]}" if status and status[1] else None

    if state.state is CredentialState.MISSING:
        return _codex_missing(ctx, store, status, said, evidence, details)
    if not state.ok:
        return _codex_unusable(state, said, evidence, details)
    return _codex_ok(ctx, state, status, said, evidence, details)


def _codex_missing(ctx: StackContext, store, status, said, evidence, details):
    p = ctx.paths
    shown = evidence["path"]
    if not p.codex_home.is_dir():
        where = "CODEX_HOME" if ctx.env.get("CODEX_HOME") else "the default"
        return failed(f"not logged in: {display(p.codex_home, p.user_home)} ({where} Codex home) does not exist",
                      details + ["Codex keeps its login in auth.json there; run `codex login` to create it."],
                      evidence, reference=f"{REF}#codex-not-logged-in", fix=_relogin())
    logged_in = status is not None and status[0] in ("chatgpt", "api_key")
    if store.file_optional:
        details.append(f"cli_auth_credentials_store = {store.mode}: Codex keeps the login in the OS keyring and "
                       "deletes auth.json, so a missing file is normal here. sync-auth has nothing to copy: give "
                       "the proxy its own login, or switch Codex to file storage and log in again.")
        if said:
            details.append(said)
        fix = Fix.manual("Give the proxy its own ChatGPT login (or set cli_auth_credentials_store = \"file\" "
                         "in config.toml and run codex login)", "./cli-proxy-api -config config.yaml -codex-login")
        if status and status[0] == "not_logged_in":
            return failed(f"not logged in (Codex uses {store.mode} storage, and codex says not logged in)",
                          details, evidence, reference=f"{REF}#codex-not-logged-in", fix=_relogin())
        summary = (f"logged in, kept in the {store.mode} store: no auth.json (normal in this mode)" if logged_in
                   else f"no auth.json, which is normal with {store.mode} storage (login not confirmed)")
        return warned(summary, details, evidence, reference=f"{REF}#codex-login-in-the-keyring", fix=fix)
    if logged_in:
        details.append(f"{said}. Codex finds a login somewhere else (a keyring, another CODEX_HOME), "
                       "but sync-auth reads only this file.")
        return warned(f"{shown} does not exist, yet codex reports a login", details, evidence,
                      reference=f"{REF}#codex-login-status-disagrees", fix=_relogin())
    details.append("The proxy's tokens come from this file (claudex-doctor sync-auth).")
    return failed(f"not logged in: {shown} does not exist", details, evidence,
                  reference=f"{REF}#codex-not-logged-in", fix=_relogin())


def _codex_unusable(state, said, evidence, details):
    if said:
        details.append(said)
    if state.state is CredentialState.API_KEY:
        details.insert(0, "The proxy's OAuth path needs ChatGPT tokens (id, access and refresh token); an "
                          "OpenAI API key cannot be turned into them.")
        return failed("Codex is logged in with an API key, not with ChatGPT", details,
                      {**evidence, "api_key": state.api_key_fingerprint},
                      reference=f"{REF}#codex-in-api-key-mode", fix=_relogin())
    details.insert(0, "Codex rejects such a file as a whole, and it is the source sync-auth copies from.")
    details.append("`codex login` rewrites the file; sync-auth refuses to copy from it until then.")
    return failed(_on_path(evidence["path"], state.message), details, evidence,
                  reference=f"{REF}#codex-auth-file-unreadable", fix=_relogin())


def _on_path(shown: str, message: str) -> str:
    """'auth.json is not valid JSON' -> '~/.codex/auth.json is not valid JSON' (the file named by its path)."""
    name = shown.rsplit("/", 1)[-1]
    if message.startswith(name + ": ") or message.startswith(name + " "):
        return shown + message[len(name):]
    return f"{shown}: {message}"


def _codex_ok(ctx: StackContext, state, status, said, evidence, details):
    tokens = state.tokens
    assert tokens is not None  # a readable codex credential always has its token set
    now = ctx.now()
    evidence.update(tokens.evidence(now))
    problems: list[tuple[str, str, str]] = []  # (summary, anchor, detail)
    if state.login_mode == "api_key":
        problems.append(("Codex itself uses the OpenAI API key in auth.json; the ChatGPT tokens beside it are idle",
                         "codex-in-api-key-mode",
                         "Without auth_mode \"chatgpt\", a set OPENAI_API_KEY wins: Codex never refreshes these "
                         "tokens. The proxy can still use them."))
    if evidence["storage"] in ("keyring", "ephemeral"):
        problems.append((f"Codex uses {evidence['storage']} storage and does not read this auth.json: it may be stale",
                         "codex-login-in-the-keyring",
                         "In this mode Codex keeps its login outside the file (and deletes the file after a keyring "
                         "write), so this copy is a leftover that Codex no longer refreshes."))
    left = tokens.seconds_left(now)
    if left is not None and left <= 0:
        problems.append((f"access token expired {codexauth.human_seconds(-left)} ago; it is renewed with the "
                         "refresh token on next use", "codex-access-token-expired",
                         "Codex refreshes it on its next request, the proxy on its next 401. Expected after "
                         "days of not using codex; only a refresh failure is a problem."))
    elif left is None:
        problems.append(("the access token's expiry cannot be read", "codex-tokens-inconsistent",
                         f"access_token: {tokens.access_token_error or 'it carries no readable exp claim'}."))
    if tokens.account_mismatch:
        problems.append(("tokens.account_id differs from the account in the id_token", "codex-tokens-inconsistent",
                         f"tokens.account_id {tokens.account_id} vs claim {tokens.claim_account_id}: the proxy "
                         "sends account_id as ChatGPT-Account-Id, a wrong one gets 401/403."))
    if tokens.last_refresh is None:
        problems.append(("last_refresh is missing", "codex-tokens-inconsistent",
                         "Codex records when it last refreshed; without it some Codex versions refuse the tokens "
                         "and sync-auth can only judge freshness by the tokens' issue time."))
    elif (tokens.last_refresh - now).total_seconds() > 300:
        problems.append(("last_refresh lies in the future (clock skew, or an edited file)", "codex-tokens-inconsistent",
                         f"last_refresh {codexauth.iso(tokens.last_refresh)}; now {codexauth.iso(now)}."))
    expected = "api_key" if state.login_mode == "api_key" else "chatgpt"
    if status and status[0] not in (expected, "unknown"):
        problems.append((f"`codex login status` disagrees: {status[1] or status[0]}", "codex-login-status-disagrees",
                         "The doctor reads a usable ChatGPT login in the file, but codex itself does not: it may "
                         "read another CODEX_HOME or the keyring, or be a version that rejects this file."))
    elif said:
        details.append(said)
    for note in tokens.notes:
        if note != "last_refresh is missing":
            details.append(note)
    exposed = _codex_exposure(ctx)
    if exposed is not None:
        problems.insert(0, exposed)
    ident = _identity(tokens)
    when = f"refreshed {codexauth.ago(tokens.last_refresh, now)}" if tokens.last_refresh else "last_refresh unknown"
    valid = f"access token valid for {codexauth.human_seconds(left)}" if left is not None and left > 0 else None
    if not problems:
        return passed(f"ChatGPT login ({ident}); " + ", ".join(x for x in (valid, when) if x), details, evidence)
    summary, anchor, _ = problems[0]
    details = [d for _, _, d in problems] + details
    if len(problems) > 1:
        details.append("Also: " + "; ".join(s for s, _, _ in problems[1:]) + ".")
    fix = None if anchor == "codex-access-token-expired" else _secure() if anchor == PERMS else _relogin()
    return warned(f"{summary} ({ident})", details, evidence, reference=f"{REF}#{anchor}", fix=fix)


PERMS = "codex-auth-file-permissions"


def _secure() -> Fix:
    # confirm, not safe: only the mode changes, but it is the Codex CLI's own file (the design: never
    # write ~/.codex/auth.json without confirmation; a chmod is a change to it too).
    return Fix.confirm("secure-auth", "make the credential files readable by their owner only (0600)",
                       command="claudex-doctor secure-auth --yes", yes=True)


def _codex_exposure(ctx: StackContext) -> tuple[str, str, str] | None:
    """(summary, anchor, detail) when auth.json is readable (or replaceable) by other users."""
    from claudex_doctor.auth.permissions import exposure

    found = exposure(ctx.paths.codex_auth)
    if found is None:
        return None
    mode, folder = found
    shown = display(ctx.paths.codex_auth, ctx.paths.user_home)
    where = f"file {mode:04o}" + (f", directory {folder:04o}" if folder is not None else "")
    readable = bool(mode & 0o044)
    return (f"{shown} is {'readable' if readable else 'replaceable'} by other users ({where}; want 0600)", PERMS,
            "It holds your ChatGPT OAuth tokens: anyone who reads it can spend your plan as you (Codex itself "
            "writes it 0600; a copy or an editor under a loose umask leaves 0644). `secure-auth` changes only the "
            "mode, never the content.")


# -- auth.proxy -------------------------------------------------------------------

def _sync_fix(ctx: StackContext, description: str, **args) -> Fix:
    """sync-auth when the Codex side can feed it, else the manual ways to get a login."""
    if codex_state(ctx).ok:
        if args.get("force"):
            return Fix.confirm("sync-auth", description, command="claudex-doctor sync-auth --force", force=True)
        return Fix.safe("sync-auth", description)
    return Fix.manual("Log in to Codex with ChatGPT, then copy the login with sync-auth",
                      "codex login && claudex-doctor sync-auth")


@check("auth.proxy", "Proxy credential", needs=("paths.home",), reference=f"{REF}#proxy-credential-missing",
       fixes=("sync-auth",))
def auth_proxy(ctx: StackContext):
    p = ctx.paths
    state = proxy_state(ctx)
    shown = display(p.proxy_auth, p.user_home)
    evidence: dict = {"path": shown}
    if state.state is CredentialState.MISSING:
        return failed(f"no proxy credential: {shown} does not exist",
                      ["Every request would fail with 500 auth_unavailable: no auth available."], evidence,
                      reference=f"{REF}#proxy-credential-missing",
                      fix=_sync_fix(ctx, "write the proxy credential from the Codex login"))
    if state.state in (CredentialState.NESTED, CredentialState.NO_TYPE):
        return failed(state.message, ["The proxy reads only flat files with \"type\": \"codex\"; it never used or "
                                      "refreshed this one, so replacing it loses nothing (a backup is kept)."],
                      evidence, reference=f"{REF}#proxy-credential-in-codex-format",
                      fix=_sync_fix(ctx, "rewrite it in the proxy's flat format"))
    if state.state is CredentialState.OTHER_TYPE:
        return failed(state.message, ["This name is the claudex stack's codex credential; a credential of "
                                      "another provider belongs in a file of its own."], evidence,
                      reference=f"{REF}#proxy-credential-of-another-type",
                      fix=Fix.manual("Move the other credential aside, then write the codex one",
                                     f"mv {shown} {shown[:-5]}-moved.json && claudex-doctor sync-auth"))
    if state.state is CredentialState.NOT_A_FILE:
        return failed(state.message, [], evidence, reference=f"{REF}#proxy-credential-unreadable",
                      fix=Fix.manual("Move it away, then write the credential",
                                     f"mv {shown} {shown}.bak && claudex-doctor sync-auth"))
    if not state.ok:
        return failed(_on_path(shown, state.message), [
            "The proxy skips a credential it cannot parse. sync-auth refuses to replace a file it cannot read "
            "unless told to (--force, a backup is kept)."], evidence, reference=f"{REF}#proxy-credential-unreadable",
            fix=_sync_fix(ctx, "replace the unreadable credential with the Codex login (backup kept)", force=True))
    tokens = state.tokens
    assert tokens is not None  # a readable codex credential always has its token set
    now = ctx.now()
    evidence.update(tokens.evidence(now))
    evidence.update({"mode": f"{state.mode & 0o777:04o}" if state.mode else None,
                     "expiry_field": state.expiry_key,
                     "disabled": state.disabled})
    if state.disabled:
        return failed("the proxy credential is disabled (\"disabled\": true)", [
            "The proxy skips disabled credentials: every request fails with auth_unavailable."], evidence,
            reference=f"{REF}#proxy-credential-disabled",
            fix=Fix.manual("Remove \"disabled\": true from the file (the proxy reloads it by itself)",
                           f"$EDITOR {shown}"))
    left = tokens.seconds_left(now)
    ident = _identity(tokens)
    notes = list(tokens.notes)
    if tokens.expired is None and tokens.last_refresh is None:
        notes.append("Neither expired nor last_refresh is set: the proxy refreshes this credential as soon "
                      "as it loads it.")
    problems: list[tuple[str, str, str, Fix | None]] = []  # (summary, anchor, detail, fix)
    if left is not None and left <= 0 and not tokens.refresh_token:
        return failed(f"the access token expired {codexauth.human_seconds(-left)} ago and there is no refresh "
                      "token", notes, evidence, reference=f"{REF}#proxy-credential-expired",
                      fix=_sync_fix(ctx, "copy a fresh login from Codex"))
    if left is not None and left <= 0:
        problems.append((f"the access token expired {codexauth.human_seconds(-left)} ago; the proxy renews it on "
                         "its next request", "proxy-credential-expired",
                         "The proxy refreshes on a 401 (and 5 days before expiry) and writes the new tokens back; "
                         "that rotates the refresh token (see auth.sync).", None))
    elif left is None:
        why = tokens.access_token_error or "it carries no exp claim"
        problems.append(("the access token's expiry cannot be read and the file declares none",
                         "proxy-credential-unreadable", f"access_token: {why}; the proxy cannot schedule its "
                         "refresh and will find out on a 401.", _sync_fix(ctx, "rewrite it from the Codex login")))
    if not tokens.refresh_token:
        problems.append(("no refresh token: the credential dies when its access token expires",
                         "proxy-credential-expired", "Nothing can renew this login.",
                         _sync_fix(ctx, "copy the full Codex login (with its refresh token)")))
    if tokens.account_mismatch:
        problems.append(("account_id differs from the account in the id_token", "proxy-credential-unreadable",
                         f"account_id {tokens.account_id} vs claim {tokens.claim_account_id}: it is sent as "
                         "ChatGPT-Account-Id.", _sync_fix(ctx, "rewrite the credential from the Codex login")))
    file_mode, dir_mode = (state.mode or 0) & 0o777, _mode(p.auth_dir)
    if file_mode & 0o077 or (dir_mode is not None and dir_mode & 0o077):
        problems.append((f"the credential is open to other users (file {file_mode:04o}, directory "
                         f"{(dir_mode or 0):04o}; want 0600 in 0700)", "proxy-credential-permissions",
                         "It holds your ChatGPT OAuth tokens: anyone who reads it can spend your plan.",
                         _perms_fix(ctx, tokens, shown)))
    if not problems and left is not None:
        return passed(f"codex credential ({ident}), access token valid for {codexauth.human_seconds(left)}",
                      notes, evidence)
    summary, anchor, _, fix = problems[0]
    details = [d for _, _, d, _ in problems] + notes
    if len(problems) > 1:
        details.append("Also: " + "; ".join(s for s, _, _, _ in problems[1:]) + ".")
    return warned(summary, details, evidence, reference=f"{REF}#{anchor}", fix=fix)


def _perms_fix(ctx: StackContext, tokens, shown) -> Fix:
    """sync-auth restores 0600/0700 whenever it runs without refusing; else a plain chmod."""
    codex = codex_state(ctx)
    if codex.ok and codex.tokens is not None and codexauth.compare(codex.tokens, tokens).newer in ("same", "codex"):
        return Fix.safe("sync-auth", "restore mode 0600 on the file and 0700 on auth/")
    auth_dir = display(ctx.paths.auth_dir, ctx.paths.user_home)
    return Fix.manual("Restrict the permissions", f"chmod 700 {auth_dir} && chmod 600 {shown}")


def _mode(path):
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


# -- auth.sync --------------------------------------------------------------------

@check("auth.sync", "Credential sync", needs=("auth.codex", "auth.proxy"), reference=f"{REF}#refresh-token-race",
       fixes=("sync-auth",))
def auth_sync(ctx: StackContext):
    codex, proxy = codex_state(ctx), proxy_state(ctx)
    if not codex.ok or codex.tokens is None:
        return skipped("nothing to compare: there is no readable auth.json "
                       f"({'Codex keeps its login in the keyring' if codex.state is CredentialState.MISSING else codex.state})")
    if not proxy.ok or proxy.tokens is None:
        return skipped("nothing to compare: the proxy credential is not usable")
    now = ctx.now()
    cmp = codexauth.compare(codex.tokens, proxy.tokens)
    ce, pe = codex.tokens.evidence(now), proxy.tokens.evidence(now)
    keys = ("refresh_token", "last_refresh", "issued_at", "account_id", "email", "plan")
    evidence = {"codex": {k: ce[k] for k in keys}, "proxy": {k: pe[k] for k in keys},
                "newer": cmp.newer, "basis": cmp.basis, "same_refresh_token": cmp.same_refresh_token}
    who = {"codex": f"Codex: {_identity(codex.tokens)}, account {codex.tokens.account or 'unknown'}",
           "proxy": f"proxy: {_identity(proxy.tokens)}, account {proxy.tokens.account or 'unknown'}"}
    if cmp.same_account is False:
        return failed("Codex and the proxy are logged in to different ChatGPT accounts",
                      [who["codex"], who["proxy"], cmp.explain() + ".",
                       "Decide which account the proxy should use: `claudex-doctor sync-auth` copies the Codex "
                       "login (add --force when the proxy's tokens are newer), or `codex login` with the "
                       "proxy's account."],
                      evidence, reference=f"{REF}#codex-and-proxy-use-different-accounts",
                      fix=Fix.manual("Choose one account; then copy it with sync-auth",
                                     "claudex-doctor sync-auth --force"))
    rt = ce["refresh_token"]
    if cmp.newer == "same" or cmp.same_refresh_token:
        spent = _spent_since_sync(ctx)
        if spent is not None:
            return failed(f"both hold the same refresh token ({rt}), and it is spent: the proxy's refresh failed "
                          f"with refresh_token_reused at {spent}",
                          ["A third refresher used the token both files share (Codex on another machine, another "
                           "gateway, a restored copy). sync-auth would copy the same dead token: only a new login "
                           "helps.", RACE], evidence, reference=f"{REF}#spent-refresh-token-on-both-sides",
                          fix=Fix.manual("Log in to Codex again, then copy the new login to the proxy",
                                         "codex login && claudex-doctor sync-auth"))
        return passed(f"in sync: both hold the same tokens (refresh token {rt})", [RACE], evidence,
                      reference=f"{REF}#refresh-token-race")
    tail = f"(Codex {ce['refresh_token']}, proxy {pe['refresh_token']})"
    if cmp.newer == "codex":
        details = [cmp.explain() + ".",
                   "If Codex refreshed with the token the proxy holds, that token is spent: the proxy's next "
                   "refresh fails with refresh_token_reused. sync-auth copies Codex's newer tokens (backup kept)."]
        fix = Fix.safe("sync-auth", "copy Codex's newer tokens into the proxy credential")
        left = proxy.tokens.seconds_left(now)
        if left is not None and left > 0:
            return warned(f"the proxy holds older tokens than Codex {tail}", details, evidence,
                          reference=f"{REF}#proxy-credential-older-than-codex", fix=fix)
        return failed(f"the proxy holds older, expired tokens than Codex {tail}", details, evidence,
                      reference=f"{REF}#proxy-credential-older-than-codex", fix=fix)
    if cmp.newer == "proxy":
        return warned(f"the proxy refreshed: Codex's copy is stale {tail}",
                      [cmp.explain() + ".",
                       "The proxy holds the only valid session. Unless Codex has a separate login, its next "
                       "refresh fails with refresh_token_reused and logs it out. Do NOT run a plain sync-auth: "
                       "it refuses to overwrite newer tokens. Copy them back instead (backup kept)."],
                      evidence, reference=f"{REF}#proxy-refreshed-codex-stale",
                      fix=Fix.confirm("sync-auth", "copy the proxy's newer tokens back into "
                                      + display(ctx.paths.codex_auth, ctx.paths.user_home),
                                      command="claudex-doctor sync-auth --reverse --yes", reverse=True, yes=True))
    return warned(f"the two hold different tokens and neither is provably newer {tail}",
                  [cmp.explain() + ".", "sync-auth refuses to guess; --force copies Codex's tokens (backup kept)."],
                  evidence, reference=f"{REF}#sync-direction-unknown",
                  fix=Fix.manual("Check which side works (codex login status; claudex-doctor probe), then copy it",
                                 "claudex-doctor sync-auth --force"))


def _spent_since_sync(ctx: StackContext) -> str | None:
    """When the proxy log shows refresh_token_reused after both credential files last changed, its time."""
    from claudex_doctor.checks._state import reused_since

    reused_at = reused_since(ctx, ctx.paths.proxy_auth, ctx.paths.codex_auth)
    return reused_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if reused_at is not None else None


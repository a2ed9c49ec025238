"""The `sync-auth` primitive: copy the NEWEST ChatGPT token set to the side that holds an older one.

Forward (default): ~/.codex/auth.json (nested) -> auth/codex-current.json (flat, 0600 in a 0700 dir).
Reverse (--reverse, needs yes=True): the proxy's tokens -> ~/.codex/auth.json, keeping Codex's
nested format and its other keys.

Refresh tokens rotate on every use, so copying an OLDER token set over a newer one destroys the
only valid session: that is refused (with the way out) unless `force=True`. Every write is atomic,
keeps a backup in the home's backups/ folder, and is journalled. Messages and changes name tokens
only by fingerprint.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.auth import credentials as codexauth
from claudex_doctor.auth.credentials import CredentialState
from claudex_doctor.base import atomic, journal
from claudex_doctor.base.paths import display
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import PrimitiveError

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

UNREADABLE_ALWAYS = (CredentialState.NOT_A_FILE, CredentialState.UNREADABLE)


def apply(paths: Paths, *, dry_run: bool = False, reverse: bool = False, yes: bool = False,
          force: bool = False, keychain: bool = False) -> PrimitiveResult:
    if not paths.home.is_dir():
        raise PrimitiveError(f"there is no runtime home at {_show(paths, paths.home)}: create it first with "
                             "`claudex-doctor bootstrap`")
    now = datetime.now(timezone.utc)
    if reverse:
        return _reverse(paths, now, dry_run=dry_run, yes=yes, force=force)
    return _forward(paths, now, dry_run=dry_run, force=force, keychain=keychain)


def _show(paths: Paths, path: Path) -> str:
    return display(path, paths.user_home)


def _who(tokens: codexauth.TokenSet) -> str:
    bits = [b for b in (tokens.email, tokens.plan) if b]
    return f"account {tokens.account or 'unknown'}" + (f" ({', '.join(bits)})" if bits else "")


def _side(tokens: codexauth.TokenSet | None) -> dict:
    if tokens is None:
        return {}
    ev = tokens.evidence()
    return {k: ev[k] for k in ("refresh_token", "last_refresh", "issued_at", "account_id", "email", "plan",
                               "access_expires")}


# -- the Codex side as a source ------------------------------------------------------

def _codex_source(paths: Paths, keychain: bool = False) -> codexauth.CodexAuth:
    """The Codex login, or a PrimitiveError that says exactly what to do instead."""
    from claudex_doctor.base import platform

    shown = _show(paths, paths.codex_auth)
    store = codexauth.storage_mode(paths.codex_config)
    codex = codexauth.load_codex(paths.codex_auth)
    if codex.state is CredentialState.MISSING and store.file_optional and platform.has_keychain():
        if not keychain:
            raise PrimitiveError(
                f"Codex keeps its login in the macOS Keychain (cli_auth_credentials_store = {store.mode} in "
                f"{_show(paths, paths.codex_config)}). `claudex-doctor sync-auth --keychain` reads it with "
                "`security find-generic-password` (macOS may ask you to allow it); or set "
                "cli_auth_credentials_store = \"file\" and run `codex login` again.")
        from claudex_doctor.auth import keychain as _keychain

        loaded = _keychain.read(paths.codex_home)
        if not loaded.ok:
            raise PrimitiveError(f"cannot read the Codex login from the Keychain: {loaded.message}. Run `codex login` "
                                 "again, or set cli_auth_credentials_store = \"file\" in "
                                 f"{_show(paths, paths.codex_config)}; nothing was changed")
        codex = codexauth.read_codex(loaded)
        if not codex.ok:
            raise PrimitiveError(f"the Codex login in the Keychain cannot be used: {codex.message}; run `codex login` "
                                 "again; nothing was changed")
        return codex
    if codex.state is CredentialState.MISSING:
        if store.file_optional:
            raise PrimitiveError(
                f"Codex keeps its login in the OS keyring (cli_auth_credentials_store = {store.mode} in "
                f"{_show(paths, paths.codex_config)}), so there is no {shown} to copy. Either give the proxy its "
                "own login (`./cli-proxy-api -config config.yaml -codex-login` in the home), or set "
                "cli_auth_credentials_store = \"file\" and run `codex login` again.")
        raise PrimitiveError(f"{shown} does not exist: log in first with `codex login` (choose Sign in with "
                             "ChatGPT), then run sync-auth again")
    if codex.state is CredentialState.API_KEY:
        raise PrimitiveError(f"{shown} holds an OpenAI API key ({codex.api_key_fingerprint}), not a ChatGPT "
                             "login: the proxy's OAuth path needs ChatGPT tokens. Run `codex login` and choose "
                             "Sign in with ChatGPT.")
    if not codex.ok:
        raise PrimitiveError(f"cannot copy from {shown}: {codex.message}. Run `codex login` to rewrite it; "
                             "nothing was changed")
    return codex


# -- forward: Codex -> proxy ----------------------------------------------------------

def _forward(paths: Paths, now: datetime, *, dry_run: bool, force: bool, keychain: bool = False) -> PrimitiveResult:
    codex = _codex_source(paths, keychain)
    tokens = codex.tokens
    assert tokens is not None
    target = paths.proxy_auth
    shown = _show(paths, target)
    proxy = codexauth.load_proxy(target)
    details = {"direction": "codex->proxy", "codex": _side(tokens), "proxy": _side(proxy.tokens),
               "proxy_state": proxy.state}
    why = ""
    if proxy.state is CredentialState.MISSING:
        why = "there was no proxy credential"
    elif proxy.state in (CredentialState.NESTED, CredentialState.NO_TYPE):
        why = "the old file was not in a format the proxy reads"
    elif proxy.state in UNREADABLE_ALWAYS:
        raise PrimitiveError(f"{shown}: {proxy.message}; move it aside yourself, then run sync-auth again")
    elif not proxy.ok:
        if not force:
            raise PrimitiveError(f"{shown} cannot be read ({proxy.message}), so it cannot be compared with Codex's "
                                 "tokens. Run `claudex-doctor sync-auth --force` to replace it (a backup is kept).")
        why = f"--force: replaced an unreadable credential ({proxy.state})"
    else:
        assert proxy.tokens is not None  # proxy.ok
        cmp = codexauth.compare(tokens, proxy.tokens)
        details.update(newer=cmp.newer, basis=cmp.basis)
        if cmp.newer == "same":
            return _already(paths, proxy, tokens, dry_run, details)
        if cmp.newer == "proxy" and not force:
            raise PrimitiveError(
                f"refusing to overwrite newer tokens: {cmp.explain()}. The proxy refreshed after Codex did, so its "
                f"refresh token ({_fp(proxy.tokens)}) is the only valid one and Codex's ({_fp(tokens)}) is probably "
                "spent. Copy the proxy's tokens to Codex instead: `claudex-doctor sync-auth --reverse --yes`. "
                "(--force overwrites anyway, keeping a backup.)")
        if cmp.newer == "unknown" and not force:
            raise PrimitiveError(
                f"refusing to guess: Codex ({_fp(tokens)}) and the proxy ({_fp(proxy.tokens)}) hold different "
                f"tokens and {cmp.explain()}. Check which one works, then run with --force (Codex -> proxy) or "
                "--reverse --yes --force (proxy -> Codex); a backup is kept either way.")
        why = "Codex's tokens are newer" if cmp.newer == "codex" else "--force: the proxy's newer tokens were replaced"
        if cmp.same_account is False:
            why += f"; the proxy switches from {_who(proxy.tokens)} to {_who(tokens)}"
    data = codexauth.to_proxy(tokens, proxy.data if proxy.ok else None, now)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    old_fp = _fp(proxy.tokens) if proxy.tokens else "none"
    changes = _dir_changes(paths, paths.auth_dir)
    changes.append(f"write {shown} (mode 0600): refresh token {old_fp} -> {_fp(tokens)}, {_who(tokens)}, "
                   f"access token expires {codexauth.iso(tokens.access_exp) or 'unknown'}, "
                   f"last_refresh {data.get('last_refresh')}")
    if proxy.ok and proxy.disabled:
        changes.append("note: the file keeps \"disabled\": true, so the proxy still skips it (remove it by hand)")
    if proxy.state is not CredentialState.MISSING:
        changes.append(f"keep a backup of the old file in {_show(paths, paths.backups)}/")
    message = f"copied the Codex login into the proxy credential ({why})"
    if dry_run:
        return PrimitiveResult(True, "would have " + message, changes, details=details)
    return _write(paths, target, text, shown, message, changes, details, "codex->proxy")


def _already(paths: Paths, proxy: codexauth.ProxyAuth, tokens, dry_run: bool, details: dict) -> PrimitiveResult:
    """Same tokens on both sides: nothing to copy; only tighten loose permissions."""
    changes = _dir_changes(paths, paths.auth_dir)
    mode = (proxy.mode or 0) & 0o777
    if mode & 0o077:
        changes.append(f"chmod 0600 {_show(paths, paths.proxy_auth)} (was {mode:04o})")
    message = f"already in sync: both hold the same tokens (refresh token {_fp(tokens)})"
    if not changes or dry_run:
        return PrimitiveResult(True, message, changes, details=details)
    try:
        atomic.ensure_dir(paths.auth_dir, paths.home, private=True)
        os.chmod(atomic.target_in(paths.proxy_auth, paths.home), 0o600)
    except OSError as exc:
        raise PrimitiveError(f"could not fix permissions: {exc.strerror or exc}") from None
    message += "; permissions restored"
    journal.record(paths, "sync-auth", "applied", message, changes, (), direction="permissions")
    return PrimitiveResult(True, message, changes, details=details)


# -- reverse: proxy -> Codex ----------------------------------------------------------

def _reverse(paths: Paths, now: datetime, *, dry_run: bool, yes: bool, force: bool) -> PrimitiveResult:
    source = _show(paths, paths.proxy_auth)
    target = paths.codex_auth
    shown = _show(paths, target)
    proxy = codexauth.load_proxy(paths.proxy_auth)
    if proxy.state is CredentialState.MISSING:
        raise PrimitiveError(f"{source} does not exist: there is nothing to copy back to Codex")
    if not proxy.ok:
        raise PrimitiveError(f"cannot copy from {source}: {proxy.message}")
    tokens = proxy.tokens
    assert tokens is not None
    if not tokens.refresh_token or not tokens.id_token:
        missing = "refresh_token" if not tokens.refresh_token else "id_token"
        raise PrimitiveError(f"{source} has no {missing}: Codex cannot use a login without one")
    if tokens.id_claims is None:
        raise PrimitiveError(f"{source}: the id_token is not a readable JWT ({tokens.id_token_error}); Codex "
                             "would reject it")
    shape = codexauth.codex_id_token_problem(tokens.id_token)
    if shape:
        raise PrimitiveError(f"{source}: the id_token {shape}; Codex would reject the whole auth.json")
    store = codexauth.storage_mode(paths.codex_config)
    codex = codexauth.load_codex(target)
    details = {"direction": "proxy->codex", "codex": _side(codex.tokens), "proxy": _side(tokens),
               "codex_state": codex.state}
    existing = codex.data if isinstance(codex.data, dict) else None
    if store.mode in ("keyring", "ephemeral") or (store.file_optional and codex.state is CredentialState.MISSING):
        raise PrimitiveError(
            f"Codex keeps its login in the OS keyring (cli_auth_credentials_store = {store.mode}): it would "
            f"ignore or delete a {shown} written now. Log Codex in with `codex login` instead.")
    if codex.state is CredentialState.MISSING:
        why = f"there was no {shown}"
    elif codex.state in UNREADABLE_ALWAYS:
        raise PrimitiveError(f"{shown}: {codex.message}; move it aside yourself, then run again")
    elif codex.state is CredentialState.API_KEY and not force:
        raise PrimitiveError(f"{shown} is an API-key login ({codex.api_key_fingerprint}): writing ChatGPT tokens "
                             "beside it would not switch Codex. Run `codex login` with ChatGPT, or --force.")
    elif not codex.ok and codex.state is not CredentialState.API_KEY:
        if not force:
            raise PrimitiveError(f"{shown} cannot be read ({codex.message}); --force replaces it (a backup is kept)")
        why = f"--force: replaced an unreadable {shown} ({codex.state})"
    elif codex.tokens is not None:
        cmp = codexauth.compare(codex.tokens, tokens)
        details.update(newer=cmp.newer, basis=cmp.basis)
        if cmp.newer == "same":
            return PrimitiveResult(True, f"already in sync: both hold the same tokens (refresh token {_fp(tokens)})",
                                   [], details=details)
        if cmp.newer == "codex" and not force:
            raise PrimitiveError(f"refusing to overwrite newer tokens: {cmp.explain()}. Codex's tokens are the "
                                 "fresh ones; copy them to the proxy with `claudex-doctor sync-auth` (no --reverse).")
        if cmp.newer == "unknown" and not force:
            raise PrimitiveError(f"refusing to guess: the two hold different tokens and {cmp.explain()}. "
                                 "Run with --force to copy the proxy's tokens anyway (a backup is kept).")
        why = "the proxy's tokens are newer" if cmp.newer == "proxy" else "--force: Codex's tokens were replaced"
        if cmp.same_account is False:
            why += f"; Codex switches from {_who(codex.tokens)} to {_who(tokens)}"
    else:
        why = "--force"
    data = codexauth.to_codex(tokens, existing, now)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    old_fp = _fp(codex.tokens) if codex.tokens else "none"
    changes = [f"write {shown} (mode 0600, Codex's nested format, other keys kept): refresh token {old_fp} -> "
               f"{_fp(tokens)}, {_who(tokens)}, last_refresh {data['last_refresh']}"]
    if codex.state is not CredentialState.MISSING:
        changes.append(f"keep a backup of the old file in {_show(paths, paths.backups)}/")
    message = f"copied the proxy's tokens back into {shown} ({why})"
    if dry_run:
        note = "" if yes else " (applying needs --yes: it writes the Codex CLI's own file)"
        return PrimitiveResult(True, "would have " + message + note, changes, details=details)
    if not yes:
        raise PrimitiveError(f"--reverse writes the Codex CLI's own {shown}: run again with --yes to confirm "
                             "(a backup is kept); nothing was changed")
    # The Codex home keeps the mode Codex gave it; only a missing one is created (0700).
    return _write(paths, target, text, shown, message, changes, details, "proxy->codex", tighten=False)


# -- helpers -------------------------------------------------------------------------

def _fp(tokens: codexauth.TokenSet | None) -> str:
    if tokens is None:
        return "none"
    return tokens.fingerprints()["refresh_token"] or "none"


def _dir_changes(paths: Paths, directory: Path) -> list[str]:
    try:
        mode = directory.stat().st_mode & 0o777
    except FileNotFoundError:
        return [f"create {_show(paths, directory)}/ (mode 0700)"]
    except OSError:
        return []
    return [f"chmod 0700 {_show(paths, directory)}/ (was {mode:04o})"] if mode != 0o700 else []


def _write(paths: Paths, target: Path, text: str, shown: str, message: str, changes: list[str], details: dict,
           direction: str, tighten: bool = True) -> PrimitiveResult:
    """Write one credential file atomically (0600, backup kept, its directory made) and journal it."""
    root = paths.codex_home if direction == "proxy->codex" else paths.home
    try:
        atomic.ensure_dir(target.parent, root, private=tighten)
        saved = atomic.write_atomic(target, text, mode=0o600, backup_dir=paths.backups, root=root, private=tighten)
    except OSError as exc:
        raise PrimitiveError(f"could not write {shown}: {exc.strerror or exc}") from None
    backups = [_show(paths, saved)] if saved else []
    journal.record(paths, "sync-auth", "applied", message, changes, backups, direction=direction)
    return PrimitiveResult(True, message, changes, backups, details)

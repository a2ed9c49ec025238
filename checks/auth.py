"""Credentials: the Codex CLI's auth.json, the proxy's codex-current.json, and whether they agree."""

from claudex_doctor.graph import check

from ._pending import not_implemented

auth_codex = check("auth.codex", "Codex login", after=("bin.codex",),
                   reference="references/auth.md#codex-not-logged-in", fixes=("manual",))(not_implemented)
auth_proxy = check("auth.proxy", "Proxy credential", needs=("paths.home",),
                   reference="references/auth.md#proxy-credential-missing", fixes=("sync-auth",))(not_implemented)
auth_sync = check("auth.sync", "Credential sync", needs=("auth.codex", "auth.proxy"),
                  reference="references/auth.md#refresh-token-race", fixes=("sync-auth",))(not_implemented)

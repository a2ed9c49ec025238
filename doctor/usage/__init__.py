"""The ChatGPT plan's Codex quota: the 5-hour and weekly windows, per-model buckets and credits.

Read the way the Codex CLI reads it (`GET https://chatgpt.com/backend-api/wham/usage` with the login's
access token and account id: `fetch`), or from what passed through the proxy and landed in its log
(`x-codex-*` response headers, `codex.rate_limits` stream events, `429 usage_limit_reached` bodies:
`logscan`). Readings are frozen values (`model`); the last one is cached in the runtime home
(`cache`, `usage-cache.json`, mode 0600, never a token) for the status line and `--offline`.

Nothing here refreshes a token: a refresh rotates the refresh token and logs out whichever of the
proxy and the Codex CLI still holds the old one (refresh_token_reused). With an expired access token
the answer is the last known reading and its age.

`model` and `cache.load` import only the standard library and `base`, so the status line stays fast;
`fetch` imports httpx when it is called.
"""

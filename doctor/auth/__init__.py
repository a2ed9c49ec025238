"""The logins: JWT claims, token sets and which is newer, the Codex and proxy credential files, and
sync-auth between them."""

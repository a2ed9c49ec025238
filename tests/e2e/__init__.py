"""End-to-end tests: the real CLIProxyAPI, Claude Code and Codex CLI against a local fake upstream."""

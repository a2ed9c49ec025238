"""claudex-doctor: diagnose and repair the local claudex stack.

    Claude Code -> claudex wrapper -> CLIProxyAPI (127.0.0.1:8327) -> chatgpt.com/backend-api/codex
"""

__version__ = "0.1.0"

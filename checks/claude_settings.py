"""Claude Code's own settings that can silently override the wrapper's environment."""

from claudex_doctor.graph import check

from ._pending import not_implemented

claude_settings = check("claude.settings", "Claude Code settings",
                        reference="references/claude-code.md#settings-override-the-wrapper", fixes=("manual",))(not_implemented)

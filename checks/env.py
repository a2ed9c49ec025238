"""The env file the wrapper sources: consistency, model mapping, context window."""

from claudex_doctor.graph import check

from ._pending import not_implemented

env_consistency = check("env.consistency", "Env file", needs=("paths.home",), after=("config.valid",),
                        reference="references/config.md#env-file-disagrees-with-config", fixes=("set-env",))(not_implemented)
env_mapping = check("env.mapping", "Model mapping", needs=("paths.home",), after=("auth.codex", "proxy.models"),
                    reference="references/models.md#model-not-offered-to-your-plan", fixes=("set-env",))(not_implemented)
env_context_window = check("env.context_window", "Context window", needs=("paths.home",), after=("env.mapping",),
                           reference="references/context-window.md#claude-code-guesses-the-window",
                           fixes=("set-env",))(not_implemented)

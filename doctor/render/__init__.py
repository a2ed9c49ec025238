"""Renderings of a RunResult. Each is a pure function `render(result, ...) -> str`.

All of them read the same redacted copy of the result (`render.redacted.redacted()`), so the
terminal, the JSON and the report can never disagree or leak differently.
"""

from __future__ import annotations

from claudex_doctor.base.vocab import Vocabulary


class Format(Vocabulary):
    TERMINAL = "terminal"
    JSON = "json"
    MARKDOWN = "markdown"

    def renderer(self):
        if self is Format.TERMINAL:
            from claudex_doctor.render import terminal
            return terminal.render
        if self is Format.JSON:
            from claudex_doctor.render import json as json_renderer
            return json_renderer.render
        if self is Format.MARKDOWN:
            from claudex_doctor.render import markdown
            return markdown.render
        raise AssertionError(f"unhandled format {self}")

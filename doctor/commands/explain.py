"""`claudex-doctor explain [TOPIC]`: list the topics, or show one page or section.

stdout on a terminal: rendered with rich; piped: the markdown as written;
`--json`: {topic, title, path, page, anchor, headings: [{title, anchor, level}], markdown}
(the list: {"topics": [...]}). An unknown topic exits 2 with close matches.
"""

from __future__ import annotations

import json
import sys


def main(args) -> int:
    from claudex_doctor.cli import DoctorError
    from claudex_doctor.console import _isatty, wants_color, width
    from claudex_doctor.help.explain import UnknownTopic, lookup, render_list, render_plain, render_rich, topics

    if not args.topic:
        items = topics()
        if args.json:
            sys.stdout.write(json.dumps({"topics": [t.to_dict() for t in items]}, indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(render_list(items))
        return 0
    try:
        explanation = lookup(args.topic)
    except UnknownTopic as exc:
        if args.json:
            sys.stdout.write(json.dumps({"error": "unknown topic", "topic": exc.topic, "message": exc.message(),
                                         "suggestions": exc.suggestions}, indent=2, ensure_ascii=False) + "\n")
        raise DoctorError(exc.message()) from None
    if args.json:
        sys.stdout.write(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False) + "\n")
    elif _isatty(sys.stdout):
        render_rich(explanation, sys.stdout, color=wants_color(sys.stdout), width=width(sys.stdout))
    else:
        sys.stdout.write(render_plain(explanation))
    sys.stdout.flush()
    return 0

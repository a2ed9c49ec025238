"""`claudex-doctor explain [TOPIC]`: list the topics, or show one page or section.

stdout on a terminal: rendered with rich; piped: the markdown as written;
`--json`: {topic, title, path, page, anchor, headings: [{title, anchor, level}], markdown}
(the list: {"topics": [...]}). An unknown topic exits 2 with close matches.
"""

from __future__ import annotations

import argparse

HELP = "list topics, or explain one (litellm, stack, auth, models, context-window, ...)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="?", help="topic name; none lists them")


def main(args: argparse.Namespace) -> int:
    from claudex_doctor import console
    from claudex_doctor.errors import UnknownTopic
    from claudex_doctor.help.explain import lookup, render_list, render_plain, render_rich, topics

    if not args.topic:
        items = topics()
        if args.json:
            console.out_json({"topics": [t.to_dict() for t in items]}, redact=False)
        else:
            console.out(render_list(items), redact=False)
        return 0
    try:
        explanation = lookup(args.topic)
    except UnknownTopic as exc:
        if args.json:
            console.out_json({"error": "unknown topic", "topic": exc.topic, "message": exc.message(),
                              "suggestions": exc.suggestions})
        raise
    if args.json:
        console.out_json(explanation.to_dict(), redact=False)
    elif console.stdout_is_terminal():
        console.out(render_rich(explanation, color=console.wants_color(), width=console.width()), redact=False)
    else:
        console.out(render_plain(explanation), redact=False)  # the pages ship with the package
    return 0

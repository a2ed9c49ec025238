"""`claudex-doctor checks`: the catalog, as a table or JSON."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "list the checks: id, title, dependencies, fix"


def main(args: argparse.Namespace) -> int:
    from claudex_doctor import console
    from claudex_doctor.checks import CHECKS

    rows: list[dict[str, Any]] = [{
        "id": c.id, "title": c.title, "needs": list(c.needs), "after": list(c.after),
        "live": c.live, "fix": list(c.fixes), "reference": c.reference,
    } for c in CHECKS]
    if args.json:
        console.out_json(rows)
        return 0
    id_w = max(len(r["id"]) for r in rows)
    title_w = max(len(r["title"]) for r in rows)
    out = [f"{'ID':<{id_w}}  {'TITLE':<{title_w}}  {'NEEDS':<28}  FIX"]
    for r in rows:
        needs = ",".join(r["needs"]) or "-"
        fix = ",".join(r["fix"]) or "-"
        live = " (live)" if r["live"] else ""
        out.append(f"{r['id']:<{id_w}}  {r['title']:<{title_w}}  {needs:<28}  {fix}{live}")
    console.line("\n".join(out))
    return 0

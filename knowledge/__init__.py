"""Expert knowledge as data: each `<name>.json` here has a JSON Schema in `schemas/<name>.schema.json`.

`load(name)` reads a file once per process and returns plain data. Validation
against the schema (jsonschema, about 90 ms to import) runs in the test suite and
whenever `validate=True` is asked for; the doctor's hot path does not pay for it. Checks look facts up here instead of hard-coding them, so a new model,
a retired one or a new error signature is a data change with a test, not a
code change.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from claudex_doctor.errors import KnowledgeError

_HERE = Path(__file__).parent


def _root():
    """The package's files: the directory itself when installed on disk (the usual case, and without
    importing importlib.resources' readers, about 8 ms), else importlib.resources (a zipped install)."""
    if _HERE.is_dir():
        return _HERE
    from importlib import resources
    return resources.files(__name__)


def names() -> list[str]:
    return sorted(p.name[:-5] for p in _root().iterdir() if p.name.endswith(".json"))


def _read(relative: str) -> Any:
    try:
        return json.loads(_root().joinpath(relative).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KnowledgeError(f"knowledge file {relative} cannot be read: {exc}") from None


@cache
def load(name: str, validate: bool = False) -> Any:
    data = _read(f"{name}.json")
    if validate:
        check(name, data)
    return data


def check(name: str, data: Any) -> None:
    """Validate `data` against `schemas/<name>.schema.json`; KnowledgeError when it does not match."""
    schema = _read(f"schemas/{name}.schema.json")
    import jsonschema

    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise KnowledgeError(f"knowledge/{name}.json does not match its schema at {where}: {exc.message}") from None
    except jsonschema.SchemaError as exc:
        raise KnowledgeError(f"knowledge/schemas/{name}.schema.json is not a valid schema: {exc.message}") from None

"""Editing config.yaml without disturbing it: change the asked keys, keep every other byte.

ruamel.yaml's round-trip loader tells us where each key and value sits (line and
column). The edit is made on the text itself, so comments, blank lines, quote
styles, indentation and key order around it stay exactly as the user wrote them.
When a layout is too unusual for a surgical edit (block scalars, multi-line flow
collections), the document is re-emitted by ruamel.yaml's round-trip dumper
instead, which still keeps comments and key order. Either way the result is
parsed again and compared, value by value and type by type, with what was asked:
anything else changed means the edit is refused.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

_MISSING = object()


class EditError(ValueError):
    """The document cannot be edited as asked; the message is one sentence for the user."""


def _rt_yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def safe_load(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


def rt_load(text: str) -> Any:
    return _rt_yaml().load(text)


def parse_error(text: str) -> str | None:
    """None when `text` parses to a mapping; else a sentence with the position of the problem."""
    from ruamel.yaml.error import YAMLError

    try:
        data = safe_load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"{getattr(exc, 'problem', None) or type(exc).__name__}{where}"
    except (RecursionError, ValueError, TypeError) as exc:
        return type(exc).__name__
    from claudex_doctor.base.files import MAX_YAML_VALUES, expands_beyond

    if expands_beyond(data, MAX_YAML_VALUES):
        return f"it expands (through YAML aliases) to more than {MAX_YAML_VALUES} values"
    if not isinstance(data, dict):
        return "the document is not a mapping of settings"
    return None


# -- expected result -------------------------------------------------------------

def apply_to_data(data: dict, assignments: dict[tuple[str, ...], Any]) -> dict:
    out = copy.deepcopy(data)
    for path, value in assignments.items():
        node = out
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
    return out


def same(a: Any, b: Any) -> bool:
    """Deep equality that also compares types (True is not 1, '8327' is not 8327)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# -- rendering -------------------------------------------------------------------

def render_scalar(value: Any, style: str | None = '"') -> str:
    """YAML text for one scalar. style: '"', "'" or None (plain when that reads back the same)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if style == "'" and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    if style is None and text and _plain_ok(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _plain_ok(text: str) -> bool:
    if text != text.strip() or any(ch in text for ch in "#:{}[],&*!|>'\"%@`\n"):
        return False
    try:
        return safe_load(f"k: {text}\n") == {"k": text}
    except Exception:
        return False


def _quote_of(source: str) -> str | None:
    return source[0] if source[:1] in ("'", '"') else None


def _value_end(line: str, col: int) -> int | None:
    """Index just past a single-line value starting at `col`, or None when it does not end on this line."""
    if col >= len(line):
        return col
    first = line[col]
    if first == '"':
        i = col + 1
        while i < len(line):
            if line[i] == "\\":
                i += 2
                continue
            if line[i] == '"':
                return i + 1
            i += 1
        return None
    if first == "'":
        i = col + 1
        while i < len(line):
            if line[i] == "'":
                if line[i + 1:i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return None
    if first in "[{":
        depth, quote, i = 0, None, col
        while i < len(line):
            ch = line[i]
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return None
    if first in "|>&*!":
        return None
    match = re.search(r"\s+#", line[col:])
    end = col + match.start() if match else len(line)
    return len(line[:end].rstrip())


# -- the surgical edit -----------------------------------------------------------

def _last_line(node: Any, fallback: int) -> int:
    """The last line a block node occupies (0-based)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap) and len(node):
        key = list(node.keys())[-1]
        line = node.lc.value(key)[0] if node.lc.data.get(key) else fallback
        return max(line, _last_line(node[key], line))
    if isinstance(node, CommentedSeq) and len(node):
        index = len(node) - 1
        line = node.lc.item(index)[0]
        return max(line, _last_line(node[index], line))
    return fallback


def _seq_prefix(doc: Any, lines: list[str], key_col: int) -> str:
    """How list items are written in this document ('  - '), shifted to sit under a key at `key_col`."""
    offset, gap = _seq_style(doc, lines)
    return " " * (key_col + offset) + "-" + " " * max(1, gap - 1)


def _seq_style(doc: Any, lines: list[str]) -> tuple[int, int]:
    """(dash offset under its key, columns from the dash to the item) of the document's first block list."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    def find(node):
        if isinstance(node, CommentedMap):
            for k in node:
                col = node.lc.key(k)[1]
                value = node[k]
                if isinstance(value, CommentedSeq) and len(value) and not value.fa.flow_style():
                    line, item_col = value.lc.item(0)
                    dash = lines[line].rfind("-", 0, item_col)
                    if dash >= col:
                        return dash - col, item_col - dash
                found = find(value)
                if found:
                    return found
        return None

    return find(doc) or (2, 2)


def _child_indent(doc: Any) -> int:
    from ruamel.yaml.comments import CommentedMap

    for k in doc:
        value = doc[k]
        if isinstance(value, CommentedMap) and len(value) and not value.fa.flow_style():
            first = next(iter(value))
            step = value.lc.key(first)[1] - doc.lc.key(k)[1]
            if step > 0:
                return step
    return 2


def surgical(text: str, path: tuple[str, ...], value: Any) -> str | None:
    """`text` with `path` set to `value`, or None when the layout needs the round-trip dumper."""
    from ruamel.yaml.comments import CommentedMap

    doc = rt_load(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    node, depth = doc, 0
    while depth < len(path) - 1:
        child = node.get(path[depth], _MISSING)
        if child is _MISSING:
            break
        if not isinstance(child, CommentedMap):
            if child is None:
                return None
            raise EditError(f"{'.'.join(path[:depth + 1])} is not a mapping, so {'.'.join(path)} cannot be set; "
                            "fix it by hand")
        node, depth = child, depth + 1
    if isinstance(node, CommentedMap) and node.fa.flow_style():
        return None
    leaf = path[-1]
    if depth == len(path) - 1 and leaf in node:
        return _replace(doc, lines, newline, node, leaf, value)
    # Insert the missing part of the path at the end of the deepest existing mapping.
    step = _child_indent(doc)
    if node is doc:
        indent, after = 0, len(lines) - 1
        while after >= 0 and not lines[after].strip():
            after -= 1
    else:
        if not len(node):
            return None
        first = next(iter(node))
        indent = node.lc.key(first)[1]
        after = _last_line(node, node.lc.key(list(node.keys())[-1])[0])
    block: list[str] = []
    for i, part in enumerate(path[depth:-1]):
        block.append(" " * (indent + i * step) + f"{part}:")
    leaf_indent = indent + (len(path) - 1 - depth) * step
    block.extend(_render_entry(doc, lines, leaf, value, leaf_indent))
    if after < 0:
        new_lines = block + [""]
    else:
        new_lines = lines[:after + 1] + block + lines[after + 1:]
        if node is doc and after == len(lines) - 1:
            new_lines.append("")
    return newline.join(new_lines)


def _render_entry(doc, lines, key: str, value: Any, indent: int, style: str | None = '"') -> list[str]:
    if isinstance(value, list):
        if not value:
            return [" " * indent + f"{key}: []"]
        prefix = _seq_prefix(doc, lines, indent)
        return [" " * indent + f"{key}:"] + [prefix + render_scalar(item, style) for item in value]
    return [" " * indent + f"{key}: {render_scalar(value, style)}"]


def _replace(doc, lines: list[str], newline: str, node, leaf: str, value: Any) -> str | None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    old = node[leaf]
    key_line, key_col = node.lc.key(leaf)
    value_line, value_col = node.lc.value(leaf)
    if isinstance(old, CommentedMap) and not old.fa.flow_style():
        return None
    if isinstance(old, CommentedSeq) and len(old) and not old.fa.flow_style():
        first_line, first_col = old.lc.item(0)
        if any(isinstance(item, (CommentedMap, CommentedSeq)) for item in old):
            return None
        source = lines[first_line][first_col:]
        style = _quote_of(source)
        start, stop = first_line, _last_line(old, first_line) + 1
        if first_line == key_line:
            return None
        head = lines[key_line]
        if isinstance(value, list) and value:
            prefix = lines[first_line][:first_col]
            items = [prefix + render_scalar(item, style if isinstance(item, str) else None) for item in value]
            return newline.join(lines[:start] + items + lines[stop:])
        # a list becomes a scalar (or an empty list): the items go, the value lands on the key line
        head = head.rstrip() + " " + (render_scalar(value, style) if not isinstance(value, list) else "[]")
        return newline.join(lines[:key_line] + [head] + lines[key_line + 1:start] + lines[stop:])
    # the old value is a scalar or a single-line flow collection
    if value_line >= len(lines):
        return None
    line = lines[value_line]
    if old is None and value_line != key_line:
        value_line, line = key_line, lines[key_line]
        match = re.match(r"^(\s*(?:\"[^\"]*\"|'[^']*'|[^\s:#][^:#]*?)\s*:)(.*)$", line)
        if not match:
            return None
        value_col = len(match.group(1))
    end = _value_end(line, value_col)
    if end is None:
        return None
    source = line[value_col:end]
    style = _quote_of(source) if isinstance(old, str) else '"'
    if isinstance(old, str) and style is None and isinstance(value, str):
        style = None
    tail = line[end:]
    if isinstance(value, list) and value:
        head = line[:value_col].rstrip() + tail.rstrip() if tail.strip() else line[:value_col].rstrip()
        prefix = _seq_prefix(doc, lines, key_col)
        items = [prefix + render_scalar(item, '"') for item in value]
        return newline.join(lines[:value_line] + [head] + items + lines[value_line + 1:])
    rendered = "[]" if isinstance(value, list) else render_scalar(value, style)
    if value_col > 0 and line[value_col - 1:value_col] not in (" ", "\t") and value_col == len(line[:value_col].rstrip()):
        rendered = " " + rendered
    lines = list(lines)
    lines[value_line] = line[:value_col] + rendered + tail
    return newline.join(lines)


def roundtrip(text: str, path: tuple[str, ...], value: Any) -> str:
    """The fallback: set the value in ruamel's round-trip tree and dump it (comments and order survive)."""
    import io

    from ruamel.yaml.comments import CommentedMap

    yaml = _rt_yaml()
    doc = yaml.load(text)
    lines = text.splitlines()
    offset, gap = _seq_style(doc, lines)
    yaml.indent(mapping=_child_indent(doc), sequence=offset + gap, offset=offset)
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = CommentedMap()
            node[part] = child
        if not isinstance(child, CommentedMap):
            raise EditError(f"{part} is not a mapping, so {'.'.join(path)} cannot be set; fix it by hand")
        node = child
    node[path[-1]] = value
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return buffer.getvalue()


def edit(text: str, assignments: dict[tuple[str, ...], Any]) -> str:
    """Apply every assignment to the YAML `text`; verify the result says exactly that and nothing else."""
    original = safe_load(text)
    if not isinstance(original, dict):
        raise EditError("config.yaml is not a mapping of settings")
    expected = apply_to_data(original, assignments)
    current = text
    for path, value in assignments.items():
        attempt = surgical(current, path, value)
        if attempt is not None:
            try:
                if same(safe_load(attempt), apply_to_data(safe_load(current), {path: value})):
                    current = attempt
                    continue
            except Exception:
                pass
        current = roundtrip(current, path, value)
    try:
        result = safe_load(current)
    except Exception:
        result = _MISSING
    if result is _MISSING or not same(result, expected):
        raise EditError("the edited config.yaml would not read back as exactly the requested change; "
                        "nothing was written: edit it by hand")
    return current

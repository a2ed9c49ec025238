"""The JSON Schema of `claudex-doctor --json` (schema_version 1).

Consumers may rely on every required field; more fields may appear.
"""

from __future__ import annotations

STATUS = ["pass", "warn", "fail", "skip", "error"]

FIX = {
    "type": "object",
    "required": ["primitive", "safety", "command", "description"],
    "properties": {
        "primitive": {"type": "string", "description": "the primitive that repairs it, or 'manual'"},
        "safety": {"enum": ["safe", "confirm", "manual"]},
        "command": {"type": "string", "description": "the command a user would run by hand"},
        "description": {"type": "string"},
    },
}

CHECK = {
    "type": "object",
    "required": ["id", "title", "status", "summary", "details", "evidence", "blocked_by", "duration_ms",
                 "reference", "fix"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z]+\.[a-z_]+$"},
        "title": {"type": "string"},
        "status": {"enum": STATUS},
        "summary": {"type": "string"},
        "details": {"type": "array", "items": {"type": "string"}},
        "evidence": {"type": "object"},
        "blocked_by": {"type": "array", "items": {"type": "string"}},
        "duration_ms": {"type": "integer", "minimum": 0},
        "reference": {"type": ["string", "null"], "pattern": r"^references/[a-z0-9-]+\.md#[a-z0-9-]+$"},
        "fix": {"oneOf": [{"type": "null"}, FIX]},
    },
}

FIX_RESULT = {
    "type": "object",
    "required": ["primitive", "safety", "status", "checks"],
    "properties": {
        "primitive": {"type": "string"},
        "safety": {"enum": ["safe", "confirm", "manual"]},
        "status": {"enum": ["planned", "applied", "failed", "withheld", "manual"]},
        "checks": {"type": "array", "items": {"type": "string"}},
        "message": {"type": "string"},
        "changes": {"type": "array", "items": {"type": "string"}},
        "before": {"type": "object"},
        "after": {"type": "object"},
    },
}

SOURCE = {
    "type": "object",
    "required": ["kind", "used"],
    "properties": {
        "kind": {"type": "string", "description": "proxy (the running proxy's GET /v1/models), codex_cache "
                                                  "(Codex's models_cache.json) or snapshot (the dated snapshot)"},
        "used": {"type": "boolean", "description": "whether the run took facts from it (a source that could "
                                                   "not be read is not listed; `notes` says why)"},
        "as_of": {"type": ["string", "null"], "description": "when the facts were read or fetched (ISO 8601)"},
        "age_days": {"type": ["number", "null"], "minimum": 0},
        "detail": {"type": "string"},
    },
}

KNOWLEDGE = {
    "type": "object",
    "description": "where the run's model facts came from (optional: present when a check looked any up)",
    "required": ["snapshot", "sources"],
    "properties": {
        "snapshot": {"type": "string", "description": "the date of the snapshot shipped with the doctor"},
        "stale": {"type": "boolean"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "sources": {"type": "array", "items": SOURCE},
    },
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://claudex-doctor.invalid/schema/findings-1.json",
    "title": "claudex-doctor findings",
    "type": "object",
    "required": ["schema_version", "tool", "home", "started_at", "duration_ms", "status", "checks"],
    "properties": {
        "schema_version": {"const": "1"},
        "tool": {
            "type": "object",
            "required": ["name", "version"],
            "properties": {"name": {"const": "claudex-doctor"}, "version": {"type": "string"}},
        },
        "home": {"type": "string"},
        "started_at": {"type": "string", "format": "date-time"},
        "duration_ms": {"type": "integer", "minimum": 0},
        "status": {"enum": ["pass", "warn", "fail", "error"]},
        "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
        "checks": {"type": "array", "items": CHECK},
        "fixes": {"type": "array", "items": FIX_RESULT},
        "knowledge": KNOWLEDGE,
    },
}

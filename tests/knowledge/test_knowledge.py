"""Knowledge files: every data file has a schema and validates; a broken file is a KnowledgeError."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from claudex_doctor import knowledge
from claudex_doctor.errors import KnowledgeError

REPO = Path(__file__).resolve().parent.parent.parent
DATA = sorted(p.stem for p in (REPO / "knowledge").glob("*.json"))
SCHEMAS = sorted(p.name[: -len(".schema.json")] for p in (REPO / "knowledge" / "schemas").glob("*.schema.json"))


def test_there_is_knowledge():
    assert "models" in DATA


def test_every_data_file_has_a_schema_and_every_schema_a_data_file():
    assert DATA == SCHEMAS, f"data without a schema: {sorted(set(DATA) - set(SCHEMAS))}; " \
                            f"schemas without data: {sorted(set(SCHEMAS) - set(DATA))}"


def test_the_installed_package_holds_the_same_files():
    root = resources.files("claudex_doctor.knowledge")
    assert knowledge.names() == DATA
    installed = sorted(p.name for p in root.joinpath("schemas").iterdir() if p.name.endswith(".schema.json"))
    assert installed == [f"{name}.schema.json" for name in SCHEMAS]


def test_without_a_package_directory_importlib_resources_reads_the_files(monkeypatch, tmp_path):
    """A zipped install has no directory on disk: the loader falls back to importlib.resources."""
    monkeypatch.setattr(knowledge, "_HERE", tmp_path / "not-a-directory")
    knowledge.load.cache_clear()
    try:
        assert knowledge.names() == DATA
        assert knowledge.load("models") == json.loads((REPO / "knowledge" / "models.json").read_text(encoding="utf-8"))
    finally:
        knowledge.load.cache_clear()


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_is_a_valid_json_schema(name):
    schema = json.loads((REPO / "knowledge" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert "$schema" in schema, f"{name}.schema.json should say which JSON Schema draft it uses"
    jsonschema.validators.validator_for(schema).check_schema(schema)


@pytest.mark.parametrize("name", DATA)
def test_every_data_file_validates(name):
    data = json.loads((REPO / "knowledge" / f"{name}.json").read_text(encoding="utf-8"))
    schema = json.loads((REPO / "knowledge" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors)
    knowledge.load.cache_clear()
    assert knowledge.load(name, validate=True) == data == knowledge.load(name)


# -- the loader on broken files (a fake package root, never the real files) ----------

@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    """Point the loader's package root at a temporary folder with one good file."""
    (tmp_path / "schemas").mkdir()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "required": ["as_of"], "properties": {"as_of": {"type": "string"}}}
    (tmp_path / "schemas" / "demo.schema.json").write_text(json.dumps(schema))
    (tmp_path / "demo.json").write_text(json.dumps({"as_of": "2026-08-22"}))
    monkeypatch.setattr(knowledge, "_HERE", tmp_path)
    knowledge.load.cache_clear()
    yield tmp_path
    knowledge.load.cache_clear()


def test_fake_root_works(fake_root):
    assert knowledge.names() == ["demo"]
    assert knowledge.load("demo", validate=True) == {"as_of": "2026-08-22"}


@pytest.mark.parametrize("content, words", [
    ('{"as_of": "2026-', "cannot be read"),  # truncated
    ("", "cannot be read"),  # empty
    ('{"as_of": 20260822}', "does not match its schema at as_of"),  # wrong type
    ("[1, 2, 3]", "does not match its schema at (top)"),  # not an object
    ('{"other": 1}', "does not match its schema"),  # required key missing
])
def test_broken_data_is_a_knowledge_error(fake_root, content, words):
    (fake_root / "demo.json").write_text(content)
    with pytest.raises(KnowledgeError) as caught:
        knowledge.load("demo", validate=True)
    assert words in str(caught.value)


def test_binary_garbage_is_a_knowledge_error(fake_root):
    (fake_root / "demo.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KnowledgeError):
        knowledge.load("demo", validate=True)


def test_missing_files_are_knowledge_errors(fake_root):
    with pytest.raises(KnowledgeError):
        knowledge.load("absent", validate=True)
    (fake_root / "schemas" / "demo.schema.json").unlink()
    with pytest.raises(KnowledgeError):
        knowledge.load("demo", validate=True)


def test_a_broken_schema_is_a_knowledge_error(fake_root):
    (fake_root / "schemas" / "demo.schema.json").write_text('{"type": "no-such-type"}')
    with pytest.raises(KnowledgeError):
        knowledge.load("demo", validate=True)

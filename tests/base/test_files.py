"""The bounded readers: pathological nesting and numbers are refused by a scan before any parser runs,
so the verdict is the same on every Python version and costs one linear pass."""

from __future__ import annotations

import json

import pytest

from claudex_doctor.base import files


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [
    "host: " + "[" * 5000 + "]" * 5000 + "\n",                                   # flow sequences
    "host: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",                          # flow mappings
    "".join(" " * i + f"k{i}:\n" for i in range(500)) + " " * 500 + "v: 1\n",  # block mappings
    "x:\n" + "- " * 4000 + "1\n",                                                # nested block sequences on one line
])
def test_yaml_nested_beyond_any_config_is_refused_before_parsing(tmp_path, text):
    loaded = files.read_yaml(_write(tmp_path, "config.yaml", text))
    assert loaded.problem == "invalid"
    assert "not valid YAML" in loaded.message and f"more than {files.MAX_DEPTH} levels" in loaded.message


def test_brackets_in_quotes_and_comments_are_text_not_structure(tmp_path):
    deep = "[" * 200
    text = (f'host: "127.0.0.1"\nnote: "{deep}"\nother: \'{deep}\'\n# {deep}\n'
            f"port: 8327 # {deep}\napi-keys:\n  - \"k\"\nremote-management:\n  allow-remote: false\n")
    loaded = files.read_yaml(_write(tmp_path, "config.yaml", text))
    assert loaded.ok, loaded.message
    assert loaded.data["note"] == deep and loaded.data["port"] == 8327


def test_an_apostrophe_in_a_plain_scalar_does_not_hide_brackets(tmp_path):
    text = "a: don't\nb: " + "[" * 500 + "]" * 500 + "\nc: it's\n"
    loaded = files.read_yaml(_write(tmp_path, "config.yaml", text))
    assert loaded.problem == "invalid" and "levels" in loaded.message


def test_ordinary_nesting_parses(tmp_path):
    text = "a:\n  b:\n    c:\n      - d: [1, {e: [2, 3]}]\n"
    loaded = files.read_yaml(_write(tmp_path, "config.yaml", text))
    assert loaded.ok and loaded.data["a"]["b"]["c"][0]["d"][1]["e"] == [2, 3]


@pytest.mark.parametrize("depth", [files.MAX_DEPTH + 1, 5000, 200_000])
def test_json_depth_is_refused_the_same_on_every_python(tmp_path, depth):
    loaded = files.read_json(_write(tmp_path, "auth.json", '{"a":' + "[" * depth + "]" * depth + "}"))
    assert loaded.problem == "invalid" and "nested too deeply" in loaded.message


def test_json_at_the_depth_limit_parses(tmp_path):
    depth = files.MAX_DEPTH - 1
    loaded = files.read_json(_write(tmp_path, "auth.json", '{"a":' + "[" * depth + "]" * depth + "}"))
    assert loaded.ok


def test_brackets_inside_json_strings_do_not_count(tmp_path):
    loaded = files.read_json(_write(tmp_path, "auth.json", json.dumps({"t": "[" * 10_000, "q": '\\"[[[['})))
    assert loaded.ok and loaded.data["t"] == "[" * 10_000


@pytest.mark.parametrize("number", ["1" * 100_000, "-" + "9" * 5000])
def test_a_number_no_real_file_holds_is_a_named_problem(tmp_path, number):
    loaded = files.read_json(_write(tmp_path, "auth.json", '{"last_refresh": ' + number + "}"))
    assert loaded.problem == "invalid" and "digits" in loaded.message


def test_loads_json_is_what_jwt_payloads_go_through():
    with pytest.raises(files.TooComplex):
        files.loads_json("[" * 10_000 + "]" * 10_000)
    assert files.loads_json(b'{"exp": 1700000000}') == {"exp": 1700000000}

"""Home resolution exactly as the design says: option, env, XDG, legacy."""

from __future__ import annotations

from pathlib import Path

from claudex_doctor.base.paths import display, resolve


def test_default_is_xdg_data_home_or_local_share(tmp_path):
    p = resolve(env={"HOME": str(tmp_path)})
    assert p.home == tmp_path / ".local/share/claudex-gateway" and p.home_reason == "xdg"
    p = resolve(env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")})
    assert p.home == tmp_path / "data/claudex-gateway"


def test_env_beats_default_and_option_beats_env(tmp_path):
    p = resolve(env={"HOME": str(tmp_path), "CLAUDEX_GATEWAY_HOME": str(tmp_path / "e")})
    assert p.home == tmp_path / "e" and p.home_reason == "env"
    p = resolve(env={"HOME": str(tmp_path), "CLAUDEX_GATEWAY_HOME": str(tmp_path / "e")}, home_option=str(tmp_path / "o"))
    assert p.home == tmp_path / "o" and p.home_reason == "option"


def test_legacy_only_when_it_alone_exists(tmp_path):
    share = tmp_path / ".local/share"
    (share / "cliproxyapi-codex-test").mkdir(parents=True)
    p = resolve(env={"HOME": str(tmp_path)})
    assert p.home == share / "cliproxyapi-codex-test" and p.home_reason == "legacy"
    (share / "claudex-gateway").mkdir()
    p = resolve(env={"HOME": str(tmp_path)})
    assert p.home == share / "claudex-gateway" and p.home_reason == "xdg"


def test_layout_names_and_other_homes(tmp_path):
    p = resolve(env={"HOME": str(tmp_path), "CODEX_HOME": str(tmp_path / "cx"), "CLAUDEX_WRAPPER": str(tmp_path / "w")})
    assert p.env_file.name == "claude-code-gpt54.env"
    assert p.proxy_auth == p.home / "auth" / "codex-current.json"
    assert p.codex_auth == tmp_path / "cx" / "auth.json"
    assert p.wrapper == tmp_path / "w"
    assert resolve(env={"HOME": str(tmp_path)}).wrapper == tmp_path / ".local/bin/claudex"


def test_display_uses_tilde(tmp_path):
    assert display(tmp_path / "a", tmp_path) == "~/a"
    assert display(Path("/etc/x"), tmp_path) == "/etc/x"



def test_shell_word_expands_the_home_inside_quotes(tmp_path):
    import subprocess

    from claudex_doctor.base.paths import shell_word

    odd = tmp_path / "my bin" / 'q"uote'
    assert shell_word(tmp_path / "bin", tmp_path) == '"$HOME/bin"'
    for path in (tmp_path / "bin", odd, Path("/opt/x y")):
        word = shell_word(path, tmp_path)
        out = subprocess.run(["sh", "-c", f"printf %s {word}"], capture_output=True, text=True,
                             env={"HOME": str(tmp_path)}).stdout
        assert out == str(path)

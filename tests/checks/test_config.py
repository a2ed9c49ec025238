"""config.valid and config.exposure: each test breaks exactly one thing in a throwaway home."""

from __future__ import annotations

import json

import pytest

from tests.cfgkit import Home, apply_fix, config_text, text_of

BCRYPT = "$2a$10$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path)


def test_standard_home_passes_and_nothing_is_written(home):
    before = home.snapshot()
    found = home.run("config.valid", "config.exposure")
    assert found["config.valid"].status.value == "pass", found["config.valid"]
    assert found["config.exposure"].status.value == "pass", found["config.exposure"]
    assert found["config.valid"].evidence["launcher"] == "home"
    assert home.snapshot() == before
    assert home.key not in text_of(found["config.exposure"])


def test_yaml_that_does_not_parse_names_line_and_column(home):
    home.write_config('host: "127.0.0.1"\nport: 8327\napi-keys:\n  - "a\n  - b\n')
    finding = home.one("config.valid")
    assert finding.status.value == "fail"
    assert "not valid YAML" in finding.summary and "line" in finding.summary and "column" in finding.summary
    assert finding.reference == "references/config.md#config-does-not-parse"
    assert finding.fix.safety.value == "manual"


@pytest.mark.parametrize("text, words", [("- host: 127.0.0.1\n- port: 8327\n", "holds a list"),
                                         ("just a sentence\n", "holds a string"),
                                         ("8327\n", "holds a number")])
def test_yaml_that_is_not_a_mapping(home, text, words):
    home.write_config(text)
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and words in finding.summary
    assert finding.reference == "references/config.md#config-is-not-a-mapping"


def test_missing_config_offers_bootstrap(home):
    home.config.unlink()
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "does not exist" in finding.summary
    assert finding.fix.primitive == "bootstrap" and finding.fix.safety.value == "confirm"


def test_port_missing_is_a_failure_with_a_set_config_fix(home):
    home.write_config(config_text(home.key).replace("port: 8327\n", ""))
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "no port" in finding.summary
    assert finding.fix.primitive == "set-config" and finding.fix.args == {"assignments": {"port": 8327}}


@pytest.mark.parametrize("port, words", [('"abc"', "text ('abc')"), ('"8327"', "text ('8327')"), ("true", "true/false"),
                                         ("83.27", "decimal")])
def test_port_that_is_not_an_int(home, port, words):
    home.write_config(config_text(home.key, port=port))
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "not a whole number" in finding.summary and words in finding.summary
    assert finding.reference == "references/config.md#port-missing-or-invalid"


def test_quoted_port_says_why(home):
    home.write_config(config_text(home.key, port='"8327"'))
    finding = home.one("config.valid")
    assert any("quoted" in d for d in finding.details)
    assert finding.fix.args == {"assignments": {"port": 8327}}


def test_non_standard_port_is_a_warning_and_never_changed(home):
    home.write_config(config_text(home.key, port=9000))
    home.env_values(ANTHROPIC_BASE_URL="http://127.0.0.1:9000")
    finding = home.one("config.valid")
    assert finding.status.value == "warn" and "9000" in finding.summary
    assert finding.fix is None
    assert finding.reference == "references/config.md#non-standard-port"


def test_port_different_from_the_env_file_fails_and_the_env_file_follows(home):
    home.env_values(ANTHROPIC_BASE_URL="http://127.0.0.1:9999")
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "9999" in finding.summary
    assert finding.reference == "references/config.md#port-mismatch"
    assert finding.fix.primitive == "set-env" and finding.fix.safety.value == "safe"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327"}}
    apply_fix(home, finding)
    assert home.one("config.valid").status.value == "pass"


def test_relative_auth_dir_with_a_launcher_that_does_not_cd(home):
    home.write_launcher("#!/bin/sh\nexec /opt/proxy/cli-proxy-api -config /opt/proxy/config.yaml\n")
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "does not cd" in finding.summary
    assert finding.reference == "references/config.md#relative-auth-dir-without-cd"
    assert finding.fix.primitive == "set-config"
    absolute = finding.fix.args["assignments"]["auth-dir"]
    assert absolute.endswith("/auth") and absolute.startswith("/")
    apply_fix(home, finding)
    assert home.one("config.valid").status.value == "pass"


@pytest.mark.parametrize("script", [
    '#!/bin/sh\nHERE="$(cd "$(dirname "$0")" && pwd)"\ncd "$HERE" || exit 1\nexec ./cli-proxy-api\n',
    '#!/bin/bash\ncd -- "${0%/*}"\nexec ./cli-proxy-api\n',
    "#!/bin/sh\n# start it\ncd '{home}' && exec ./cli-proxy-api -config config.yaml\n",
])
def test_launchers_that_cd_into_the_home_are_recognised(home, script):
    home.write_launcher(script.replace("{home}", str(home.home)))
    assert home.one("config.valid").status.value == "pass"


def test_a_cd_inside_a_subshell_does_not_count(home):
    home.write_launcher('#!/bin/sh\nHERE="$(cd "$(dirname "$0")" && pwd)"\nexec "$HERE/cli-proxy-api"\n')
    assert home.one("config.valid").status.value == "fail"


def test_launcher_that_cds_elsewhere_fails(home):
    home.write_launcher("#!/bin/sh\ncd /tmp && exec ./cli-proxy-api\n")
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "relative" in finding.summary


def test_missing_launcher_with_relative_auth_dir_is_a_warning(home):
    home.launcher.unlink()
    finding = home.one("config.valid")
    assert finding.status.value == "warn" and "no run.sh" in finding.summary


def test_auth_dir_that_does_not_exist(home):
    (home.home / "auth").rmdir()
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "does not exist" in finding.summary
    assert finding.reference == "references/config.md#auth-dir-missing"
    assert "sync-auth" in finding.fix.command


def test_auth_dir_outside_the_home_warns(home, tmp_path):
    elsewhere = tmp_path / "other-auth"
    elsewhere.mkdir()
    home.write_config(config_text(home.key, auth_dir=str(elsewhere)))
    finding = home.one("config.valid")
    assert finding.status.value == "warn" and "not the home's auth/" in finding.summary
    assert finding.fix.safety.value == "confirm"


def test_host_of_the_wrong_type(home):
    home.write_config(config_text(home.key).replace('host: "127.0.0.1"', "host: 123"))
    finding = home.one("config.valid")
    assert finding.status.value == "fail" and "host is a number" in finding.summary


# -- exposure -------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "192.168.1.20"])
def test_host_not_loopback_fails_with_a_safe_fix(home, host):
    home.write_config(config_text(home.key, host=host))
    finding = home.one("config.exposure")
    assert finding.status.value == "fail" and "network" in finding.summary
    assert finding.reference == "references/config.md#proxy-exposed-to-the-network"
    assert finding.fix.primitive == "set-config" and finding.fix.safety.value == "safe"
    assert finding.fix.args == {"assignments": {"host": "127.0.0.1"}}
    assert finding.fix.command == "claudex-doctor set-config host=127.0.0.1"
    apply_fix(home, finding)
    assert home.one("config.exposure").status.value == "pass"


def test_missing_host_means_every_interface(home):
    home.write_config(config_text(home.key).replace('host: "127.0.0.1"\n', ""))
    assert home.one("config.exposure").status.value == "fail"


@pytest.mark.parametrize("host", ["localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_pass(home, host):
    home.write_config(config_text(home.key, host=host))
    assert home.one("config.exposure").status.value == "pass"


@pytest.mark.parametrize("keys", ["api-keys: []\n", "api-keys:\n", ""])
def test_empty_api_keys_means_no_auth(home, keys):
    text = config_text(home.key).replace(f'api-keys:\n  - "{home.key}"\n', keys)
    home.write_config(text)
    finding = home.one("config.exposure")
    assert finding.status.value == "fail" and "without any key" in finding.summary
    assert finding.reference == "references/config.md#no-api-keys"
    assert finding.fix.safety.value == "confirm"


def test_template_keys_put_the_proxy_in_safe_mode_and_one_fix_changes_both_files(home):
    home.write_config(config_text("your-api-key-1"))
    home.env_values(ANTHROPIC_AUTH_TOKEN="your-api-key-1")
    finding = home.one("config.exposure")
    assert finding.status.value == "fail" and "your-api-key-1" in finding.summary and "safe mode" in finding.summary
    assert finding.reference == "references/config.md#example-api-keys-safe-mode"
    assert finding.fix.primitive == "set-config" and finding.fix.safety.value == "confirm"
    assert finding.fix.args == {"assignments": {"api-keys": "@random"}}
    result = apply_fix(home, finding)
    assert result.ok
    from claudex_doctor.base.files import read_yaml
    from claudex_doctor.config import envfile
    keys = read_yaml(home.config).data["api-keys"]
    token = envfile.parse(home.env_file.read_text()).values["ANTHROPIC_AUTH_TOKEN"]
    assert len(keys) == 1 and keys[0] == token and token.startswith("claudex-") and len(token) > 40
    assert token not in "\n".join(result.changes) + result.message
    found = home.run("config.exposure", "env.consistency")
    assert found["config.exposure"].status.value == "pass"
    assert found["env.consistency"].status.value == "pass", found["env.consistency"]


def test_api_keys_as_a_string(home):
    home.write_config(config_text(home.key).replace(f'api-keys:\n  - "{home.key}"\n', f'api-keys: "{home.key}"\n'))
    found = home.run("config.valid", "config.exposure")
    assert found["config.valid"].status.value == "fail" and "api-keys is text" in found["config.valid"].summary
    assert found["config.exposure"].status.value == "fail"
    assert home.key not in text_of(found["config.valid"]) + text_of(found["config.exposure"])


REMOTE = "remote-management:\n  allow-remote: {allow}\n  secret-key: \"{secret}\"\n"


@pytest.mark.parametrize("secret", ["a-plaintext-management-secret", BCRYPT])
def test_remote_management_open_with_a_key_fails(home, secret):
    text = config_text(home.key).split("remote-management:")[0] + REMOTE.format(allow="true", secret=secret)
    home.write_config(text)
    finding = home.one("config.exposure")
    assert finding.status.value == "fail" and "remote management" in finding.summary
    assert finding.reference == "references/config.md#remote-management-open"
    assert finding.fix.args == {"assignments": {"remote-management.allow-remote": False}}
    assert secret not in text_of(finding)
    apply_fix(home, finding)
    assert home.one("config.exposure").status.value == "pass"


def test_yaml_1_1_yes_counts_as_true_for_the_proxy(home):
    text = config_text(home.key).split("remote-management:")[0] + REMOTE.format(allow="yes", secret="key-12345678")
    home.write_config(text)
    assert home.one("config.exposure").status.value == "fail"


def test_a_hashed_key_kept_local_is_not_drift(home):
    text = config_text(home.key).split("remote-management:")[0] + REMOTE.format(allow="false", secret=BCRYPT)
    home.write_config(text)
    finding = home.one("config.exposure")
    assert finding.status.value == "pass"
    assert finding.evidence["secret_key"] == "bcrypt hash"


def test_a_plaintext_key_kept_local_passes_with_a_note(home):
    text = config_text(home.key).split("remote-management:")[0] + REMOTE.format(allow="false", secret="plain-secret-1")
    home.write_config(text)
    finding = home.one("config.exposure")
    assert finding.status.value == "pass"
    assert any("bcrypt" in d for d in finding.details)
    assert "plain-secret-1" not in text_of(finding)


def test_exposure_is_skipped_when_the_config_cannot_be_parsed(home):
    home.write_config("host: [unclosed\n")
    finding = home.one("config.exposure")
    assert finding.status.value == "skip" and finding.blocked_by == ("config.valid",)


def test_several_problems_one_summary_and_the_safe_fix_first(home):
    home.write_config(config_text("your-api-key-2", host="0.0.0.0"))
    finding = home.one("config.exposure")
    assert "(and 1 more)" in finding.summary
    assert any("safe mode" in d for d in finding.details)
    assert finding.fix.safety.value == "safe" and finding.fix.args == {"assignments": {"host": "127.0.0.1"}}


def test_cli_json_never_shows_the_key(home, cli):
    home.write_config(config_text(home.key, host="0.0.0.0"))
    proc = cli("--json", "--only", "config.valid,config.exposure", env=home.cli_env())
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    exposure = next(c for c in data["checks"] if c["id"] == "config.exposure")
    assert exposure["status"] == "fail" and exposure["fix"]["command"] == "claudex-doctor set-config host=127.0.0.1"
    assert home.key not in proc.stdout + proc.stderr
    proc = cli("-v", "--only", "config.valid,config.exposure", env=home.cli_env(NO_COLOR="1"))
    assert home.key not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr

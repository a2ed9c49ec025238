"""env.proxy_vars: proxy variables in the shell, the env file and settings, and the NO_PROXY that exempts loopback.

The rules asserted here are what Claude Code 2.1.330 did through the real proxy (tests/e2e/FINDINGS.md):
any of HTTP_PROXY/HTTPS_PROXY/ALL_PROXY catches http://127.0.0.1, `localhost` does not exempt 127.0.0.1,
a CIDR and `*` do, and the lower-case no_proxy wins over NO_PROXY.
"""

from __future__ import annotations

import pytest

from claudex_doctor.checks.network import covers, shown_proxy
from tests.cfgkit import Home, apply_fix, text_of

CORP = "http://proxyuser:CANARYPROXYPASSWORD@proxy.corp.example:3128"


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path)


@pytest.mark.parametrize("no_proxy, host, covered", [
    ("127.0.0.1", "127.0.0.1", True),
    ("localhost", "127.0.0.1", False),
    ("127.0.0.1", "localhost", False),
    ("127.0.0.0/8", "127.0.0.1", True),
    ("*", "127.0.0.1", True),
    (" corp.example , 127.0.0.1:8327 ", "127.0.0.1", True),
    (".example.com", "api.example.com", True),
    ("example.com", "api.example.com", True),
    ("corp.example", "127.0.0.1", False),
    ("::1", "::1", True),
    ("[::1]", "::1", True),
    ("", "127.0.0.1", False),
    ("not-a-cidr/99", "127.0.0.1", False),
])
def test_covers(no_proxy, host, covered):
    assert covers(no_proxy, host) is covered


def test_a_proxy_url_is_shown_without_its_credentials():
    assert shown_proxy(CORP) == "http://proxy.corp.example:3128"
    assert shown_proxy("proxy.corp.example:3128") == "proxy.corp.example:3128"


def test_no_proxy_variables_pass(home):
    finding = home.one("env.proxy_vars")
    assert finding.status.value == "pass" and "no HTTP(S)_PROXY" in finding.summary


@pytest.mark.parametrize("name", ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"])
def test_any_proxy_variable_without_no_proxy_fails_and_set_env_repairs_it(home, name):
    finding = home.one("env.proxy_vars", env={name: CORP})
    assert finding.status.value == "fail", finding.summary
    assert name in finding.summary and "no NO_PROXY is set" in finding.summary
    assert finding.reference == "references/network.md#proxy-variables-catch-loopback-traffic"
    assert finding.fix.primitive == "set-env" and finding.fix.safety.value == "safe"
    assert "CANARYPROXYPASSWORD" not in text_of(finding)
    apply_fix(home, finding)
    text = home.env_file.read_text()
    assert "NO_PROXY=127.0.0.1,localhost,::1" in text and "no_proxy=127.0.0.1,localhost,::1" in text
    assert home.one("env.proxy_vars", env={name: CORP}).status.value == "pass"


def test_localhost_does_not_exempt_127_0_0_1(home):
    finding = home.one("env.proxy_vars", env={"HTTPS_PROXY": CORP, "NO_PROXY": "localhost,.corp.example"})
    assert finding.status.value == "fail" and "does not name 127.0.0.1" in finding.summary
    # the fix keeps what NO_PROXY already held
    assert finding.fix.args["assignments"]["NO_PROXY"] == "localhost,.corp.example,127.0.0.1,::1"


def test_lower_case_no_proxy_wins(home):
    finding = home.one("env.proxy_vars", env={"HTTP_PROXY": CORP, "NO_PROXY": "127.0.0.1", "no_proxy": "corp.example"})
    assert finding.status.value == "fail"
    assert "the lower-case no_proxy wins" in finding.summary
    assert home.one("env.proxy_vars", env={"HTTP_PROXY": CORP, "no_proxy": "127.0.0.1",
                                           "NO_PROXY": "corp.example"}).status.value == "pass"


def test_covering_no_proxy_passes(home):
    for value in ("127.0.0.1,localhost", "127.0.0.0/8", "*"):
        finding = home.one("env.proxy_vars", env={"ALL_PROXY": CORP, "NO_PROXY": value})
        assert finding.status.value == "pass", (value, finding.summary)


def test_the_env_file_overrides_the_shell(home):
    home.env_values(HTTPS_PROXY=CORP)
    assert home.one("env.proxy_vars").status.value == "fail"
    home.env_values(NO_PROXY="127.0.0.1")
    assert home.one("env.proxy_vars", env={"HTTPS_PROXY": CORP}).status.value == "pass"


def test_a_settings_env_block_beats_the_env_file_and_is_fixed_by_hand(home):
    home.env_values(NO_PROXY="127.0.0.1,localhost,::1")
    home.claude_file("~/.claude/settings.json", {"env": {"HTTPS_PROXY": CORP, "NO_PROXY": "corp.example"}})
    finding = home.one("env.proxy_vars")
    assert finding.status.value == "fail"
    assert finding.fix.safety.value == "manual" and "settings.json" in finding.fix.command
    assert "CANARYPROXYPASSWORD" not in text_of(finding)


def test_a_base_url_off_loopback_is_not_judged(home):
    home.env_values(ANTHROPIC_BASE_URL="https://gateway.example.com")
    finding = home.one("env.proxy_vars", env={"HTTPS_PROXY": CORP})
    assert finding.status.value == "pass" and "not on loopback" in finding.summary


@pytest.mark.parametrize("settings", [
    {"env": {"HTTPS_PROXY": 8080, "NO_PROXY": ["127.0.0.1"]}},
    {"env": "HTTPS_PROXY=x"},
    [1, 2],
])
def test_odd_settings_values_are_ignored_not_fatal(home, settings):
    home.claude_file("~/.claude/settings.json", settings)
    assert home.one("env.proxy_vars").status.value == "pass"


def test_an_unreadable_env_file_still_judges_the_shell(home):
    home.write_env(b"\xff\xfe\x00binary")
    finding = home.one("env.proxy_vars", env={"HTTP_PROXY": CORP})
    assert finding.status.value == "fail"

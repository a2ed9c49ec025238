"""The support report: complete, shareable, and redacted fail-closed (canaries in every section)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.base.redact import REGISTRY, fingerprint, redact_text
from claudex_doctor.core.context import Options
from claudex_doctor.core.model import Finding, Fix, RunResult, Status
from claudex_doctor.errors import ReportError
from claudex_doctor.help import report as rp
from claudex_doctor.render import markdown as md
from tests.conftest import free_port


def jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part(claims)}.c2lnbmF0dXJlLWNhbmFyeQ"


AUTH = "https://api.openai.com/auth"
ACCESS = jwt({"exp": 4102444800, "iat": 1700000000, AUTH: {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acct-canary-77"}})
ID_TOKEN = jwt({"exp": 4102444800, "email": "someone@example.com", AUTH: {"chatgpt_plan_type": "pro"}})
PROXY_ACCESS = jwt({"exp": 4102444801, "iat": 1700000001, "sub": "proxy-canary"})
LOG_JWT = jwt({"sub": "log-canary", "exp": 1})

CANARIES = {
    "config api key": "canary-config-apikey-0001",
    "management key": "canary-mgmt-secret-0002",
    "proxy-url password": "canary-proxy-pw-0003",
    "env file secret": "canary-envfile-secret-0004",
    "codex refresh token": "canary-codex-refresh-opaque-0005",
    "proxy refresh token": "canary-proxy-refresh-0006",
    "bearer in a log": "canary-bearer-log-0007",
    "refresh token in a log": "canary-log-refresh-0008",
    "sk key in a log": "sk-proj-CANARYlogkey000000000009",
    "rt token in a log": "rt_CANARYlogrefresh0123456789",
    "sk key in the journal": "sk-CANARYjournal00000000000010",
    "process ANTHROPIC_AUTH_TOKEN": "canary-process-env-token-0011",
    "LITELLM_MASTER_KEY": "canary-litellm-master-0012",
    "codex access token": ACCESS,
    "codex id token": ID_TOKEN,
    "proxy access token": PROXY_ACCESS,
    "JWT in a log": LOG_JWT,
}


@pytest.fixture
def stack(user_home, gateway_home):
    """A complete home with a secret planted in every file the report reads."""
    c = CANARIES
    port = free_port()
    home = gateway_home
    (home / "auth").mkdir(parents=True)
    (home / "logs").mkdir()
    (home / "config.yaml").write_text(
        f'host: "127.0.0.1"\nport: {port}\nauth-dir: "./auth"\napi-keys:\n  - "{c["config api key"]}"\n'
        f'remote-management:\n  allow-remote: false\n  secret-key: "{c["management key"]}"\n'
        f'proxy-url: "socks5://user:{c["proxy-url password"]}@proxy.example:1080"\n')
    (home / "claude-code-gpt54.env").write_text(
        f"export ANTHROPIC_BASE_URL=http://127.0.0.1:{port}\nexport ANTHROPIC_AUTH_TOKEN={c['config api key']}\n"
        f"export CUSTOM_SECRET='{c['env file secret']}'\nexport ANTHROPIC_DEFAULT_OPUS_MODEL='gpt-5.6-sol(xhigh)'\n")
    (home / "run.sh").write_text("#!/bin/sh\ncd \"$(dirname \"$0\")\" && exec ./cli-proxy-api -config config.yaml\n")
    os.chmod(home / "run.sh", 0o755)
    proxy_auth = home / "auth" / "codex-current.json"
    proxy_auth.write_text(json.dumps({"type": "codex", "access_token": PROXY_ACCESS, "refresh_token": c["proxy refresh token"],
                                      "id_token": ID_TOKEN, "account_id": "acct-canary-77",
                                      "expired": "2099-01-01T00:00:00Z", "last_refresh": "2026-11-20T08:00:00Z"}))
    os.chmod(proxy_auth, 0o600)
    codex = user_home / ".codex"
    codex.mkdir()
    (codex / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": None, "tokens": {
        "id_token": ID_TOKEN, "access_token": ACCESS, "refresh_token": c["codex refresh token"],
        "account_id": "acct-canary-77"}, "last_refresh": "2026-11-19T08:00:00Z"}, indent=2))
    log_lines = [
        "[2026-11-24 02:48:05] [--------] [info ] [run.go:66] API server started on 127.0.0.1",
        f"[2026-11-24 02:48:06] [--------] [error] request failed: Authorization: Bearer {c['bearer in a log']}",
        f"[2026-11-24 02:48:07] [--------] [error] upstream token {LOG_JWT} rejected",
        f"[2026-11-24 02:48:08] [--------] [warn ] refresh_token={c['refresh token in a log']} refresh_token_reused",
        f"[2026-11-24 02:48:09] [--------] [error] key {c['sk key in a log']} and {c['rt token in a log']}",
        f"[2026-11-24 02:48:10] [--------] [error] copied {c['codex refresh token']} from {user_home}/.codex",
    ]
    (home / "cli-proxy-api.log").write_text("\n".join(["filler line"] * 200 + log_lines) + "\n")
    (home / "logs" / "main.log").write_text("\x1b[31mcolored\x1b[0m " + log_lines[1] + "\n")
    (home / "doctor-journal.jsonl").write_text(json.dumps({
        "at": "2026-11-24T02:00:00+00:00", "primitive": "set-env", "status": "applied",
        "message": f"set ANTHROPIC_AUTH_TOKEN from {c['sk key in the journal']} (was {c['config api key']})",
        "changes": [f"write {home}/claude-code-gpt54.env"], "backups": []}) + "\nnot json\n")
    env = {"HOME": str(user_home), "PATH": os.environ.get("PATH", ""), "ANTHROPIC_AUTH_TOKEN": c["process ANTHROPIC_AUTH_TOKEN"],
           "LITELLM_MASTER_KEY": c["LITELLM_MASTER_KEY"], "HTTPS_PROXY": f"http://bob:{c['proxy-url password']}@10.0.0.1:3128"}
    return {"home": home, "user_home": user_home, "env": env, "port": port}


def _collect(stack, **kwargs):
    paths = resolve(env=stack["env"])
    return rp.collect(paths, Options(deadline=8, offline=True), env=stack["env"], **kwargs)


def _assert_clean(text: str, user_home) -> None:
    leaked = [name for name, value in CANARIES.items() if value in text]
    assert not leaked, f"secrets leaked: {leaked}"
    assert str(user_home) not in text, "the home directory must be shown as ~"


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_no_canary_survives_any_section(stack, fmt):
    report = _collect(stack)
    text = rp.to_json(report) if fmt == "json" else rp.to_markdown(report)
    _assert_clean(text, stack["user_home"])
    assert "~/.local/share/claudex-gateway" in text
    # the same key in config and env file shows the same fingerprint: comparable without being revealed
    assert text.count(fingerprint(CANARIES["config api key"])) >= 2


def test_secrets_are_masked_structurally_before_the_last_pass(stack):
    REGISTRY.clear()  # no registered secrets: only the structural layer is left
    report = _collect(stack)
    REGISTRY.clear()
    data = json.loads(json.dumps(report.config, default=str))
    assert data["data"]["api-keys"] == [fingerprint(CANARIES["config api key"])]
    assert data["data"]["remote-management"]["secret-key"] == fingerprint(CANARIES["management key"])
    assert CANARIES["proxy-url password"] not in json.dumps(data)
    assert report.env["values"]["ANTHROPIC_AUTH_TOKEN"] == fingerprint(CANARIES["config api key"])
    assert report.env["values"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "gpt-5.6-sol(xhigh)"
    assert report.environment["ANTHROPIC_AUTH_TOKEN"] == fingerprint(CANARIES["process ANTHROPIC_AUTH_TOKEN"])
    codex, proxy = report.credentials
    assert codex["refresh_token"] == fingerprint(CANARIES["codex refresh token"])
    assert proxy["refresh_token"] == fingerprint(CANARIES["proxy refresh token"])
    assert codex["access_token_claims"]["plan"] == "pro" and proxy["mode"] == "0o600"
    assert "someone@example.com" not in json.dumps(report.credentials)


def test_report_contents(stack):
    report = _collect(stack)
    data = json.loads(rp.to_json(report))
    assert set(data) >= {"report_id", "generated_at", "versions", "home", "layout", "result", "config", "env",
                         "log_tail", "journal"}
    assert re.fullmatch(r"cx-[0-9a-f]{8}", data["report_id"])
    assert data["versions"]["claudex-doctor"] and data["versions"]["python"] and data["versions"]["os"]
    assert data["home"]["path"] == "~/.local/share/claudex-gateway"
    layout = {e["path"]: e for e in data["layout"]}
    assert layout["~/.local/share/claudex-gateway/auth/codex-current.json"]["mode"] == "0o600"
    assert layout["~/.local/share/claudex-gateway/run.sh"]["size"] > 0
    assert data["result"]["schema_version"] == "1" and data["result"]["checks"]
    main_log = data["log_tail"][0]
    assert main_log["path"].endswith("cli-proxy-api.log") and len(main_log["lines"]) == rp.LOG_LINES
    assert "refresh_token_reused" in "\n".join(main_log["lines"])
    assert not any("\x1b" in line for entry in data["log_tail"] for line in entry["lines"])
    assert len(data["journal"]) == 1 and data["journal"][0]["primitive"] == "set-env"
    text = rp.to_markdown(report)
    assert "ANTHROPIC_DEFAULT_OPUS_MODEL='gpt-5.6-sol(xhigh)'" in text  # the mapping survives redaction
    assert f"socks5://user:[redacted {fingerprint(CANARIES['proxy-url password'])}]@proxy.example" in text
    for heading in ("## Versions", "## Layout", "## Findings", "## config.yaml", "## Env file", "## Environment",
                    "## Proxy log", "## Fix journal"):
        assert heading in text


def test_versions_come_from_the_findings_not_a_second_run():
    result = RunResult((Finding("bin.claude", "Claude Code", Status.PASS, "ok", evidence={"version": "2.1.330"}),
                        Finding("bin.proxy", "proxy", Status.PASS, "ok", evidence={"version": "v7.2.140", "commit": "a7e3596"})),
                       "~/h", "2026-11-24T00:00:00+00:00", 5, "0.1.0")
    versions = rp._versions(result)
    assert versions["claude"] == "2.1.330" and versions["cli-proxy-api"] == "v7.2.140 (a7e3596)"
    assert versions["codex"] is None


def test_a_broken_config_is_shown_masked(stack):
    secret = "canary-broken-yaml-key-0099"
    (stack["home"] / "config.yaml").write_text(f"port: [8327\napi-keys:\n- {secret}\nsecret-key: 'also-{secret}'\n")
    REGISTRY.clear()
    report = _collect(stack)
    assert report.config["problem"] == "invalid"
    assert secret not in report.config["text"] and "api-keys:" in report.config["text"]
    _assert_clean(rp.to_markdown(report), stack["user_home"])


def test_mask_yaml_text_handles_lists_and_pairs():
    text = "host: 0.0.0.0\napi-keys:\n  - k-one-12345678\n  - 'k-two-12345678'\nport: 8327\nsecret-key: abc\n"
    out = rp.mask_yaml_text(text)
    assert "k-one" not in out and "k-two" not in out and "abc" not in out
    assert "host: 0.0.0.0" in out and "port: 8327" in out and "your-api-key-1" in rp.mask_yaml_text(
        "api-keys:\n- your-api-key-1\n")


def test_tilde_only_replaces_the_whole_home(tmp_path):
    home = tmp_path / "home0"
    text = f"{home}/x {home} {home}1/y '{home}'"
    assert rp.tilde(text, home) == f"~/x ~ {home}1/y '~'"


def test_url_passwords_are_masked_by_redact_text():
    out = redact_text("proxy-url: socks5://user:hunter2pw@proxy.example:1080 and http://127.0.0.1:8327/v1")
    assert "hunter2pw" not in out and "socks5://user:[redacted" in out and "http://127.0.0.1:8327/v1" in out
    assert redact_text(out) == out


def test_markdown_renderer_is_pure_and_fenced():
    result = RunResult((
        Finding("port.owner", "Port owner", Status.FAIL, "port | taken", details=("pid 42 owns it",),
                evidence={"log": "```\nBearer abcdefghijklmnop"}, reference="references/service.md#nothing-listening",
                fix=Fix.safe("restart", "restart the proxy")),
        Finding("bin.go", "Go", Status.PASS, "go 1.26", evidence={"version": "1.26"}),
    ), "~/h", "2026-11-24T00:00:00+00:00", 12, "0.1.0")
    first = md.render(result)
    assert first == md.render(result)
    assert "port \\| taken" in first and "````json" in first
    assert "abcdefghijklmnop" not in first
    assert "Fix (safe): `claudex-doctor restart`" in first and "claudex-doctor explain service" in first
    assert first.index("port.owner") < first.index("<details>") < first.index("`bin.go`: Go")


# -- the command ---------------------------------------------------------------------

def test_cli_writes_a_private_file_and_names_it(stack, cli, tmp_path):
    env = {k: v for k, v in stack["env"].items() if k != "PATH"}
    proc = cli("report", "--offline", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    report_id = re.search(r"report id: (cx-[0-9a-f]{8})", proc.stderr).group(1)
    target = tmp_path / f"claudex-report-{report_id}.md"
    assert f"./claudex-report-{report_id}.md" in proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert text.startswith(f"# claudex-doctor report {report_id}")
    _assert_clean(text + proc.stderr, stack["user_home"])


def test_cli_json_to_stdout(stack, cli, tmp_path):
    env = {k: v for k, v in stack["env"].items() if k != "PATH"}
    proc = cli("report", "--offline", "--format", "json", "-o", "-", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["report_id"] in proc.stderr
    assert list(tmp_path.iterdir()) == []
    _assert_clean(proc.stdout, stack["user_home"])


def test_cli_refuses_a_directory_as_output(cli, tmp_path):
    proc = cli("report", "--offline", "-o", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_json_that_redaction_would_break_is_refused(stack, monkeypatch):
    report = _collect(stack)
    monkeypatch.setattr(rp, "redact_text", lambda text: text.replace('"report_id"', '"report_id'))
    with pytest.raises(ReportError):
        rp.to_json(report)

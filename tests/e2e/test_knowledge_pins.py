"""The snapshot (knowledge/models.json) against the pinned real components.

A pin bump that changes a fact fails here until `python scripts/refresh_knowledge.py` is run (and the
curated facts below are checked by hand): the catalogs, what the proxy presents upstream, how it reads
effort suffixes, and the windows the doctor reads from it live.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.checks import CHECKS, StackContext
from claudex_doctor.core.context import Options
from claudex_doctor.core.graph import Graph, check, run
from claudex_doctor.core.model import Status, passed
from claudex_doctor.knowledge import models
from tests.fakes.home import make_home

from .harness import ENV_AT_IMPORT, bin_dir

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent.parent
PONG = {"model": "gpt-5.5", "max_tokens": 100, "messages": [{"role": "user", "content": "say pong"}]}
PINNED = models.catalog()["proxies"][models.catalog()["pinned_proxy"]]


def test_the_snapshot_agrees_with_the_pinned_codex_and_proxy(proxy_bin, codex_bin):
    """scripts/refresh_knowledge.py --check: the generated facts equal what the pinned components say."""
    env = {"PATH": ENV_AT_IMPORT.get("PATH", "/usr/bin:/bin"), "HOME": ENV_AT_IMPORT.get("HOME", "/nonexistent")}
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "refresh_knowledge.py"), "--check",
                           "--bin-dir", str(bin_dir())], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"the snapshot differs from the pinned components (run the script):\n" \
                                 f"{proc.stdout}{proc.stderr}"
    assert "model facts agree with codex-cli" in proc.stdout


def test_a_fact_that_moved_is_a_diff_and_the_rewrite_fixes_it(proxy_bin, codex_bin, tmp_path):
    import json

    data = json.loads((REPO / "knowledge" / "models.json").read_text())
    data["codex"]["models"][0]["context_window"] = 123456
    del data["proxies"][data["pinned_proxy"]]["tiers"]["free"]
    copy = tmp_path / "models.json"
    copy.write_text(json.dumps(data))
    script = [sys.executable, str(REPO / "scripts" / "refresh_knowledge.py"), "--bin-dir", str(bin_dir()),
              "--snapshot", str(copy)]
    env = {"PATH": ENV_AT_IMPORT.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    check = subprocess.run([*script, "--check"], capture_output=True, text=True, timeout=300, env=env)
    assert check.returncode == 1
    assert "~ codex.models.gpt-6.2-sol.context_window: 123456 -> 500000" in check.stdout
    assert "+ proxies.v7.2.140.tiers.free:" in check.stdout
    rewrite = subprocess.run(script, capture_output=True, text=True, timeout=300, env=env)
    assert rewrite.returncode == 0, rewrite.stderr
    again = subprocess.run([*script, "--check"], capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stdout
    # the curated parts survive a rewrite
    assert json.loads(copy.read_text())["recommended_mapping"] == data["recommended_mapping"]


def test_the_pinned_proxy_is_the_snapshots_and_presents_what_it_says(proxy, proxy_bin, upstream):
    out = subprocess.run([str(proxy_bin), "-h"], capture_output=True, text=True, timeout=30).stdout
    version = re.search(r"CLIProxyAPI Version: ([^,\s]+)", out).group(1)
    assert version == models.catalog()["pinned_proxy"]
    assert models.presented_client(version) == "0.146.0"
    response = proxy.post("/v1/messages", PONG)
    assert response.status_code == 200, response.text
    [sent] = upstream.responses_requests()
    assert sent.headers["user-agent"] == PINNED["presents"]["user_agent"]
    assert sent.headers["originator"] == PINNED["presents"]["originator"]
    assert f"/{PINNED['presents']['client_version']} " in sent.headers["user-agent"]
    assert "version" not in sent.headers  # no Codex version header of its own: the user agent is all


def expected_effort(text: str) -> str:
    """What the snapshot says the pinned proxy sends upstream for a mapped string (Claude Code sends no
    thinking here, so a dropped suffix leaves the request's default, medium)."""
    mapped = models.parse(text)
    level = mapped.level
    suffixes = PINNED["effort_suffixes"]
    if level not in suffixes["levels"] and level not in suffixes["special"]:
        assert suffixes["unknown"] == "dropped"
        return "medium"
    supported = models.codex_entry(mapped.name)["efforts"]
    if level not in supported and suffixes["lowers_unsupported"]:
        return models.nearest_effort(level, supported)
    return level


@pytest.mark.parametrize("text", ["gpt-5.6-sol(ultra)", "gpt-5.6-sol(max)", "gpt-5.5(max)", "gpt-5.5(minimal)",
                                  "gpt-5.5(8192)", "gpt-5.5(100000)", "gpt-5.5(512)", "gpt-5.6-luna(high)"])
def test_effort_suffixes_do_what_the_snapshot_says(proxy, upstream, text):
    response = proxy.post("/v1/messages", dict(PONG, model=text))
    assert response.status_code == 200, response.text
    [sent] = upstream.responses_requests()
    assert sent.body["model"] == models.base_name(text)
    assert sent.body["reasoning"] == {"effort": expected_effort(text)}


def test_observed_efforts_in_plain_words(proxy, upstream):
    """The facts the snapshot's notes state, spelled out (so the notes cannot drift from the code)."""
    seen = {}
    for text in ("gpt-5.6-sol(ultra)", "gpt-5.5(max)", "gpt-5.5(8192)", "gpt-5.5(100000)"):
        upstream.reset()
        assert proxy.post("/v1/messages", dict(PONG, model=text)).status_code == 200
        seen[text] = upstream.responses_requests()[0].body["reasoning"]["effort"]
    assert seen == {"gpt-5.6-sol(ultra)": "medium", "gpt-5.5(max)": "xhigh", "gpt-5.5(8192)": "medium",
                    "gpt-5.5(100000)": "xhigh"}


_port_stub = check("port.owner", "Gateway port")(lambda ctx: passed("stand-in for the port check"))
GRAPH = Graph([_port_stub if c.id == "port.owner" else c for c in CHECKS])
FACT_CHECKS = ("proxy.health", "proxy.models", "env.mapping", "env.context_window", "knowledge.freshness")


def doctor_against(proxy, proxy_bin, tmp_path, mapping: dict[str, str], window: str) -> dict:
    home = make_home(tmp_path / "home", proxy.port, key=proxy.api_key, api_keys=[proxy.api_key], mapping=mapping,
                     extra_env={"CLAUDE_CODE_AUTO_COMPACT_WINDOW": window})
    (home / "cli-proxy-api").symlink_to(proxy_bin)  # bin.proxy's version: what the proxy presents upstream
    user = tmp_path / "user"
    user.mkdir()
    env = {"HOME": str(user), "PATH": os.environ.get("PATH", "")}
    ctx = StackContext(resolve(env=env, home_option=str(home)), Options(deadline=20, offline=True), env=env)
    try:
        return {f.id: f for f in run(GRAPH, ctx, only=FACT_CHECKS)}
    finally:
        ctx.close()


def test_the_doctor_reads_the_real_proxys_windows_and_judges_the_mapping(proxy, proxy_bin, upstream, tmp_path):
    mapping = {"opus": "gpt-5.6-sol(xhigh)", "sonnet": "gpt-5.6-terra(high)", "haiku": "gpt-5.6-luna(low)"}
    found = doctor_against(proxy, proxy_bin, tmp_path, mapping, "372000")
    for check_id in FACT_CHECKS:
        assert found[check_id].status is Status.PASS, found[check_id]
    window = found["env.context_window"]
    assert window.evidence["source"] == "proxy" and window.evidence["smallest_window"] == 372000
    assert "per the running proxy" in window.summary
    assert found["env.mapping"].evidence["proxy_version"] == models.catalog()["pinned_proxy"]
    assert not upstream.requests, "reading model facts sends nothing upstream"


def test_the_doctor_names_ultra_and_todays_models_on_the_pinned_proxy(proxy, proxy_bin, upstream, tmp_path):
    mapping = {"opus": "gpt-6.2-sol(high)", "sonnet": "gpt-5.6-terra(ultra)", "haiku": "gpt-5.6-luna(low)"}
    found = doctor_against(proxy, proxy_bin, tmp_path, mapping, "372000")
    finding = found["env.mapping"]
    assert finding.status is Status.FAIL
    text = " ".join([finding.summary, *finding.details])
    assert "not offered" in text and "gpt-6.2-sol" in text  # the live list has no gpt-6.x
    assert "does not read the effort ultra" in text
    # and a request with that mapping really fails the way the finding says
    response = proxy.post("/v1/messages", dict(PONG, model="gpt-6.2-sol(high)"))
    assert response.status_code == 400 and "unknown provider for model gpt-6.2-sol" in response.text


def test_the_minimum_node_and_go_are_the_pinned_components(proxy_bin):
    """prerequisites.NODE_MIN is the pinned Codex CLI's package.json `engines` (its command is a Node script),
    NODE_ADVISED the pinned Claude Code's; GO_MIN is the pinned CLIProxyAPI's go.mod `go` directive (read from
    the Go module cache .ci/install-e2e filled)."""
    import json
    import shutil

    from claudex_doctor.machine.prerequisites import GO_MIN, NODE_ADVISED, NODE_MIN
    from claudex_doctor.proxy import build

    claude = (bin_dir() / "claude").resolve()  # .../node_modules/@anthropic-ai/claude-code-<platform>/claude
    modules = claude.parent.parent.parent
    for package_dir, wanted_min in ((modules / "@anthropic-ai" / "claude-code", NODE_ADVISED),
                                    (modules / "@openai" / "codex", NODE_MIN)):
        package = json.loads((package_dir / "package.json").read_text())
        wanted = re.fullmatch(r">=\s*(\d+)(?:\.(\d+))?(?:\.\d+)?", package["engines"]["node"])
        assert wanted and (int(wanted.group(1)), int(wanted.group(2) or 0)) == wanted_min, package["engines"]

    go = shutil.which("go", path=ENV_AT_IMPORT.get("PATH"))
    if go is None:
        pytest.skip("go is not installed")
    version = build.pinned_version()
    env = {**ENV_AT_IMPORT, "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GOTELEMETRY": "off"}
    proc = subprocess.run([go, "mod", "download", "-json", f"{build.module_for(version)}@{version}"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=str(bin_dir()))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    go_mod = Path(json.loads(proc.stdout)["GoMod"]).read_text()
    directive = re.search(r"^go (\d+)\.(\d+)", go_mod, re.MULTILINE)
    assert directive and (int(directive.group(1)), int(directive.group(2))) == GO_MIN

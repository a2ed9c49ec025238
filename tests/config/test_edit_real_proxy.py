"""The config fixes against the real CLIProxyAPI: diagnose, apply the fix the check offers, and ask the
running proxy whether it worked. Outbound traffic goes to the fake upstream (loopback only).

Skipped (with the reason) when the real binary is not installed; CLAUDEX_E2E_REQUIRED=1 fails instead.
"""

from __future__ import annotations

import time

import httpx
import pytest

from claudex_doctor import primitives
from claudex_doctor.base import paths as paths_mod
from claudex_doctor.checks import StackContext
from claudex_doctor.core.context import Options
from tests.e2e.harness import ProxyRuntime, components_required, find_component
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def proxy_binary():
    path, why = find_component("proxy")
    if path is None:
        if components_required():
            pytest.fail(f"e2e component missing and CLAUDEX_E2E_REQUIRED=1: {why}", pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture
def runtime(proxy_binary, tmp_path):
    with FakeUpstream(workdir=tmp_path / "upstream") as upstream:
        rt = ProxyRuntime(tmp_path / "rt", proxy_binary, upstream, api_key="your-api-key-1")
        rt.write_auth(upstream.issue_tokens())
        (rt.home / paths_mod.ENV_FILE_NAME).write_text(
            f"export ANTHROPIC_BASE_URL={rt.base_url}\nexport ANTHROPIC_AUTH_TOKEN=your-api-key-1\n")
        rt.start(ready=False)
        try:
            yield rt
        finally:
            rt.stop()


def _models_status(rt: ProxyRuntime, key: str) -> tuple[int, str]:
    response = httpx.get(rt.base_url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    return response.status_code, response.text[:200]


def _run(rt: ProxyRuntime, *ids: str):
    from claudex_doctor.checks import graph
    from claudex_doctor.core.graph import run

    env = {"HOME": str(rt.user_home), "CLAUDEX_GATEWAY_HOME": str(rt.home), "PATH": "/usr/bin:/bin",
           "CODEX_HOME": str(rt.root / "codex")}
    paths = paths_mod.resolve(env, cwd=rt.root)
    findings = {f.id: f for f in run(graph(), StackContext(paths, Options(), env=env), only=ids)}
    return paths, findings


def test_template_keys_one_fix_and_the_restarted_proxy_accepts_the_new_key(runtime):
    status, body = _models_status(runtime, "your-api-key-1")
    assert status == 403 and "unsafe_example_api_key" in body  # safe mode, as the check says
    paths, found = _run(runtime, "config.exposure", "env.consistency")
    finding = found["config.exposure"]
    assert finding.status.value == "fail" and "safe mode" in finding.summary
    result = primitives.apply(finding.fix.primitive, paths, **finding.fix.args)
    assert result.details["restart_needed"] and "claudex-doctor restart" in result.message
    from claudex_doctor.config import envfile
    token = envfile.parse((runtime.home / paths_mod.ENV_FILE_NAME).read_text()).values["ANTHROPIC_AUTH_TOKEN"]
    # CLIProxyAPI does not notice a config.yaml replaced by rename (an atomic write): still in safe mode.
    time.sleep(1.5)
    status, body = _models_status(runtime, token)
    assert status == 403 and "unsafe_example_api_key" in body
    runtime.stop()
    runtime.start(ready=False)
    status, body = _models_status(runtime, token)
    assert status == 200, body
    assert _models_status(runtime, "your-api-key-1")[0] == 401
    _paths, found = _run(runtime, "config.exposure", "env.consistency")
    assert found["config.exposure"].status.value == "pass" and found["env.consistency"].status.value == "pass"

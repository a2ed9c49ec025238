"""proxy.versions and the bin.proxy_version check: versions read and compared, GOPROXY honoured, and the
module proxy protocol spoken to a loopback stand-in (a list, a refused list with @latest, nothing)."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.checks import StackContext, binaries
from claudex_doctor.core.context import Options
from claudex_doctor.core.model import Status
from claudex_doctor.proxy import versions
from tests.homekit import executable

MODULE = "github.com/router-for-me/CLIProxyAPI/v7"
PATH = "/github.com/router-for-me/!c!l!i!proxy!a!p!i/v7"


def test_versions_parse_and_compare():
    assert versions.parse("v7.2.140") == (7, 2, 140) and versions.parse("v7.2.140") > versions.parse("v7.2.99")
    assert versions.parse("v7.3.0-rc1") is None and versions.parse("fake-1.0") is None and versions.parse(None) is None
    assert versions.from_help("CLIProxyAPI Version: v7.2.140, Commit: a7e3596, BuiltAt: unknown") == "v7.2.140"
    assert versions.escape_module(MODULE) == PATH[1:]


@pytest.mark.parametrize("value, expected", [
    (None, ["https://proxy.golang.org"]), ("off", None), ("direct", []),
    ("https://a.example/,https://b.example|direct", ["https://a.example", "https://b.example"]),
    ("https://a.example,off", ["https://a.example"]),
])
def test_goproxy_is_honoured(value, expected):
    env = {} if value is None else {"GOPROXY": value}
    assert versions.proxies(env) == expected


class Handler(http.server.BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, str]] = {}
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 (the http.server name)
        self.seen.append(self.path)
        status, body = self.answers.get(self.path, (404, "not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def module_proxy():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}", Handler
    server.shutdown()
    server.server_close()


def test_the_newest_listed_version_wins(module_proxy):
    url, handler = module_proxy
    handler.answers = {f"{PATH}/@v/list": (200, "v7.2.140\nv7.10.1\nv7.3.0-rc1\nv7.2.99\n")}
    served = versions.newest_served(MODULE, {"GOPROXY": url, "NO_PROXY": "127.0.0.1"})
    assert served.newest == "v7.10.1" and len(served.listed) == 3 and served.problem is None


def test_a_refused_list_falls_back_to_latest_and_then_says_why(module_proxy):
    url, handler = module_proxy
    handler.answers = {f"{PATH}/@v/list": (403, "This module version is not available."),
                       f"{PATH}/@latest": (200, json.dumps({"Version": "v7.2.140"}))}
    env = {"GOPROXY": url, "NO_PROXY": "127.0.0.1"}
    assert versions.newest_served(MODULE, env).newest == "v7.2.140"
    handler.answers = {}
    served = versions.newest_served(MODULE, env)
    assert served.newest is None and "404" in served.problem
    assert versions.newest_served(MODULE, {"GOPROXY": "off"}).problem.startswith("GOPROXY=off")


def _ctx(tmp_path: Path, version: str, offline: bool, goproxy: str = "off") -> StackContext:
    home = tmp_path / "gateway"
    home.mkdir(exist_ok=True)
    executable(home / "cli-proxy-api", f"#!/bin/sh\necho 'CLIProxyAPI Version: {version}, Commit: x, BuiltAt: y'\n")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "CLAUDEX_GATEWAY_HOME": str(home), "GOPROXY": goproxy,
           "NO_PROXY": "127.0.0.1"}
    return StackContext(resolve(env=env), Options(offline=offline), env=env)


def test_an_older_proxy_is_a_warning_with_upgrade_as_the_fix(tmp_path):
    outcome = binaries.bin_proxy_version.run(_ctx(tmp_path, "v6.10.0", offline=True))
    assert outcome.status is Status.WARN and "older than the known-good v7.2.140" in outcome.summary
    assert outcome.fix.primitive == "upgrade" and outcome.fix.command == "claudex-doctor upgrade --version v7.2.140"
    assert outcome.reference == "references/binaries.md#proxy-older-than-the-pin"


def test_the_pin_passes_and_names_what_it_presents_upstream(tmp_path):
    outcome = binaries.bin_proxy_version.run(_ctx(tmp_path, "v7.2.140", offline=True))
    assert outcome.status is Status.PASS and "known-good pin" in outcome.summary
    assert outcome.evidence["presents_codex"] == "0.146.0" and "module_proxy" not in outcome.evidence
    assert any("presents itself upstream as Codex 0.146.0" in d for d in outcome.details)
    assert any("need 0.166.0" in d for d in outcome.details)


def test_online_a_newer_served_version_is_named(tmp_path, module_proxy):
    url, handler = module_proxy
    handler.answers = {f"{PATH}/@v/list": (200, "v7.2.140\nv7.2.150\n")}
    outcome = binaries.bin_proxy_version.run(_ctx(tmp_path, "v7.2.140", offline=False, goproxy=url))
    assert outcome.status is Status.PASS and "v7.2.150 is served" in outcome.summary
    assert "upgrade --version v7.2.150" in outcome.details[0]
    assert handler.seen == [f"{PATH}/@v/list"]
    handler.seen.clear()
    binaries.bin_proxy_version.run(_ctx(tmp_path, "v7.2.140", offline=True, goproxy=url))
    assert handler.seen == []  # offline: not asked


def test_a_proxy_without_a_release_version_is_a_warning(tmp_path):
    outcome = binaries.bin_proxy_version.run(_ctx(tmp_path, "dev", offline=True))
    assert outcome.status is Status.WARN and "no release version" in outcome.summary


def test_a_goproxy_password_is_sent_but_never_shown(tmp_path, module_proxy):
    """GOPROXY=https://user:password@host/ is how a private module proxy is reached: the password goes
    in the request, never into a problem, the source, or the check's evidence."""
    import base64
    import secrets
    import socket

    password = "pw" + secrets.token_hex(12)
    url, handler = module_proxy
    with_login = url.replace("http://", f"http://someone:{password}@")
    authorizations: list[str | None] = []
    original = Handler.do_GET

    def do_get(self):
        authorizations.append(self.headers.get("Authorization"))
        original(self)

    handler.do_GET = do_get
    try:
        handler.answers = {f"{PATH}/@v/list": (200, "v7.2.140\nv7.2.150\n")}
        env = {"GOPROXY": with_login, "NO_PROXY": "127.0.0.1"}
        served = versions.newest_served(MODULE, env)
        assert served.newest == "v7.2.150" and served.source == f"{url}{PATH}/@v/list"
        assert authorizations[0] == "Basic " + base64.b64encode(f"someone:{password}".encode()).decode()
        outputs = [json.dumps(served.to_dict())]
        handler.answers = {}  # 404 for the list and @latest: each named in the problem
        served = versions.newest_served(MODULE, env)
        assert "404" in served.problem and url.split("//")[1] in served.problem
        outputs.append(json.dumps(served.to_dict()))
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        served = versions.newest_served(MODULE, {"GOPROXY": f"http://someone:{password}@127.0.0.1:{port}",
                                                 "NO_PROXY": "127.0.0.1"})
        assert served.problem and f"127.0.0.1:{port}" in served.problem
        outputs.append(json.dumps(served.to_dict()))
        handler.answers = {f"{PATH}/@v/list": (200, "v7.2.140\nv7.2.150\n")}
        outcome = binaries.bin_proxy_version.run(_ctx(tmp_path, "v7.2.140", offline=False, goproxy=with_login))
        assert outcome.evidence["module_proxy"]["newest"] == "v7.2.150"
        outputs.append(json.dumps([outcome.summary, outcome.details, outcome.evidence], default=str))
    finally:
        handler.do_GET = original
    for output in outputs:
        assert password not in output and "someone" not in output, output


@pytest.mark.parametrize("mode, named", [("drip-headers", "no whole answer within"),
                                         ("drip-body", "no whole answer within"),
                                         ("flood", "the answer passed 256 KiB")])
def test_a_module_proxy_that_drips_or_floods_is_cut_off_with_a_named_problem(mode, named):
    """httpx's timeouts bound each read, not the answer: a byte every 0.2 s passes all of them. The lookup
    ends by its own deadline, and an endless answer is dropped at the cap, never read into memory whole."""
    import time

    from tests.fakes.trickle import serving

    with serving(mode) as url:
        started = time.monotonic()
        served = versions.newest_served(MODULE, {"GOPROXY": url, "NO_PROXY": "127.0.0.1"}, timeout=1.5)
        took = time.monotonic() - started
    assert took < 2.5, took
    assert served.newest is None and named in served.problem and url.split("//")[1] in served.problem

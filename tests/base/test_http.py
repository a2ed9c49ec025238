"""base.http: one GET bounded as a whole, in time and in bytes, against servers that drip or flood."""

from __future__ import annotations

import socket
import time

import pytest

from claudex_doctor.base import http
from tests.fakes.trickle import serving


def test_a_small_answer_is_read_whole():
    with serving("ok") as url:
        got = http.get(url + "/x", timeout=3, limit=1024)
    assert got.answered and got.status == 200 and got.body == b"v7.2.140\n" and not got.truncated


@pytest.mark.parametrize("mode", ["drip-headers", "drip-body"])
def test_a_dripping_server_is_cut_off_at_the_budget(mode):
    """Each byte comes within httpx's per-read timeout; only a deadline on the whole exchange ends it."""
    with serving(mode) as url:
        started = time.monotonic()
        got = http.get(url, timeout=1.0, limit=1 << 20)
        took = time.monotonic() - started
    assert got.timed_out and not got.answered and took < 1.8, took


def test_an_endless_body_stops_at_the_limit():
    with serving("flood") as url:
        got = http.get(url, timeout=5, limit=256 * 1024)
    assert got.truncated and len(got.body) == 256 * 1024 and got.status == 200 and not got.timed_out


def test_an_error_names_no_password():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    got = http.get(f"http://someone:hunter2hunter2@127.0.0.1:{port}/", timeout=2, limit=1024)
    assert got.error and not got.answered and "hunter2" not in got.error
    got = http.get("http://someone:hunter2hunter2@127.0.0.1:notaport/", timeout=2, limit=1024)
    assert got.error and "hunter2" not in got.error  # httpx.InvalidURL is no HTTPError: still caught

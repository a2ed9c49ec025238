"""A loopback HTTP server that misbehaves on purpose, for the bounded GET (base.http) and its callers.

    with serving("drip-body") as url: ...

Modes: `drip-headers` (the status line and headers a byte at a time), `drip-body` (headers, then a
promised 1 MB body a byte every 0.2 s: within any per-read timeout, never done), `flood` (headers, then
bytes as fast as the socket takes them, forever), `events` (an event stream of pings that never ends),
`ok` (a small `v7.2.140` answer). `port` 0 takes a free one; a given port stands in for the gateway's. Every request is
answered the same way whatever its path. Each connection's thread ends when the server stops.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

MODES = ("drip-headers", "drip-body", "flood", "events", "ok")


@contextlib.contextmanager
def serving(mode: str, port: int = 0) -> Iterator[str]:
    assert mode in MODES, mode
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def talk(conn: socket.socket) -> None:
        try:
            conn.recv(4096)
            if mode == "ok":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nv7.2.140\n")
            elif mode == "drip-headers":
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 10_000:
                    if stop.is_set():
                        break
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
            elif mode == "events":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
                while not stop.is_set():
                    conn.sendall(b"event: ping\ndata: {}\n\n")
                    time.sleep(0.05)
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
                block = b"v7.2.140\n" * (4096 if mode == "flood" else 0) or b"v"
                while not stop.is_set():
                    conn.sendall(block)
                    if mode == "drip-body":
                        time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=talk, args=(conn,), daemon=True).start()
        server.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)

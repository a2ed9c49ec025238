"""The wire side of the fake upstream: an HTTP CONNECT proxy on 127.0.0.1 that terminates TLS for a
few intercepted host names and serves them over HTTP/1.1 or HTTP/2, and refuses everything else.

Why HTTP/2: CLIProxyAPI sends every https://chatgpt.com request through a uTLS "Chrome" transport
that always speaks HTTP/2 after the handshake (it never falls back to HTTP/1.1). auth.openai.com is
reached with Go's standard transport, which negotiates h2 or http/1.1 through ALPN. Both go through
the proxy given as `proxy-url` with a CONNECT, and both verify the certificate with Go's x509
package, which honours SSL_CERT_FILE: so a test CA works without touching the system store.

Nothing here opens a connection anywhere: the proxy only accepts, and answers CONNECTs to names it
does not intercept with 403 (recorded as a refusal).
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset
from h2.exceptions import ProtocolError

MAX_HEAD = 64 * 1024
MAX_BODY = 32 * 1024 * 1024


@dataclass
class WireRequest:
    host: str
    method: str
    target: str          # path and query, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes
    protocol: str        # "HTTP/1.1" or "HTTP/2"


@dataclass
class WireResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


App = Callable[[WireRequest], WireResponse]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:  # pragma: no cover - exercised through the server
        self.server.owner._serve(self.request)  # type: ignore[attr-defined]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class ConnectProxy:
    """Accepts CONNECT host:443 for `intercept` names and serves them with `app`."""

    def __init__(self, app: App, ssl_context: ssl.SSLContext, intercept: tuple[str, ...],
                 on_refuse: Callable[[str, str], None], on_connect: Callable[[str], None]) -> None:
        self._app = app
        self._ssl = ssl_context
        self._intercept = {name.lower() for name in intercept}
        self._on_refuse = on_refuse
        self._on_connect = on_connect
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    def start(self) -> None:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-upstream-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    # -- one client connection -------------------------------------------------------------
    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        try:
            sock.settimeout(30)
            head, _rest = _read_head(sock, b"")
            if head is None:
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split()
            if len(parts) != 3:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            method, target, _version = parts
            if method.upper() != "CONNECT":
                # A plain proxied request (http://...) or a direct request: nothing we serve.
                self._on_refuse(target, method)
                _send_refusal(sock, f"fake upstream refuses {method} {target}")
                return
            host, _, port = target.rpartition(":")
            host = host.strip("[]").lower()
            if host not in self._intercept or port != "443":
                self._on_refuse(target, "CONNECT")
                _send_refusal(sock, f"fake upstream refuses CONNECT {target}")
                return
            self._on_connect(host)
            sock.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            tls = self._ssl.wrap_socket(sock, server_side=True)
            with self._lock:
                self._sockets.add(tls)
            if tls.selected_alpn_protocol() == "h2":
                self._serve_h2(tls, host)
            else:
                self._serve_h1(tls, host)
        except (OSError, ssl.SSLError, ProtocolError):
            pass
        finally:
            with self._lock:
                self._sockets.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _serve_h1(self, tls: ssl.SSLSocket, host: str) -> None:
        buffer = b""
        while True:
            head, buffer = _read_head(tls, buffer)
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    key = name.strip().lower()
                    headers[key] = (headers[key] + ", " if key in headers else "") + value.strip()
            body, buffer = _read_body(tls, buffer, headers)
            response = self._app(WireRequest(host, method.upper(), target, headers, body, "HTTP/1.1"))
            extra = "".join(f"{name}: {value}\r\n" for name, value in response.headers)
            keep = headers.get("connection", "").lower() != "close"
            tls.sendall((f"HTTP/1.1 {response.status} X\r\nContent-Type: {response.content_type}\r\n"
                         f"Content-Length: {len(response.body)}\r\n{extra}"
                         f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n").encode("latin-1")
                        + response.body)
            if not keep:
                return

    def _serve_h2(self, tls: ssl.SSLSocket, host: str) -> None:
        conn = H2Connection(config=H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        pending: dict[int, bytes] = {}
        while True:
            data = tls.recv(65536)
            if not data:
                return
            events = conn.receive_data(data)
            closing = False
            for event in events:
                if isinstance(event, RequestReceived):
                    headers: dict[str, str] = {}
                    for name, value in event.headers:
                        headers[name] = (headers[name] + ", " if name in headers else "") + value
                    streams[event.stream_id] = (headers, bytearray())
                elif isinstance(event, DataReceived):
                    if event.stream_id in streams:
                        streams[event.stream_id][1].extend(event.data)
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, StreamEnded) and event.stream_id in streams:
                    headers, body = streams.pop(event.stream_id)
                    request = WireRequest(host, headers.get(":method", "GET").upper(), headers.get(":path", "/"),
                                          {k: v for k, v in headers.items() if not k.startswith(":")},
                                          bytes(body), "HTTP/2")
                    response = self._app(request)
                    conn.send_headers(event.stream_id, [
                        (":status", str(response.status)), ("content-type", response.content_type),
                        ("content-length", str(len(response.body))),
                        *[(name.lower(), value) for name, value in response.headers]])
                    pending[event.stream_id] = response.body
                elif isinstance(event, StreamReset):
                    streams.pop(event.stream_id, None)
                    pending.pop(event.stream_id, None)
                elif isinstance(event, ConnectionTerminated):
                    closing = True
            _flush_h2(conn, pending)
            outgoing = conn.data_to_send()
            if outgoing:
                tls.sendall(outgoing)
            if closing:
                return


def _flush_h2(conn: H2Connection, pending: dict[int, bytes]) -> None:
    """Send what the peer's flow-control windows allow; end each stream once its body is out."""
    for stream_id in list(pending):
        body = pending[stream_id]
        while body:
            window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if window <= 0:
                break
            conn.send_data(stream_id, body[:window])
            body = body[window:]
        if body:
            pending[stream_id] = body
        else:
            conn.end_stream(stream_id)
            del pending[stream_id]


def _send_refusal(sock: socket.socket, message: str) -> None:
    body = message.encode()
    sock.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def _read_head(sock: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEAD:
            return None, b""
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def _read_exact(sock: socket.socket, buffer: bytes, size: int) -> tuple[bytes, bytes]:
    while len(buffer) < size:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("peer closed mid-body")
        buffer += chunk
    return buffer[:size], buffer[size:]


def _read_body(sock: socket.socket, buffer: bytes, headers: dict[str, str]) -> tuple[bytes, bytes]:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            while b"\r\n" not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("peer closed mid-chunk")
                buffer += chunk
            size_line, _, buffer = buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            data, buffer = _read_exact(sock, buffer, size + 2)
            if size == 0:
                return body, buffer
            body += data[:-2]
            if len(body) > MAX_BODY:
                raise ConnectionError("body too large")
    length = int(headers.get("content-length", "0") or 0)
    if length > MAX_BODY:
        raise ConnectionError("body too large")
    return _read_exact(sock, buffer, length)

"""Slow-header clients against a real ``cited serve`` process: connections that never finish
their request head are closed at ``CITED_HEADER_TIMEOUT_S``; complete requests, and kept-alive
connections between requests, are not touched by it."""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol

from cited.config import ServeSettings
from service.serving import HeadTimeoutProtocol, head_timeout_protocol
from tests.processes import free_port, running

HEAD_TIMEOUT_S = 1.5
#: How long a test waits for the server to close a connection (far over the timeout: the
#: machine may be busy; on a server without the timeout nothing closes at all).
PATIENCE_S = HEAD_TIMEOUT_S + 15
#: What each kind of slow client sends before it stalls.
STALLS: dict[str, bytes] = {
    "nothing": b"",
    "half a request line": b"POST /ask HT",
    "a request line": b"POST /ask HTTP/1.1\r\n",
    "half the headers": b"POST /ask HTTP/1.1\r\nHost: cited\r\nContent-Type: appl",
}


def connect(port: int, payload: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if payload:
        sock.sendall(payload)
    sock.setblocking(False)
    return sock


def seconds_until_closed(sockets: dict[socket.socket, str], since: float) -> dict[str, float]:
    """For each socket, when the server closed it (seconds after ``since``); ``inf`` for those
    still open after :data:`PATIENCE_S`. Anything the server sends is read and dropped."""
    closed: dict[str, float] = {}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ, data=sock)
        while len(closed) < len(sockets) and time.monotonic() - since < PATIENCE_S:
            for key, _ in selector.select(timeout=0.2):
                ready: socket.socket = key.data
                try:
                    data = ready.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed[sockets[ready]] = time.monotonic() - since
                    selector.unregister(ready)
    for sock in sockets:
        sock.close()
    return {name: closed.get(name, float("inf")) for name in sockets.values()}


@pytest.fixture(scope="module")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        "CITED_INDEX_DIR": str(seed_index),
        "CITED_PORT": str(port),
        "CITED_HEADER_TIMEOUT_S": str(HEAD_TIMEOUT_S),
        "CITED_RELOAD_INTERVAL_S": "0",
    }
    log = tmp_path_factory.mktemp("connections") / "server.log"
    base = f"http://127.0.0.1:{port}"
    with running(["-m", "service", "serve"], f"{base}/health", log, env=env):
        yield base, port


@pytest.mark.slow
def test_connections_that_stall_before_the_end_of_their_head_are_closed(
    server: tuple[str, int],
) -> None:
    base, port = server
    started = time.monotonic()
    sockets = {
        connect(port, payload): f"{name} #{n}"
        for n in range(10)
        for name, payload in STALLS.items()
    }
    # One more sends its head a byte at a time, slower than the timeout allows.
    dribbler = connect(port, b"")
    sockets[dribbler] = "a byte every 0.25 s"
    head = b"GET /health HTTP/1.1\r\nHost: cited\r\nX-Padding: " + b"a" * 40 + b"\r\n\r\n"
    for byte in head[: int(HEAD_TIMEOUT_S / 0.25) + 2]:
        try:
            dribbler.send(bytes([byte]))
        except OSError:
            break
        time.sleep(0.25)
    # Meanwhile the server answers everyone else.
    assert httpx.get(f"{base}/health", timeout=30).status_code == 200
    closed = seconds_until_closed(sockets, started)
    still_open = sorted(name for name, at in closed.items() if at == float("inf"))
    assert not still_open, f"open after {PATIENCE_S} s: {still_open}"
    assert min(closed.values()) >= HEAD_TIMEOUT_S * 0.9, closed  # closed by the timeout


@pytest.mark.slow
def test_a_kept_alive_connection_gets_the_timeout_again_for_its_next_head(
    server: tuple[str, int],
) -> None:
    _, port = server
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    time.sleep(HEAD_TIMEOUT_S * 0.4)  # a slow start, still under the timeout
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: cited\r\n\r\n")
    answer = b""
    while not answer.endswith(b"}"):
        answer += sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 ")
    time.sleep(HEAD_TIMEOUT_S * 0.6)  # idle between requests: uvicorn's keep-alive (5 s)
    started = time.monotonic()
    sock.sendall(b"GET /health HT")  # the next head starts, then stalls
    sock.setblocking(False)
    closed = seconds_until_closed({sock: "kept alive"}, started)
    assert HEAD_TIMEOUT_S * 0.9 <= closed["kept alive"] < PATIENCE_S, closed


def test_the_protocol_class_carries_its_timeout() -> None:
    protocol = head_timeout_protocol(2.5)
    assert issubclass(protocol, H11Protocol) and protocol.head_timeout_s == 2.5
    assert HeadTimeoutProtocol.head_timeout_s == ServeSettings().header_timeout_s == 10.0
    with pytest.raises(ValueError, match="positive number of seconds: 0"):
        head_timeout_protocol(0)

"""uvicorn's HTTP/1.1 protocol with a header-read timeout, which uvicorn itself does not have.

uvicorn (0.54, h11 and httptools alike) times a connection out only while it is idle *after* a
response (``timeout_keep_alive``). A connection that opens and sends nothing, or sends part of a
request line or of its headers and then stalls, is held open for ever: a few hundred of them
(slowloris) hold the server's file descriptors. :func:`head_timeout_protocol` closes every
connection that has not delivered a whole request head (request line and headers)
``CITED_HEADER_TIMEOUT_S`` after it opened, or after the first byte of its next request on a
kept-alive connection. A slow *body* is bounded by the request timeout
(:class:`service.limits.RequestTimeout`, 503) instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from cited.config import ServeSettings, default_of

logger = logging.getLogger(__name__)


class HeadTimeoutProtocol(H11Protocol):
    """:class:`H11Protocol` that closes a connection whose request head takes longer than
    :attr:`head_timeout_s` seconds (see the module's docstring)."""

    head_timeout_s: ClassVar[float] = default_of(ServeSettings, "header_timeout_s")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_clock()

    def data_received(self, data: bytes) -> None:
        if self.head_timer is None and self.waiting_for_head():
            self._start_clock()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if not self.waiting_for_head():
            self._stop_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def waiting_for_head(self) -> bool:
        """No request head received since the connection opened or the last response ended."""
        return self.conn.their_state is h11.IDLE

    def _start_clock(self) -> None:
        self._stop_clock()
        self.head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _stop_clock(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if not self.waiting_for_head() or self.transport.is_closing():
            return
        logger.info(
            "closed the connection from %s: no complete request head within %g s",
            "{}:{}".format(*self.client) if self.client else "an unknown client",
            self.head_timeout_s,
        )
        self.conn.send(h11.ConnectionClosed())
        self.transport.close()


def head_timeout_protocol(timeout_s: float) -> type[HeadTimeoutProtocol]:
    """The protocol class to give uvicorn (``http=``) for a header timeout of ``timeout_s``."""
    if not timeout_s > 0:
        raise ValueError(f"the header timeout must be a positive number of seconds: {timeout_s}")
    return type("HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout_s": timeout_s})

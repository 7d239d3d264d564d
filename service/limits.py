"""ASGI middlewares that bound a request: its body size (413) and its time to respond (503).

Both answer with the API's JSON error body (:func:`service.errors.error_body`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Collection, Mapping
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_body

logger = logging.getLogger(__name__)


async def send_error(send: Send, status: int, detail: Any) -> None:
    """A complete JSON error response, sent straight from an ASGI middleware (``detail`` as in
    :func:`service.errors.error_body`)."""
    body = json.dumps(error_body(status, detail)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """The body read so far passed the limit: a 413, raised inside the app by the read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than the limit of {limit} bytes")


class BodySizeLimit:
    """Refuses request bodies over a size limit with 413, chunked ones too.

    The limit is ``max_bytes``, or ``path_limits[scope["path"]]`` for a path listed there (an
    exact match, e.g. ``{"/articles": settings.serve.upload_max_bytes}``). A declared
    ``content-length`` over the limit is refused before the body is read. Otherwise the body is
    counted as the app reads it: nothing is read before a route asks for it (so a route that
    refuses the request first, for a missing token, never reads its body), and the read that
    passes the limit raises :class:`BodyTooLarge`, answered 413.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        limits = {"max_bytes": max_bytes, **(path_limits or {})}
        bad = {where: limit for where, limit in limits.items() if limit < 1}
        if bad:
            raise ValueError(f"body limits must be at least 1 byte, got {bad}")
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    def limit_for(self, path: str) -> int:
        return self.path_limits.get(path, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, 413, BodyTooLarge(limit).detail)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # raised where no route turned it into its response
            if started:
                raise
            await send_error(send, 413, exc.detail)


class WriteSlots:
    """At most ``limit`` writes at once: :meth:`take` never waits (False: none free)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the write limit must be at least 1, got {limit}")
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    def take(self) -> bool:
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        self._free.release()


class RequestTimeout:
    """Answers 503 when the app has not started its response within ``timeout_s`` seconds.

    The clock runs from the start of the request (reading its body included) to the app's
    ``http.response.start``. Once a response has started it is never cut: a streaming response
    (``/ask/stream``'s server-sent events) may run as long as it needs.

    On a timeout the client gets its 503 at once, the app's later messages are dropped and its
    task is cancelled. An ``async`` endpoint stops at its next ``await``; a sync endpoint runs
    in the thread pool and **cannot be cancelled**: its thread runs to the end (holding a
    thread-pool slot) and its result is thrown away.
    """

    def __init__(
        self, app: ASGIApp, timeout_s: float, exempt: Collection[tuple[str, str]] = ()
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        self.app = app
        self.timeout_s = timeout_s
        #: ``(method, path prefix)`` pairs never timed out: writes that publish an index version
        #: must answer with their outcome, not a 503 while they go on and succeed.
        self.exempt = tuple(exempt)
        self._abandoned: set[asyncio.Task[None]] = set()  # references until they finish

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(
            scope["method"] == method and scope["path"].startswith(prefix)
            for method, prefix in self.exempt
        ):
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()
        timed_out = False

        async def guarded_send(message: Message) -> None:
            if timed_out:  # the client already has its 503
                return
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        task: asyncio.Task[None] = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        waiter = asyncio.ensure_future(started.wait())
        try:
            await asyncio.wait(
                {task, waiter}, timeout=self.timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:  # this request was cancelled (server shutdown)
            task.cancel()
            raise
        finally:
            waiter.cancel()
        if started.is_set() or task.done():
            await task  # the response runs to its end; the app's exception propagates
            return
        timed_out = True
        logger.warning(
            "%s %s did not start its response within %g s: answered 503",
            scope.get("method", ""),
            scope.get("path", ""),
            self.timeout_s,
        )
        await send_error(
            send,
            503,
            f"the request did not complete within the request timeout of {self.timeout_s:g} s",
        )
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "a request abandoned after its timeout failed later", exc_info=task.exception()
            )

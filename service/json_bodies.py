"""JSON request bodies that Python's parser cannot take, refused with a 422 before any route.

``json.loads`` fails with something other than a ``JSONDecodeError`` on three kinds of input:
bytes that are not UTF-8 (it decodes with ``surrogatepass`` and guesses UTF-16 from NUL bytes),
nesting deeper than the interpreter's recursion limit (``RecursionError``), and integers longer
than ``sys.get_int_max_str_digits()`` (``ValueError``). FastAPI turns those into a bare 400, and
a route that parses its own body may fail with a 500. :class:`JsonBodyCheck` looks at the body
once, without parsing it, and answers each with a 422 whose ``msg`` says what is wrong; whatever
it lets through is either parsed by ``json.loads`` or refused by it as malformed JSON (a 422 too).

NaN, Infinity and lone surrogates (``"\\ud800"``) are parsed: the request models refuse them
field by field, naming the field, and :func:`service.errors.json_safe` keeps the 422 that echoes
them strict JSON.
"""

from __future__ import annotations

import sys
from email.message import Message as EmailMessage
from typing import Any

import numpy as np
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Methods whose bodies the routes read.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Byte -> change of nesting depth: +1 for ``[`` and ``{``, -1 for ``]`` and ``}``.
STEPS = np.zeros(256, dtype=np.int32)
STEPS[[ord("["), ord("{")]] = 1
STEPS[[ord("]"), ord("}")]] = -1
QUOTE = ord('"')
DIGITS = bytes(ord("0") if ord("0") <= b <= ord("9") else ord(",") for b in range(256))
CHUNK = 1 << 20


def is_json(scope: Scope) -> bool:
    """Whether FastAPI parses this request's body as JSON: no content type, or
    ``application/json`` or ``application/<anything>+json``."""
    raw = dict(scope.get("headers") or []).get(b"content-type")
    if raw is None:
        return True
    message = EmailMessage()
    message["content-type"] = raw.decode("latin-1")
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def skeleton(body: bytes) -> bytes:
    """``body`` without its strings (quotes included): JSON's structure, numbers and literals.

    Escaped backslashes, then escaped quotes, are removed first (left to right, as a parser
    reads them), so every quote left opens or closes a string: what lies after an odd number
    of them is inside one. Vectorised, a megabyte at a time: linear whatever the body holds.
    """
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    view = np.frombuffer(text, dtype=np.uint8)
    kept: list[bytes] = []
    quotes_before = 0
    for start in range(0, len(view), CHUNK):
        part = view[start : start + CHUNK]
        quotes = part == QUOTE
        count = quotes_before + np.cumsum(quotes, dtype=np.int64)
        kept.append(part[(count % 2 == 0) & ~quotes].tobytes())
        quotes_before = int(count[-1])
    return b"".join(kept)


def deepest(structure: bytes, limit: int) -> int:
    """The deepest nesting of ``structure`` (a :func:`skeleton`); the scan stops in the first
    megabyte that goes deeper than ``limit``."""
    view = np.frombuffer(structure, dtype=np.uint8)
    depth = top = 0
    for start in range(0, len(view), CHUNK):
        running = depth + np.cumsum(STEPS[view[start : start + CHUNK]])
        top = max(top, int(running.max()))
        if top > limit:
            break
        depth = int(running[-1])
    return top


def problems(body: bytes, max_depth: int) -> list[dict[str, Any]]:
    """Why ``body`` cannot be read as JSON by Python's parser, as validation errors (empty: it
    can; it may still be malformed, which the parser reports)."""

    def problem(msg: str, **ctx: Any) -> list[dict[str, Any]]:
        return [{"type": "json_invalid", "loc": ["body"], "msg": msg, "ctx": ctx or None}]

    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return problem(
            f"the body is not UTF-8 text: byte 0x{body[exc.start]:02x} at position {exc.start} "
            "cannot be decoded (JSON is UTF-8, RFC 8259)"
        )
    if b"\x00" in body:
        at = body.index(b"\x00")
        return problem(f"a NUL byte at position {at}: JSON text cannot hold one unescaped")
    structure = skeleton(body)
    depth = deepest(structure, max_depth)
    if depth > max_depth:
        return problem(
            f"JSON nested deeper than {max_depth} levels (at least {depth}); "
            f"valid bodies are at most {max_depth} deep",
            max_depth=max_depth,
        )
    digits = sys.get_int_max_str_digits()
    runs = structure.translate(DIGITS)  # every digit a "0", every other byte a ","
    if digits and (at := runs.find(b"0" * (digits + 1))) >= 0:
        length = len(runs) - at if (end := runs.find(b",", at)) < 0 else end - at
        return problem(
            f"a number with {length} digits: numbers may have at most {digits}",
            max_digits=digits,
        )
    return []


class BadJsonBody(HTTPException):
    """A JSON body the routes' parser cannot read: a 422 whose ``detail`` says why, raised
    inside the app by the read."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__(422, detail)


class JsonBodyCheck:
    """Answers 422 (the API's error body) to a JSON request body that the routes' parser cannot
    read (see the module's docstring); every other request goes through unchanged.

    The body is checked when the app first reads it, never before: a route that refuses a
    request first (a write without its token) reads nothing. It belongs inside
    :class:`service.limits.BodySizeLimit`, which bounds what it reads.
    """

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, got {max_depth}")
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or not is_json(scope):
            await self.app(scope, receive, send)
            return
        read = False

        async def checked() -> Message:
            nonlocal read
            if read:
                return await receive()
            read = True
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return message
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            found = problems(body, self.max_depth)
            if found:
                raise BadJsonBody(found)
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, checked, send)

"""Security headers on every response: a Content-Security-Policy, ``nosniff``, no framing and no
referrer beyond this origin.

The page (``service/web``) loads only its own script and stylesheet from ``/static`` and has no
inline script, style or event handler, so its policy allows nothing else. FastAPI's API docs
(``/docs``, ``/redoc``) load Swagger UI and ReDoc from a CDN and start them with an inline
script: their policy allows those origins and that script by its sha256, computed from the page
as it is sent (no ``'unsafe-inline'`` script). Responses that are not HTML get a policy that
allows nothing at all (a JSON body opened in a browser runs and embeds nothing).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The page: its own script, stylesheet and fetches; no inline code, no plugins, no framing.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: Anything that is not HTML (JSON, server-sent events, the static files themselves).
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: FastAPI's docs pages; ``{scripts}`` becomes the hashes of the page's inline scripts. Swagger
#: UI and ReDoc set inline styles, and ReDoc renders in a worker made from a blob.
DOCS_CSP = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net {scripts}; "
    "style-src https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https:; connect-src 'self'; "
    "worker-src blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: Sent with every response, whatever its type.
COMMON: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def headers_for(content_type: str, csp: str | None = None) -> dict[str, str]:
    """The security headers of a response of ``content_type`` (``csp`` overrides the policy)."""
    html = content_type.split(";")[0].strip().lower() == "text/html"
    return {**COMMON, "Content-Security-Policy": csp or (PAGE_CSP if html else API_CSP)}


def docs_policy(html: bytes) -> str:
    """:data:`DOCS_CSP` allowing exactly the inline scripts of ``html``, by hash."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(html)
    ]
    return DOCS_CSP.format(scripts=" ".join(hashes)).replace("  ", " ")


class SecurityHeaders:
    """Adds :func:`headers_for` to every HTTP response that does not set them itself.

    ``docs_paths`` (FastAPI's docs pages) are buffered, small as they are, so that their
    policy can name their inline scripts' hashes.
    """

    def __init__(self, app: ASGIApp, docs_paths: Collection[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _added(message)}
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        body: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False) or start is None:
                return
            html = b"".join(body)
            await send({**start, "headers": _added(start, docs_policy(html))})
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, buffered)


def _added(start: Message, csp: str | None = None) -> list[tuple[bytes, bytes]]:
    """The response's headers with the security headers it does not already have."""
    headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
    present = {name.lower() for name, _ in headers}
    content_type = _header(headers, b"content-type")
    for name, value in headers_for(content_type, csp).items():
        if name.lower().encode() not in present:
            headers.append((name.lower().encode(), value.encode()))
    return headers


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")

"""An article's text as HTML paragraphs with the cited span marked (everything escaped)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n\s*")


class BadSpanError(ValueError):
    """Offsets that do not describe a span of the article's text; the message says why."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _offset(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadSpanError(f"{name} must be a whole number of characters, got {raw!r}") from None


def parse_span(
    text_length: int,
    start: str | None,
    end: str | None,
    sa_start: str | None = None,
    sa_end: str | None = None,
) -> tuple[Span | None, Span | None]:
    """The cited span and the optional short-answer span inside it, from query parameters."""
    cited = _pair("start", "end", _offset("start", start), _offset("end", end), text_length)
    short = _pair(
        "sa_start", "sa_end", _offset("sa_start", sa_start), _offset("sa_end", sa_end), text_length
    )
    if short is not None:
        if cited is None:
            raise BadSpanError("sa_start and sa_end need start and end")
        if short.start < cited.start or short.end > cited.end:
            raise BadSpanError(
                f"the short answer {short.start}:{short.end} is not inside the cited span "
                f"{cited.start}:{cited.end}"
            )
    return cited, short


def _pair(first: str, second: str, start: int | None, end: int | None, length: int) -> Span | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise BadSpanError(f"give both {first} and {second}, or neither")
    if start < 0 or end > length or start >= end:
        raise BadSpanError(
            f"{first}={start} and {second}={end} are not a span of this article "
            f"(0 <= {first} < {second} <= {length} characters)"
        )
    return Span(start, end)


def paragraph_bounds(text: str) -> list[Span]:
    """Paragraphs (split on blank lines) as offsets into ``text``, outer whitespace trimmed."""
    bounds: list[Span] = []
    position = 0
    for match in [*_BLANK_LINES.finditer(text), None]:
        stop = match.start() if match else len(text)
        piece = text[position:stop]
        stripped = piece.strip()
        if stripped:
            begin = position + (len(piece) - len(piece.lstrip()))
            bounds.append(Span(begin, begin + len(stripped)))
        if match:
            position = match.end()
    return bounds


def render_paragraphs(text: str, cited: Span | None, short: Span | None = None) -> list[Markup]:
    """Each paragraph's inner HTML; the parts of ``cited`` are ``<mark>`` elements, the first
    with ``id="cited"``, and ``short`` is a nested ``<mark class="short">``."""
    out: list[Markup] = []
    anchored = False
    for para in paragraph_bounds(text):
        if cited is None or cited.end <= para.start or cited.start >= para.end:
            out.append(escape(text[para.start : para.end]))
            continue
        c0, c1 = max(para.start, cited.start), min(para.end, cited.end)
        inner = _short(text, c0, c1, short)
        ident = Markup("") if anchored else Markup(' id="cited"')
        anchored = True
        out.append(
            escape(text[para.start : c0])
            + Markup('<mark class="cited"{}>{}</mark>').format(ident, inner)
            + escape(text[c1 : para.end])
        )
    return out


def _short(text: str, c0: int, c1: int, short: Span | None) -> Markup:
    if short is None or short.end <= c0 or short.start >= c1:
        return escape(text[c0:c1])
    s0, s1 = max(c0, short.start), min(c1, short.end)
    return (
        escape(text[c0:s0])
        + Markup('<mark class="short">{}</mark>').format(text[s0:s1])
        + escape(text[s1:c1])
    )

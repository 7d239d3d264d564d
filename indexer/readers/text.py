"""Reader for plain-text and Markdown news articles laid out as blocks separated by blank lines.

The layout (every part but the headline and the body optional)::

    section line            "US-China relations"
    headline
    standfirst
    photo caption with ©    (dropped wherever it appears)
    byline                  "Demetri Sevastopulo in Washington 5 HOURS AGO"
    body paragraphs         Markdown links "[text](url)" keep only their text
    "Additional reporting by ..."   -> extra["additional_reporting"]
    "Follow [Name](#) on Twitter"   (dropped)

Without a byline the first block is the headline and everything after it is body.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.ids import derived_id
from indexer.readers.base import ArticleReader
from indexer.types import Article, Skipped

logger = logging.getLogger(__name__)

_URL = r"\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)"
_IMAGE = re.compile(r"!\[[^\[\]]*\]" + _URL)
_LINK = re.compile(r"\[([^\[\]]*)\]" + _URL)
_HEADING = re.compile(r"^#{1,6}\s+|\s+#+$")
_BLOCK_SEP = re.compile(r"\n[ \t\f\v\xa0]*\n")
_LIST_ITEM = re.compile(r"^(?:[-*+•]|\d+[.)])\s")
_FOLLOW = re.compile(
    r"^follow\s+.{1,100}?\s+on\s+"
    r"(?:twitter|x|instagram|facebook|linkedin|threads|bluesky|mastodon|tiktok|youtube)\b.{0,80}$",
    re.I,
)
_REPORTING = re.compile(r"^additional reporting by\s+(.+?)\.?$", re.I)
_SENTENCE_END = re.compile(r"[.!?:…][\"'”’»)\]]*$")
_CONTINUATION = re.compile(r"^[\[\"'“‘«]*([^\W\d_])")

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_WHEN = re.compile(
    r"(?P<rel>(?:\d+|an?|one)\s+(?:second|minute|hour|day|week|month|year)s?\s+ago"
    r"|just\s+now|yesterday|today)"
    rf"|(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}}),?\s+(?P<y1>\d{{4}})"
    rf"|(?P<d2>\d{{1,2}})\s+(?P<m2>{_MONTH}),?\s+(?P<y2>\d{{4}})"
    r"|(?P<iso>\d{4}-\d{2}-\d{2})",
    re.I,
)
_BYLINE = re.compile(rf"^(?:by\s+)?(?P<who>.+?)(?:[\s,|·•–—-]+(?P<when>{_WHEN.pattern}))?$", re.I)
_NAME_SEP = re.compile(r"\s*,\s*and\s+|\s*,\s*|\s+and\s+|\s*&\s*")
#: Lower-case name particles ("Ana de la Cruz", "Ludwig van Beethoven").
_PARTICLE = re.compile(r"al|bin|ibn|el|la|le|y|d[aeiu]|de[lnr]|della|v[ao]n")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
#: How many blocks (captions aside) from the top may hold the byline.
_BYLINE_WINDOW = 6


@dataclass(frozen=True)
class Byline:
    """A parsed byline: the authors, the places they write from, and the time label."""

    authors: tuple[str, ...]
    places: tuple[str, ...] = ()
    relative: str | None = None
    published: str | None = None


@dataclass
class _Parsed:
    title: str
    body: list[str]
    section: str | None = None
    standfirst: str | None = None
    byline: Byline | None = None
    extra: dict[str, str] = field(default_factory=dict)


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as posix; the bare file name when it is not under ``root``."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def path_article_id(path: Path, root: Path) -> str:
    """The article id of a one-article file: its relative path without the suffix, folders
    joined with ``:`` (:func:`indexer.ids.derived_id`)."""
    rel = Path(relative_path(path, root))
    return derived_id(rel.with_suffix("").as_posix() if rel.suffix else rel.as_posix())


def _is_name(text: str, *, place: bool = False) -> bool:
    tokens = text.split()
    if not 1 <= len(tokens) <= 6 or not tokens[0][0].isupper():
        return False
    return all(t[0].isupper() or _PARTICLE.fullmatch(t) or (place and t == "of") for t in tokens)


def _iso_date(year: str, month: str, day: str) -> str | None:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _parse_when(match: re.Match[str]) -> tuple[str | None, str | None]:
    """``(relative label, ISO date)`` of a matched time label."""
    if match.group("rel"):
        return " ".join(match.group("rel").lower().split()), None
    if match.group("iso"):
        year, month, day = match.group("iso").split("-")
        return None, _iso_date(year, month, day)
    month_name = (match.group("m1") or match.group("m2")).lower()[:3]
    month = str(_MONTHS.index(month_name) + 1)
    return None, _iso_date(
        match.group("y1") or match.group("y2"), month, match.group("d1") or match.group("d2")
    )


def parse_byline(line: str) -> Byline | None:
    """Parse ``"A, B and C in Place 5 HOURS AGO"`` (or ``"By A ..."``); None if not a byline.

    A line counts as a byline only when it starts with "By" or ends with a time label, and
    every author (and place) looks like a name.
    """
    if "\n" in line or len(line) > 200:
        return None
    match = _BYLINE.match(line.strip())
    if match is None or not (match.group("when") or line.lower().startswith("by ")):
        return None
    authors: list[str] = []
    places: list[str] = []
    for segment in _NAME_SEP.split(match.group("who")):
        name, _, place = segment.partition(" in ")
        name, place = name.strip(), place.strip()
        if not _is_name(name) or (place and not _is_name(place, place=True)):
            return None
        authors.append(name)
        if place and place not in places:
            places.append(place)
    relative, published = (None, None)
    if match.group("when"):
        when = _WHEN.fullmatch(match.group("when"))
        if when is not None:
            relative, published = _parse_when(when)
    return Byline(tuple(authors), tuple(places), relative, published)


def strip_markup(text: str) -> str:
    """Drop Markdown images and keep only the text of Markdown links (also across lines)."""
    return _LINK.sub(r"\1", _IMAGE.sub("", text))


def _blocks(text: str) -> list[str]:
    """Split into blank-line separated blocks; lines of a block join with a space."""
    blocks: list[str] = []
    for raw in _BLOCK_SEP.split(text):
        lines = [line.strip() for line in raw.split("\n") if line.strip()]
        if not lines:
            continue
        block = lines[0]
        for line in lines[1:]:
            block += ("\n" if _LIST_ITEM.match(line) else " ") + line
        blocks.append(_HEADING.sub("", block) if block.startswith("#") else block)
    return blocks


def _is_caption(block: str) -> bool:
    return "©" in block


def _continues(previous: str, block: str) -> bool:
    """True when ``block`` carries on the sentence ``previous`` broke off in the middle of."""
    if _SENTENCE_END.search(previous):
        return False
    match = _CONTINUATION.match(block)
    return match is not None and match.group(1).islower()


def _split_header(header: list[str]) -> tuple[str | None, str, str | None]:
    """``(section, title, standfirst)`` from the blocks above the byline."""
    if len(header) >= 3:
        return header[0], header[1], " ".join(header[2:])
    if len(header) == 2:
        first = header[0]
        if len(first.split()) <= 4 and not _SENTENCE_END.search(first):
            return first, header[1], None
        return None, first, header[1]
    return None, header[0] if header else "", None


def parse_article(text: str) -> _Parsed:
    """Lay out one article's text into headline, header fields, byline and body paragraphs."""
    blocks = [b for b in _blocks(strip_markup(text)) if not _is_caption(b)]
    byline: Byline | None = None
    at = 0
    for at in range(1, min(len(blocks), _BYLINE_WINDOW + 1)):
        byline = parse_byline(blocks[at])
        if byline is not None:
            break
    if byline is not None:
        section, title, standfirst = _split_header(blocks[:at])
        rest = blocks[at + 1 :]
    else:
        section, title, standfirst = None, blocks[0] if blocks else "", None
        rest = blocks[1:]
    parsed = _Parsed(title=title, body=[], section=section, standfirst=standfirst, byline=byline)
    reporting: list[str] = []
    for block in rest:
        if _FOLLOW.match(block):
            continue
        credit = _REPORTING.match(block)
        if credit is not None:
            reporting.append(credit.group(1))
        elif parsed.body and _continues(parsed.body[-1], block):
            parsed.body[-1] += " " + block
        else:
            parsed.body.append(block)
    if reporting:
        parsed.extra["additional_reporting"] = "; ".join(reporting)
    return parsed


class TextArticleReader(ArticleReader):
    """Reads one article from a ``.txt`` or ``.md`` file in the news layout above."""

    suffixes = (".txt", ".md")

    def read(self, path: Path, root: Path) -> Iterator[Article | Skipped]:
        rel = relative_path(path, root)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield Skipped(rel, f"not valid UTF-8 text: {exc.reason} at byte {exc.start}")
            return
        except OSError as exc:
            yield Skipped(rel, f"cannot read file: {exc.strerror or exc}")
            return
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            yield Skipped(rel, "empty file: no text")
            return
        parsed = parse_article(text)
        body = "\n\n".join(parsed.body)
        if not body.strip():
            yield Skipped(rel, "no body text after the headline")
            return
        extra = dict(parsed.extra)
        byline = parsed.byline
        if byline is not None and byline.relative:
            extra["published_relative"] = byline.relative
        if byline is not None and len(byline.places) > 1:
            extra["datelines"] = "; ".join(byline.places)
        logger.debug("read %s: %d paragraphs", rel, len(parsed.body))
        yield Article(
            id=path_article_id(path, root),
            title=parsed.title,
            text=body,
            standfirst=parsed.standfirst,
            section=parsed.section,
            authors=byline.authors if byline else (),
            dateline=byline.places[0] if byline and byline.places else None,
            published=byline.published if byline else None,
            source=None,
            path=rel,
            extra=extra,
        )

"""Article ids: the one rule every entry checks (the files `cited index` reads, the write API,
the read routes and the page).

An id is 1 to 200 characters: letters and digits of any script (with the combining marks that
follow them: Devanagari's vowel signs, a decomposed accent), spaces between them, and
``- _ . , : ; @ ~ + = ! $ & ' ( ) *``. It never holds ``/`` or ``\\``, never ``..``, never
starts or ends with a space or starts with ``.``, and never holds ``%``, ``?``, ``#`` or a
control character: so an id is one safe segment of a URL path, and the page links every id to
its article.

Ids derived from file paths (a one-article file's id is its path under the corpus folder
without the suffix) join folders with ``:`` (``2023:june:harbour``), are NFC-normalised (a
file name from macOS, decomposed, gets the id the same name has elsewhere) and turn any other
character outside the rule into ``-``.
"""

from __future__ import annotations

import re
import unicodedata

from indexer.errors import CitedError

MAX_ID_LENGTH = 200
#: Punctuation allowed besides letters, digits and inner spaces.
ID_PUNCTUATION = "-_.,:;@~+=!$&'()*"
#: The rule in words, as every refusal states it.
ID_RULE = (
    f"1 to {MAX_ID_LENGTH} characters: letters, digits, inner spaces and {ID_PUNCTUATION}; "
    "no '/', no '..', not starting with '.'"
)
#: One character of the rule's set (matched alone, so a newline never slips past an anchor).
_CHARACTER = re.compile(rf"[\w{re.escape(ID_PUNCTUATION)} ]")
#: Unicode categories of combining marks, allowed after the first character.
_MARKS = frozenset({"Mn", "Mc"})
#: The folder separator of ids derived from nested files.
FOLDER_SEPARATOR = ":"


class InvalidArticleIdError(CitedError, ValueError):
    """An article id outside the rule (:data:`ID_RULE`)."""


def id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid article id, or None when it is."""
    if not value:
        return "is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long"
    if "/" in value or "\\" in value:
        return "holds '/' or '\\'"
    if ".." in value:
        return "holds '..'"
    if value.startswith("."):
        return "starts with '.'"
    if value != value.strip(" "):
        return "starts or ends with a space"
    bad = sorted({c for at, c in enumerate(value) if not _fits(c, at)})
    if bad:
        return f"holds {', '.join(repr(c) for c in bad)}"
    return None


def _fits(character: str, at: int) -> bool:
    """Whether ``character``, at position ``at`` of an id, is in the rule's set."""
    if _CHARACTER.fullmatch(character):
        return True
    return at > 0 and unicodedata.category(character) in _MARKS


def check_article_id(value: str) -> str:
    """``value`` when it is a valid article id; else :class:`InvalidArticleIdError` naming the
    value, what is wrong and the rule."""
    problem = id_problem(value)
    if problem is not None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidArticleIdError(f"article id {shown!r} {problem}; an id is {ID_RULE}")
    return value


def derived_id(relative_path: str) -> str:
    """The id of a file at ``relative_path`` (posix, suffix removed) under its corpus folder:
    folders joined with ``:``, NFC-normalised, characters outside the rule turned into ``-``."""
    parts = [p for p in relative_path.split("/") if p]
    joined = unicodedata.normalize("NFC", FOLDER_SEPARATOR.join(parts))
    text = "".join(c if _fits(c, at) else "-" for at, c in enumerate(joined)).strip(" ")
    while ".." in text:
        text = text.replace("..", ".")
    text = text.lstrip(".") or "article"
    return text[:MAX_ID_LENGTH].rstrip(" ")

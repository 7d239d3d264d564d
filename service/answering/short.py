"""Short answers: the name, date, number, place or phrase a question asks for, inside a sentence.

No trained reader: the question's wh-word and cues give the expected type, regular expressions
propose typed candidate spans (capitalised name sequences, numbers with units, currency and
percentages, dates, places after prepositions, noun-phrase runs), and each is scored by

    type match + proximity to the question's terms in the sentence - share of the span's own
    words that merely repeat the question (a span made only of question words is never chosen).

Offsets are relative to the sentence; the caller shifts them to article offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.answering.terms import STOP_WORDS, content_term_list, content_terms

#: Kinds of candidate span.
NAME, PLACE, DATE, NUMBER, PHRASE = "name", "place", "date", "number", "phrase"

#: Question type -> how well each candidate kind fits it.
TYPE_FIT: dict[str, dict[str, float]] = {
    "person": {NAME: 1.0, PLACE: 0.5},
    "date": {DATE: 1.0},
    "number": {NUMBER: 1.0},
    "place": {PLACE: 1.0, NAME: 0.6},
    "entity": {NAME: 1.0, PLACE: 0.9, PHRASE: 0.3},
    "thing": {NAME: 0.55, PLACE: 0.55, PHRASE: 0.45, NUMBER: 0.3, DATE: 0.3},
}
#: Under this score no short answer is given.
MIN_SCORE = 0.45
MAX_PHRASE_WORDS = 4
#: Per extra word of a phrase or number (SQuAD answers are short phrases, not single words).
LENGTH_WEIGHT = 0.03

_PLACE_NOUNS = (
    "city|country|state|place|town|region|continent|nation|county|province|island|river|"
    "location|area|capital|village|site|venue|mountain|lake|ocean|sea|district|neighborhood"
)
_HOW_MUCH = "many|much|long|old|far|big|large|tall|high|deep|wide|heavy|fast|often"
_PERSON_NOUNS = "person|man|woman|player|president|leader|author|king|queen|actor|singer"
_ENTITY_NOUNS = (
    "team|company|organi[sz]ation|group|band|show|museum|university|college|school|church|"
    "language|party|newspaper|magazine|book|film|movie|song|album|network|station|channel|brand|"
    "ship|award|prize|trophy|event|war|battle|treaty|agency|club|stadium|building|hotel|airport|"
    "game|program|programme|series|company's|firm|corporation|institution|league|tournament"
)
_DATE_NOUNS = "year|date|day|month|decade|century|time|period|era|season|age"
_NUMBER_NOUNS = "percentage|percent|proportion|share|number|amount|fraction|size|rate|price|cost"
_QUESTION_TYPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (rf"\bhow ({_HOW_MUCH})\b", "number"),
        (rf"\b(what|which) ({_NUMBER_NOUNS})\b", "number"),
        (r"\b(what|which)\b.*\b(cost|price|population|percentage|salary|budget|score)\b", "number"),
        (rf"\b(what|which|in what|in which) ({_DATE_NOUNS})\b", "date"),
        (r"\bwhen\b|\bhow soon\b", "date"),
        (rf"\b(what|which) ({_PLACE_NOUNS})\b", "place"),
        (r"\bwhere\b", "place"),
        (r"\bwho(m|se)?\b", "person"),
        (rf"\b(what|which) ({_PERSON_NOUNS})\b", "person"),
        (rf"\b(what|which) (\w+ )?({_ENTITY_NOUNS})\b", "entity"),
        (r"\b(what|which)\b.*\b(called|named|name)\b", "entity"),
        (r"\bwhy\b|\bhow\b", ""),
        (r"\b(what|which)\b", "thing"),
    )
)

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
)
_YEAR = r"(?:1[0-9]|20)\d\d"
_ORDINAL_WORDS = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    r"twenty-first)"
)
_DATE = re.compile(
    rf"\b(?:(?:early|late|mid)[- ])?{_MONTH}(?:\s\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s{_YEAR})?(?!\w)"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?{_MONTH}(?:,?\s{_YEAR})?(?!\w)"
    rf"|\b{_YEAR}s?\b|'\d0s\b"
    rf"|\b(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORDINAL_WORDS})[- ]century\b"
    r"|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    rf"|\b(?:spring|summer|autumn|fall|winter)(?: of)? {_YEAR}\b"
)
_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|dozen|hundreds|thousands|millions|billions)"
)
_NUMBER_CORE = (
    rf"(?:[$£€¥]\s?)?(?:\d[\d,]*(?:\.\d+)?[½¼¾]?|{_NUMBER_WORDS}(?:[- ]{_NUMBER_WORDS})*)"
    r"(?:\s?(?:%|percent\b|per cent\b))?"
    r"(?:\s(?:million|billion|trillion|thousand|hundred|m|bn)\b)?"
)
_UNITS = (
    r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|km|kilometres?|kilometers?|miles?|"
    r"feet|foot|metres?|meters?|kg|kilograms?|pounds|tons?|tonnes?|acres?|degrees?|people)"
)
_NUMBER = re.compile(rf"(?<![\w$£€¥]){_NUMBER_CORE}(?!\w)", re.IGNORECASE)
_NUMBER_UNIT = re.compile(rf"(?<![\w$£€¥]){_NUMBER_CORE}\s{_UNITS}\b", re.IGNORECASE)
_CAP_WORD = r"[A-Z][\w'’.&-]*"
_CAPITALISED = re.compile(
    rf"{_CAP_WORD}(?:\s+(?:(?:of|the|de|del|da|du|la|le|van|von|der|for|al|bin)\s+)*{_CAP_WORD})*"
)
_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|from|to|near|across|outside|inside|into|throughout|towards?|via)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
#: Capitalised words that start a sentence or clause rather than a name.
_LEADING = (STOP_WORDS - {"new", "us", "may", "will", "one", "two"}) | frozenset(
    """
    however meanwhile although though since yet thus also today yesterday last next later earlier
    mr mrs ms dr moreover furthermore additionally nevertheless nonetheless instead therefore hence
    still currently finally eventually initially originally subsequently despite following unlike
    like according among within upon
    """.split()
)
#: A noun phrase often follows these; a bare verb rarely answers a question.
_NP_BEFORE = re.compile(
    r"\b(?:the|a|an|its|his|her|their|our|this|that|these|those|of|in|on|at|by|for|with|from|"
    r"to|as|called|named|known as)\s+$",
    re.IGNORECASE,
)
_VERB_LIKE = re.compile(
    r"(?:\w+(?:ed|ing|ly)|went|was|were|made|took|gave|became|began|came|won|lost|led|said|"
    r"told|found|left|held|put|set|got|saw|knew|thought|brought|built|became|wrote|ran|met)",
    re.IGNORECASE,
)
_SCORE = re.compile(r"(?<![\w.])\d{1,3}[–-]\d{1,3}(?![\w.])")
_MONEY_QUESTION = re.compile(r"\b(how much|cost|price|worth|paid|pay|salary|budget|money)\b", re.I)
_WORD = re.compile(r"\w+(?:[-'’.,]\w+)*")
_TRIM = ".,;:!?'’\"“”()[]-"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


def question_type(question: str) -> str | None:
    """``person``, ``date``, ``number``, ``place`` or ``thing``; None when it asks why or how."""
    for pattern, kind in _QUESTION_TYPES:
        if pattern.search(question):
            return kind or None
    return None


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    for suffix in ("'s", "’s"):
        if text[start:end].endswith(suffix):
            end -= len(suffix)
    while start < end and text[start] in _TRIM:
        start += 1
    return start, end


def _names(sentence: str) -> list[Span]:
    found = []
    for match in _CAPITALISED.finditer(sentence):
        start, end = match.span()
        # Drop leading capitalised function words ("The", "However", "In"), not "New".
        for word in re.finditer(r"\S+", match.group()):
            if word.group().lower().strip(_TRIM) not in _LEADING:
                start = match.start() + word.start()
                break
        else:
            continue
        start, end = _trimmed(sentence, start, end)
        if end <= start or _DATE.fullmatch(sentence[start:end]):
            continue
        place = _PLACE_BEFORE.search(sentence[max(0, start - 20) : start]) is not None
        found.append(Span(start, end, PLACE if place else NAME))
    return found


def _phrases(sentence: str) -> list[Span]:
    """Runs of content words (no stop words, only spaces between) and their sub-runs."""
    runs: list[list[tuple[int, int]]] = []
    run: list[tuple[int, int]] = []
    previous_end = -1
    for word in _WORD.finditer(sentence):
        content = word.group().lower() not in STOP_WORDS
        adjacent = previous_end >= 0 and not sentence[previous_end : word.start()].strip()
        if content and run and adjacent:
            run.append(word.span())
        else:
            if run:
                runs.append(run)
            run = [word.span()] if content else []
        previous_end = word.end()
    if run:
        runs.append(run)
    found = []
    for run in runs:
        for a in range(len(run)):
            for b in range(a, min(len(run), a + MAX_PHRASE_WORDS)):
                # All-capitalised runs are names, proposed (and checked) by ``_names``.
                if any(not sentence[s].isupper() for s, _ in run[a : b + 1]):
                    found.append(Span(*_trimmed(sentence, run[a][0], run[b][1]), PHRASE))
    return found


def candidate_spans(sentence: str) -> list[Span]:
    """Every typed candidate span of ``sentence`` (one span may appear under several kinds)."""
    spans = [Span(*_trimmed(sentence, *m.span()), DATE) for m in _DATE.finditer(sentence)]
    for pattern in (_NUMBER, _NUMBER_UNIT):
        spans += [Span(*_trimmed(sentence, *m.span()), NUMBER) for m in pattern.finditer(sentence)]
    spans += [Span(*m.span(), NUMBER) for m in _SCORE.finditer(sentence)]
    spans += _names(sentence) + _phrases(sentence)
    return [s for s in spans if s.end > s.start]


def _repeats(term: str, asked: set[str]) -> bool:
    """``term`` is one of the question's, or shares its first four letters ("Chinese", "China")."""
    return term in asked or (len(term) >= 4 and any(a[:4] == term[:4] for a in asked))


@dataclass(frozen=True)
class _Asked:
    """What the scorer needs from the question."""

    fit: dict[str, float]
    terms: set[str]
    acronyms: frozenset[str]
    money: bool


def _initials(text: str) -> str:
    return "".join(w[0] for w in text.split() if w[:1].isupper())


def _score(span: Span, asked: _Asked, sentence: str, words: list[tuple[int, str]]) -> float:
    type_fit = asked.fit.get(span.kind, 0.0)
    text = sentence[span.start : span.end]
    if span.kind == NUMBER and re.fullmatch(_YEAR, text):
        type_fit *= 0.5
    if span.kind in (NAME, PLACE) and _initials(text) in asked.acronyms:
        return float("-inf")  # "National Football League" for a question about the NFL
    own = content_terms(text)
    repeated = sum(_repeats(term, asked.terms) for term in own) / len(own) if own else 0.0
    if own and repeated == 1.0:
        return float("-inf")
    inside = [i for i, (pos, _) in enumerate(words) if span.start <= pos < span.end]
    first, last = (inside[0], inside[-1]) if inside else (0, 0)
    nearest: dict[str, float] = {}
    for i, (pos, stem) in enumerate(words):
        if stem in asked.terms and not span.start <= pos < span.end:
            distance = first - i if i < first else i - last
            nearest[stem] = max(nearest.get(stem, 0.0), 1.0 / (1.0 + max(distance, 1)))
    proximity = sum(nearest.values()) / max(1, len(asked.terms & {s for _, s in words}))
    length = len(inside) if span.kind in (PHRASE, NUMBER) else 0
    bonus = 0.15 if span.kind in (NAME, PLACE) and len(inside) > 1 else 0.0
    if span.kind == DATE:
        bonus += 0.05 * (len(inside) - 1)  # "February 7, 2016" over "2016"
    if _NP_BEFORE.search(sentence[max(0, span.start - 12) : span.start]):
        bonus += 0.15
    if span.kind == PHRASE and _VERB_LIKE.fullmatch(text.split()[-1]):
        bonus -= 0.25
    if asked.money and span.kind == NUMBER and re.search(r"[$£€¥]|dollar|pound|euro", text):
        bonus += 0.3
    return type_fit + proximity + bonus - repeated + LENGTH_WEIGHT * min(max(0, length - 1), 3)


def short_span(question: str, sentence: str) -> tuple[int, int] | None:
    """``(start, end)`` in ``sentence`` of the short answer to ``question``, or None."""
    kind = question_type(question)
    if kind is None:
        return None
    asked = _Asked(
        fit=TYPE_FIT[kind],
        terms=content_terms(question),
        acronyms=frozenset(re.findall(r"\b[A-Z]{2,}\b", question)),
        money=_MONEY_QUESTION.search(question) is not None,
    )
    words = [
        (m.start(), next(iter(content_term_list(m.group())), "")) for m in _WORD.finditer(sentence)
    ]
    best: tuple[float, int, int] | None = None
    for span in candidate_spans(sentence):
        if span.kind not in asked.fit:
            continue
        score = _score(span, asked, sentence, words)
        if best is None or score > best[0]:
            best = (score, span.start, span.end)
    if best is None or best[0] < MIN_SCORE:
        return None
    return best[1], best[2]

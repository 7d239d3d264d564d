"""Sentence-aware chunking: runs of whole sentences that fit the embedding model's token budget.

A chunk is a run of consecutive sentences whose summed token count is at most ``max_tokens``;
neighbouring chunks share their last ``overlap_sentences`` sentences when that leaves room. A
sentence longer than the budget is cut at token boundaries (at whitespace where possible) into
pieces that are chunks of their own. Every chunk is an exact slice of the article text.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass
from itertools import accumulate

from indexer.embedders.base import Tokenizer
from indexer.sentences import sentence_spans
from indexer.types import Chunk

__all__ = ["Chunker", "ChunkingSettings", "default_max_tokens"]

logger = logging.getLogger(__name__)

MIN_MAX_TOKENS = 8
_WHITESPACE = re.compile(r"\s")
_NON_SPACE = re.compile(r"\S")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def default_max_tokens(model_max_tokens: int, title_reserve: int = 32) -> int:
    """The chunk budget for a model: its limit less room for the title prepended at embed time."""
    if not _is_int(model_max_tokens) or model_max_tokens < 1:
        raise ValueError(f"model_max_tokens must be an integer >= 1, got {model_max_tokens!r}")
    if not _is_int(title_reserve) or title_reserve < 0:
        raise ValueError(f"title_reserve must be an integer >= 0, got {title_reserve!r}")
    return max(MIN_MAX_TOKENS, model_max_tokens - title_reserve)


@dataclass(frozen=True)
class ChunkingSettings:
    """``max_tokens`` per chunk (>= 8) and how many sentences neighbouring chunks share (>= 0)."""

    max_tokens: int
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if not _is_int(self.max_tokens) or self.max_tokens < MIN_MAX_TOKENS:
            raise ValueError(
                f"max_tokens must be an integer >= {MIN_MAX_TOKENS}, got {self.max_tokens!r}"
            )
        if not _is_int(self.overlap_sentences) or self.overlap_sentences < 0:
            raise ValueError(
                f"overlap_sentences must be an integer >= 0, got {self.overlap_sentences!r}"
            )


@dataclass(frozen=True)
class _Unit:
    """A sentence, or a piece of an over-long one (``piece=True``), as offsets into the text."""

    start: int
    end: int
    n_tokens: int
    piece: bool = False


def _piece(start: int, text: str, n_tokens: int) -> _Unit:
    return _Unit(start, start + len(text), n_tokens, piece=True)


def _split_sentence(
    sentence: str, offset: int, tokens: list[tuple[int, int]], max_tokens: int
) -> list[_Unit]:
    """Cut an over-long sentence into stripped pieces of at most ``max_tokens`` tokens.

    A cut falls at the last whitespace before the first token that does not fit, or at that
    token's start when the piece has no whitespace. ``offset`` is the sentence's start in the text.
    """
    starts = sorted(start for start, _ in tokens)
    units: list[_Unit] = []
    piece_start = 0
    first = 0  # index of the first token of the current piece
    while len(starts) - first > max_tokens:
        limit = starts[first + max_tokens]  # start of the first token that does not fit
        lowest = max(piece_start, starts[first]) + 1
        cut = -1
        for index in range(min(limit, len(sentence) - 1), lowest - 1, -1):
            if _WHITESPACE.match(sentence, index):
                cut = index
                break
        if cut < 0:
            cut = max(limit, lowest)
        next_first = bisect.bisect_left(starts, cut, lo=first)
        text = sentence[piece_start:cut].rstrip()
        if text:
            units.append(_piece(offset + piece_start, text, next_first - first))
        following = _NON_SPACE.search(sentence, cut)
        if following is None:
            return units
        piece_start = following.start()
        first = next_first
    text = sentence[piece_start:].rstrip()
    if text:
        units.append(_piece(offset + piece_start, text, len(starts) - first))
    return units


class Chunker:
    """Cuts article text into :class:`Chunk` s sized in the tokenizer's tokens."""

    def __init__(self, tokenizer: Tokenizer, settings: ChunkingSettings) -> None:
        self.tokenizer = tokenizer
        self.settings = settings

    def _units(self, text: str) -> list[_Unit]:
        spans = sentence_spans(text)
        if not spans:
            return []
        offsets = self.tokenizer.token_offsets([text[start:end] for start, end in spans])
        if len(offsets) != len(spans):
            raise ValueError(
                f"tokenizer returned {len(offsets)} offset lists for {len(spans)} sentences"
            )
        limit = self.settings.max_tokens
        units: list[_Unit] = []
        for (start, end), tokens in zip(spans, offsets, strict=True):
            if len(tokens) <= limit:
                units.append(_Unit(start, end, len(tokens)))
            else:
                units.extend(_split_sentence(text[start:end], start, tokens, limit))
        return units

    def chunk(self, article_id: str, text: str) -> list[Chunk]:
        """The chunks of ``text``, in order, numbered from 0; [] when it is all whitespace."""
        units = self._units(text)
        limit = self.settings.max_tokens
        overlap = self.settings.overlap_sentences
        # totals[k] is the token count of units[:k], so a run i..j-1 costs totals[j] - totals[i].
        totals = [0, *accumulate(unit.n_tokens for unit in units)]
        runs: list[tuple[int, int]] = []
        first = 0
        while first < len(units):
            if units[first].piece:
                runs.append((first, first + 1))
                first += 1
                continue
            stop = first + 1
            while (
                stop < len(units)
                and not units[stop].piece
                and totals[stop + 1] - totals[first] <= limit
            ):
                stop += 1
            runs.append((first, stop))
            if stop >= len(units) or units[stop].piece:
                first = stop
                continue
            # Share the last sentences, fewer when they leave no room for the next one; the
            # next chunk always starts after this one's start and holds the new sentence ``stop``.
            start_next = max(stop - overlap, first + 1)
            while start_next < stop and totals[stop + 1] - totals[start_next] > limit:
                start_next += 1
            first = start_next
        chunks = [
            Chunk(
                article_id=article_id,
                ordinal=ordinal,
                start=units[i].start,
                end=units[j - 1].end,
                text=text[units[i].start : units[j - 1].end],
                n_tokens=totals[j] - totals[i],
            )
            for ordinal, (i, j) in enumerate(runs)
        ]
        logger.debug("article %s: %d units, %d chunks", article_id, len(units), len(chunks))
        return chunks

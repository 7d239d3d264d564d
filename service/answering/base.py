"""The answer interface: a question and retrieved passages in, a cited answer out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from service.retrieval import Retrieval


@dataclass(frozen=True)
class Citation:
    """``quote == article.text[start:end]``; ``n`` is the ``[n]`` marker in the answer text."""

    n: int
    article_id: str
    title: str
    start: int
    end: int
    quote: str
    chunk_id: int


@dataclass(frozen=True)
class ShortAnswer:
    """The name, date, number or phrase asked for: ``text == article.text[start:end]``, inside a
    citation's span."""

    text: str
    article_id: str
    start: int
    end: int


@dataclass
class Answer:
    text: str | None
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    score: float | None = None
    reason: str | None = None
    short_answer: ShortAnswer | None = None


class AnswerSelector(ABC):
    """Chooses what to answer from the retrieved passages, citing each part it uses."""

    @abstractmethod
    def answer(self, question: str, retrieval: Retrieval) -> Answer:
        """Answer ``question`` from ``retrieval.passages`` only, or abstain."""

"""The generated answer for one request: prompt, generate (whole or streamed), verify, fall back.

The extractive answer comes first: when it abstains, nothing is generated; when generation fails
or no generated sentence survives verification, the extractive answer is returned instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from service.answering.base import Answer
from service.generation.base import GenerationError, Generator, Message
from service.generation.prompt import build_messages, prompt_passages
from service.generation.verify import verify_generated
from service.retrieval import Passage, Retrieval

logger = logging.getLogger(__name__)

#: ``GeneratedAnswer.generator`` when the answer text is extractive.
EXTRACTIVE = "none"


@dataclass
class GeneratedAnswer:
    answer: Answer
    #: Generated sentences dropped by verification.
    unsupported: list[str] = field(default_factory=list)
    #: The generator that wrote the answer text, or ``"none"`` when it is extractive.
    generator: str = EXTRACTIVE


def prompt_for(
    question: str, retrieval: Retrieval, context_chars: int
) -> tuple[list[Message], list[Passage]]:
    """The messages for ``question`` and the passages they number ``[1]``, ``[2]``, ..."""
    passages = prompt_passages(retrieval.passages, context_chars)
    return build_messages(question, passages), passages


def finish(name: str, text: str, passages: list[Passage], extractive: Answer) -> GeneratedAnswer:
    """Verify generated ``text``; with no sentence left, the extractive answer."""
    verified = verify_generated(text, passages, score=extractive.score)
    if verified.unsupported:
        logger.info("dropped %d unsupported generated sentence(s)", len(verified.unsupported))
    if verified.answer is None:
        return GeneratedAnswer(extractive, verified.unsupported, EXTRACTIVE)
    # The extractive short answer stays only if a generated sentence cites the sentence that
    # holds it (service.citations.verify_answer checks that).
    answer = replace(verified.answer, short_answer=extractive.short_answer)
    return GeneratedAnswer(answer, verified.unsupported, name)


def generate_answer(
    generator: Generator,
    question: str,
    retrieval: Retrieval,
    extractive: Answer,
    context_chars: int,
) -> GeneratedAnswer:
    if extractive.abstained or not retrieval.passages:
        return GeneratedAnswer(extractive)
    messages, passages = prompt_for(question, retrieval, context_chars)
    try:
        text = generator.generate(messages)
    except GenerationError as exc:
        logger.warning("generator failed, answering extractively: %s", exc)
        return GeneratedAnswer(extractive)
    return finish(generator.name, text, passages, extractive)


def stream_answer(
    generator: Generator,
    question: str,
    retrieval: Retrieval,
    extractive: Answer,
    context_chars: int,
) -> Iterator[str | GeneratedAnswer]:
    """Text pieces as the generator writes them (unverified), then the verified answer."""
    if extractive.abstained or not retrieval.passages:
        yield GeneratedAnswer(extractive)
        return
    messages, passages = prompt_for(question, retrieval, context_chars)
    pieces: list[str] = []
    try:
        for piece in generator.stream(messages):
            pieces.append(piece)
            yield piece
    except GenerationError as exc:
        logger.warning("generator failed while streaming, answering extractively: %s", exc)
        yield GeneratedAnswer(extractive)
        return
    yield finish(generator.name, "".join(pieces), passages, extractive)

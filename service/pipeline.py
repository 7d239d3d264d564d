"""Search and ask, end to end: the one code path used by the API, the CLI and eval."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from cited.config import Settings
from indexer.embedders.base import Embedder
from indexer.filters import Filters
from indexer.index import Index
from indexer.second_stage import SecondStage
from service.answering.base import Answer, AnswerSelector
from service.citations import verify_answer
from service.generation.answer import GeneratedAnswer, generate_answer, stream_answer
from service.generation.base import Generator
from service.retrieval import Retrieval, Retriever
from service.time.as_of import AsOf


@dataclass
class AskResult:
    answer: Answer
    retrieval: Retrieval
    timings_ms: dict[str, float]
    #: Generated sentences dropped by verification (generator modes only).
    unsupported: list[str] = field(default_factory=list)
    #: The generator that wrote the answer text; ``"none"`` when it is extractive.
    generator: str = "none"


class Pipeline:
    """Retrieval and a verified, cited answer over one index version."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        selector: AnswerSelector,
        settings: Settings,
        generator: Generator | None = None,
        second_stage: SecondStage | None = None,
    ):
        self.index = index
        self.embedder = embedder
        self.retriever = Retriever(
            index,
            embedder,
            mode=settings.retrieval.mode,
            fusion=settings.retrieval,
            second_stage=second_stage,
            time=settings.time,
        )
        self.selector = selector
        self.settings = settings
        self.generator = generator

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder,
        generator: Generator | None = None,
        second_stage: SecondStage | None = None,
    ) -> Pipeline:
        from cited.compose import Parts  # the one place the configured index is opened

        return cls.over(Parts(settings).open_index(), embedder, settings, generator, second_stage)

    @classmethod
    def over(
        cls,
        index: Index,
        embedder: Embedder,
        settings: Settings,
        generator: Generator | None = None,
        second_stage: SecondStage | None = None,
        selector: AnswerSelector | None = None,
    ) -> Pipeline:
        """The pipeline over an opened index, with ``selector`` (it holds no index state, so a
        new version reuses the served one's) or the one the settings describe."""
        if selector is None:
            from cited.compose import Parts  # the one place parts are built from settings

            selector = Parts(settings, embedder=embedder).selector
        return cls(index, embedder, selector, settings, generator, second_stage)

    def search(
        self,
        query: str,
        k: int,
        mode: str | None = None,
        filters: Filters | None = None,
        as_of: AsOf | None = None,
    ) -> Retrieval:
        return self.retriever.search(query, k, mode, filters, as_of)

    def ask(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
        as_of: AsOf | None = None,
    ) -> AskResult:
        retrieval, extractive, timings = self._select(question, k, mode, filters, as_of)
        if self.generator is None:
            return self._verified(GeneratedAnswer(extractive), retrieval, timings)
        started = time.perf_counter()
        generated = generate_answer(
            self.generator,
            question,
            retrieval,
            extractive,
            self.settings.generator.context_chars,
        )
        timings["generate"] = (time.perf_counter() - started) * 1e3
        return self._verified(generated, retrieval, timings)

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
        as_of: AsOf | None = None,
    ) -> Iterator[str | AskResult]:
        """Retrieval and selection run before this returns (their errors raise here); the
        iterator then yields the answer text in pieces and last the verified :class:`AskResult`.
        A generator's pieces are unverified: the result's answer is the one that holds."""
        retrieval, extractive, timings = self._select(question, k, mode, filters, as_of)
        return self._stream(question, retrieval, extractive, timings)

    def _stream(
        self, question: str, retrieval: Retrieval, extractive: Answer, timings: dict[str, float]
    ) -> Iterator[str | AskResult]:
        if self.generator is None:
            result = self._verified(GeneratedAnswer(extractive), retrieval, timings)
            if result.answer.text:
                yield result.answer.text
            yield result
            return
        started = time.perf_counter()
        context = self.settings.generator.context_chars
        for item in stream_answer(self.generator, question, retrieval, extractive, context):
            if isinstance(item, str):
                yield item
            else:
                timings["generate"] = (time.perf_counter() - started) * 1e3
                yield self._verified(item, retrieval, timings)

    def _select(
        self,
        question: str,
        k: int | None,
        mode: str | None,
        filters: Filters | None,
        as_of: AsOf | None,
    ) -> tuple[Retrieval, Answer, dict[str, float]]:
        """Retrieval and the extractive answer (the fallback, and the abstention decision)."""
        k = k or self.settings.answer.answer_passages
        retrieval = self.retriever.search(question, k, mode, filters, as_of)
        started = time.perf_counter()
        answer = self.selector.answer(question, retrieval)
        timings = dict(retrieval.timings_ms)
        timings["answer"] = (time.perf_counter() - started) * 1e3
        return retrieval, answer, timings

    def _verified(
        self, generated: GeneratedAnswer, retrieval: Retrieval, timings: dict[str, float]
    ) -> AskResult:
        """Citation integrity (service.citations) on whatever answer is about to leave."""
        answer = verify_answer(generated.answer, self.index, retrieval)
        return AskResult(answer, retrieval, timings, generated.unsupported, generated.generator)

    def close(self, close_generator: bool = True) -> None:
        self.index.close()
        if close_generator and self.generator is not None:
            self.generator.close()

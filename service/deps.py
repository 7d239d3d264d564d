"""Typed dependencies: routes get the pipeline loaded in the lifespan, never a global."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.pipeline import Pipeline


def get_pipeline(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

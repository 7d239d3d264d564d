"""The second stage's record in ``manifest.json`` (the JSON key is ``rerank``, as old indexes
have it): which model embedded the stored vectors, and of what passage."""

from __future__ import annotations

from pydantic import BaseModel


class SecondStageRecord(BaseModel):
    """The second stage's stored vectors: one per chunk, of its article's lead passage."""

    model: str
    dim: int
    passage: str = "lead"
    lead_chars: int

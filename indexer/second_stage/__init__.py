"""The second stage of ``hybrid+rerank``, in one place: the lead passage it embeds at index
time, the encoders, its manifest record, and the query-time scorer whose ranking of the fused
candidates is fused into the hybrid results (:meth:`service.retrieval.Retriever.search`).

``load_second_stage(settings)`` builds the one ``CITED_RERANKER`` names; the indexer stores what
its :attr:`SecondStage.stored` asks for, and the service scores with the same object.
"""

from __future__ import annotations

from indexer.second_stage.base import SecondStage
from indexer.second_stage.factory import NONE, SECOND_STAGES, load_second_stage
from indexer.second_stage.leads import DEFAULT_LEAD_CHARS, StoredLeads, cut_at_word, lead_text
from indexer.second_stage.record import SecondStageRecord
from indexer.second_stage.stored import StoredVectorSecondStage

__all__ = [
    "DEFAULT_LEAD_CHARS",
    "NONE",
    "SECOND_STAGES",
    "SecondStage",
    "SecondStageRecord",
    "StoredLeads",
    "StoredVectorSecondStage",
    "cut_at_word",
    "lead_text",
    "load_second_stage",
]

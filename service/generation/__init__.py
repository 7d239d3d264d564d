"""Optional answer generators (``CITED_GENERATOR``): local SmolLM2 or an OpenAI-compatible API.

Generated text is never trusted: :mod:`service.generation.verify` keeps only the sentences whose
``[n]`` markers, numbers and names are backed by the retrieved passages.
"""

from __future__ import annotations

from indexer.settings import Settings
from service.generation.base import GenerationError, Generator, Message

__all__ = ["GenerationError", "Generator", "Message", "load_generator"]


def load_generator(settings: Settings) -> Generator | None:
    """The generator the settings select, loaded now (None for ``generator == "none"``)."""
    if settings.generator == "local":
        from service.generation.local import LocalGenerator

        return LocalGenerator(
            max_tokens=settings.generator_max_tokens, threads=settings.generator_threads
        )
    if settings.generator == "openai":
        from service.generation.openai import OpenAIGenerator

        key = settings.openai_api_key
        return OpenAIGenerator(
            settings.openai_base_url,
            settings.openai_model,
            api_key=key.get_secret_value() if key else None,
            max_tokens=settings.generator_max_tokens,
            timeout_s=settings.generator_timeout_s,
        )
    return None

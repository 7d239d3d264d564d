"""Optional answer generators (``CITED_GENERATOR``): local SmolLM2 or an OpenAI-compatible API.

Generated text is never trusted: :mod:`service.generation.verify` keeps only the sentences whose
``[n]`` markers, numbers and names are backed by the retrieved passages.
"""

from __future__ import annotations

from cited.config import Settings
from service.generation.base import GenerationError, Generator, Message

__all__ = ["GenerationError", "Generator", "Message", "load_generator"]


def load_generator(settings: Settings) -> Generator | None:
    """The generator the settings select, loaded now (None for ``generator == "none"``)."""
    if settings.generator.kind == "local":
        from service.generation.local import LocalGenerator

        return LocalGenerator(
            max_tokens=settings.generator.max_tokens, threads=settings.generator.threads
        )
    if settings.generator.kind == "openai":
        from service.generation.openai import OpenAIGenerator

        key = settings.generator.openai_api_key
        return OpenAIGenerator(
            settings.generator.openai_base_url,
            settings.generator.openai_model,
            api_key=key.get_secret_value() if key else None,
            max_tokens=settings.generator.max_tokens,
            timeout_s=settings.generator.timeout_s,
        )
    return None

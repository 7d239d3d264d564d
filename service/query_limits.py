"""The configured request limits: ``CITED_MAX_QUERY_CHARS`` and ``CITED_MAX_K``.

The request schemas (:mod:`service.schemas`) are bounded by the largest values the settings
allow; each app checks its own configured limits here, answering 422 in FastAPI's shape, and
writes them into its OpenAPI document, so what the document says is what the app enforces.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from cited.config import RetrievalSettings

#: Request schemas and the name of their text field.
TEXT_FIELDS = {"SearchRequest": "query", "AskRequest": "question"}


def check_request(limits: RetrievalSettings, field: str, text: str, k: int | None) -> None:
    """Raise a 422 (RequestValidationError) when ``text`` or ``k`` is over the limits."""
    errors: list[dict[str, Any]] = []
    if len(text) > limits.max_query_chars:
        errors.append(
            {
                "type": "string_too_long",
                "loc": ("body", field),
                "msg": f"String should have at most {limits.max_query_chars} characters",
                "input": text,
                "ctx": {"max_length": limits.max_query_chars},
            }
        )
    if k is not None and k > limits.max_k:
        errors.append(
            {
                "type": "less_than_equal",
                "loc": ("body", "k"),
                "msg": f"Input should be less than or equal to {limits.max_k}",
                "input": k,
                "ctx": {"le": limits.max_k},
            }
        )
    if errors:
        raise RequestValidationError(errors)


def _set_maximum(schema: dict[str, Any], maximum: int) -> None:
    """``maximum`` on the integer schema, also inside ``anyOf`` (an optional ``k``)."""
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("type") == "integer":
            option["maximum"] = maximum


def apply_limits(openapi: dict[str, Any], limits: RetrievalSettings) -> dict[str, Any]:
    """``openapi`` with the request schemas' bounds set to the configured limits."""
    components = openapi.get("components", {}).get("schemas", {})
    for name, field in TEXT_FIELDS.items():
        properties = components.get(name, {}).get("properties", {})
        if field in properties:
            properties[field]["maxLength"] = limits.max_query_chars
        if "k" in properties:
            _set_maximum(properties["k"], limits.max_k)
            description = properties["k"].get("description", "")
            properties["k"]["description"] = description.replace(
                "1..CITED_MAX_K (100)", f"1..{limits.max_k}"
            )
    return openapi

"""The one configuration: every setting is read here, from ``CITED_<NAME>``, and written once.

:class:`Settings` holds six sections (index, retrieval, time, answer, serve, generator); each
is the options object the code it configures takes, so a default lives only in its section.
The environment names stay flat (``CITED_MODE``, ``CITED_GENERATOR_MAX_TOKENS``): each field's
flat name is its own name unless its section's ``FLAT`` says otherwise. ``Settings(**flat)`` and
:meth:`Settings.replace` take the flat names too.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Self, get_args, get_origin

from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cited.sections import (
    ENV_PREFIX,
    MAX_K_CEILING,
    MAX_QUERY_CHARS_CEILING,
    MODES,
    PACKAGED_MODEL,
    SECTIONS,
    AnswerSettings,
    GeneratorSettings,
    IndexSettings,
    Mode,
    RetrievalSettings,
    Section,
    ServeSettings,
    TimeSettings,
    default_of,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ENV_PREFIX",
    "FLAT_NAMES",
    "MAX_K_CEILING",
    "MAX_QUERY_CHARS_CEILING",
    "MODES",
    "PACKAGED_MODEL",
    "SECTIONS",
    "AnswerSettings",
    "GeneratorSettings",
    "IndexSettings",
    "Mode",
    "RetrievalSettings",
    "Section",
    "ServeSettings",
    "Settings",
    "TimeSettings",
    "default_of",
]


def _flat_table() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for section, model in SECTIONS.items():
        for flat, name in model.flat_names().items():
            if flat in table:
                raise RuntimeError(f"flat setting name {flat!r} is used twice")
            table[flat] = (section, name)
    return table


#: Flat name (``CITED_<NAME>`` lower case, without the prefix) -> (section, field).
FLAT_NAMES: dict[str, tuple[str, str]] = _flat_table()


def _is_complex(field: FieldInfo) -> bool:
    """Fields read from the environment as JSON (lists), as pydantic-settings does."""
    origin = get_origin(field.annotation)
    return origin in (list, dict, tuple) or any(
        get_origin(arg) in (list, dict, tuple) for arg in get_args(field.annotation)
    )


class FlatEnvSource(PydanticBaseSettingsSource):
    """``CITED_<FLAT NAME>`` variables (any case), sorted into their sections."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        environ = {k.lower(): v for k, v in os.environ.items()}
        found: dict[str, Any] = {}
        for flat, (section, name) in FLAT_NAMES.items():
            key = (ENV_PREFIX + flat).lower()
            if key not in environ:
                continue
            value: Any = environ[key]
            if _is_complex(SECTIONS[section].model_fields[name]):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise ValueError(
                        f"{key.upper()}={value!r} is not JSON (a list is written as "
                        f'["corpus", "more"])'
                    ) from exc
            found.setdefault(section, {})[name] = value
        return found


def route_flat(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every flat name moved into its section (flat names win over the section's
    own values); names that are neither a section nor a flat name are left for the error."""
    routed: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict | BaseModel):
            routed[key] = value  # a section ("generator" is also a flat name: its kind)
        elif key in FLAT_NAMES:
            flat[key] = value
        else:
            routed[key] = value
    for key, value in flat.items():
        section, name = FLAT_NAMES[key]
        current = routed.get(section, {})
        if isinstance(current, BaseModel):
            current = {n: getattr(current, n) for n in type(current).model_fields}
        routed[section] = {**current, name: value}
    return routed


class Settings(BaseSettings):
    """Every setting, in six sections; built from ``CITED_*`` variables and keyword values
    (flat names or sections), the keywords winning."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=None, extra="forbid")

    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    time: TimeSettings = Field(default_factory=TimeSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, FlatEnvSource(settings_cls))

    @model_validator(mode="before")
    @classmethod
    def _route_flat(cls, data: Any) -> Any:
        return route_flat(data) if isinstance(data, dict) else data

    @classmethod
    def of(cls, **flat: Any) -> Self:
        """Settings from keyword values by flat name (``Settings.of(index_dir=..., mode="bm25")``)
        or section, over the environment: the typed spelling of ``Settings(**flat)``."""
        return cls(**flat)

    def replace(self, **flat: Any) -> Self:
        """A validated copy with ``flat`` changed (flat names or whole sections); the
        environment is not read again."""
        current: dict[str, Any] = {name: getattr(self, name).model_dump() for name in SECTIONS}
        for key, value in route_flat(flat).items():
            if key in SECTIONS and isinstance(value, dict) and key in current:
                current[key] = {**current[key], **value}
            else:
                current[key] = value
        return type(self).model_validate(current)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (what ``CITED_<NAME>`` sets)."""
        return {
            flat: getattr(getattr(self, section), name)
            for flat, (section, name) in FLAT_NAMES.items()
        }

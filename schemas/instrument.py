"""The instrument definition: which items a survey version asks, on what scale, and what counts
as positive. It is data (`schemas/instruments/<id>.toml`), so a new survey version is a new file."""

from __future__ import annotations

import tomllib
from functools import cached_property
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms.errors import ConfigError


class Scale(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["likert-5"]
    labels: tuple[str, ...] = Field(min_length=5, max_length=5)
    positive: tuple[str, ...]

    @model_validator(mode="after")
    def _positive_are_labels(self) -> Scale:
        unknown = set(self.positive) - set(self.labels)
        if unknown:
            raise ValueError(f"positive labels {sorted(unknown)} are not on the scale")
        return self

    @property
    def positive_codes(self) -> tuple[int, ...]:
        """Codes (1-based positions on the scale) that count as a positive answer."""
        return tuple(self.labels.index(label) + 1 for label in self.positive)


class Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    statement: str
    kind: Literal["likert", "free_text"]
    competency: str


class Instrument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    scale: Scale
    competencies: dict[str, str]
    items: tuple[Item, ...]

    @model_validator(mode="after")
    def _items_consistent(self) -> Instrument:
        ids = [item.id for item in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError("item ids must be unique")
        for item in self.items:
            if item.competency not in self.competencies:
                raise ValueError(f"item {item.id!r} names unknown competency {item.competency!r}")
        return self

    @cached_property
    def likert_items(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items if item.kind == "likert")

    @cached_property
    def free_text_items(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items if item.kind == "free_text")

    @cached_property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)


DEFAULT_INSTRUMENT = "rpg-feedback-v1"


def load_instrument(instrument_id: str = DEFAULT_INSTRUMENT) -> Instrument:
    """Read a packaged instrument definition by id."""
    source = resources.files("schemas") / "instruments" / f"{instrument_id}.toml"
    if not source.is_file():
        raise ConfigError(
            f"unknown instrument {instrument_id!r}: no schemas/instruments/{instrument_id}.toml"
        )
    try:
        return Instrument.model_validate(tomllib.loads(source.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ConfigError(f"instrument {instrument_id!r} is not valid: {exc}") from None

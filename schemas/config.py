"""The one config model, read from `reflect-eval.toml` at the entry point and passed down frozen."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.instrument import DEFAULT_INSTRUMENT, load_instrument
from transforms.errors import ConfigError
from transforms.privacy.policy import DEFAULT_POLICY, PRESETS, Policy, lowerings, resolve

DEFAULT_MIN_CELL = 3
"""As the GMC National Training Survey and the SDC Handbook: nothing describing fewer than 3."""

REGION_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"

Source = Literal[
    "template", "ms-forms", "google-forms", "surveymonkey", "qualtrics", "redcap", "auto"
]
TRAINING_DAY_PATTERN = r"^(filename|completed|column:.+)$"
DEFAULT_MAX_FILE_MB = 25.0


class Paths(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drop: Path = Path("drop")
    warehouse: Path = Path("warehouse")


_OVERRIDES = ("min_cell", "protection", "protect_zeros", "rounding")


class Privacy(BaseModel):
    """A named policy (`transforms/privacy/policy.py`) and explicit overrides on top of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: Literal["gmc-sdc", "opensafely", "acro"] = DEFAULT_POLICY
    min_cell: int = Field(default=DEFAULT_MIN_CELL, ge=1)
    protection: int = Field(default=DEFAULT_MIN_CELL - 1, ge=0)
    protect_zeros: bool = False
    rounding: int = Field(default=1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _preset_fills_what_is_not_given(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = data.get("policy", DEFAULT_POLICY)
        if name not in PRESETS:
            return data  # the Literal reports it
        overrides = {k: data.get(k) for k in _OVERRIDES}
        try:
            rules = resolve(name, **{k: v for k, v in overrides.items() if v is not None})
        except (TypeError, ValueError):
            return data
        return {**data, **{k: getattr(rules, k) for k in overrides if k not in data}}

    @property
    def rules(self) -> Policy:
        return Policy(
            self.policy, self.min_cell, self.protection, self.protect_zeros, self.rounding
        )

    @property
    def lowered(self) -> bool:
        """True when the config protects less than the default; every run says so in its log."""
        return bool(lowerings(self.rules))


class Region(BaseModel):
    """A region, the survey tool it exports from, and how its export maps onto the instrument."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    source: Source = "template"
    """The tool whose export the region drops; "auto" detects it from the header shape."""
    training_day: str = Field(default="column:training_day", pattern=TRAINING_DAY_PATTERN)
    """"filename" (name starts YYYY-MM-DD), "column:<header>", or "completed" (completion date)."""
    items: dict[str, str] = Field(default_factory=dict)
    """Instrument item id -> the export's column header; an item not listed is its own header."""
    codes: dict[str, str] = Field(default_factory=dict)
    """The export's answer codes -> scale labels, when the tool's codes are not 1-5 in order."""
    max_file_mb: float = Field(default=DEFAULT_MAX_FILE_MB, gt=0)
    """Files bigger than this are refused unread."""

    def column_of(self, item: str) -> str:
        """The header of an item's column in this region's export."""
        return self.items.get(item, item)

    @property
    def training_day_column(self) -> str | None:
        kind, _, header = self.training_day.partition(":")
        return header if kind == "column" else None


class Schedule(BaseModel):
    """When `serve` runs the flow: on each training day at `run_at`, local time in `time_zone`
    (daylight saving is the time zone's business, never arithmetic), and every day at
    `daily_sweep` for files that arrive late (`daily_sweep = false` turns the sweep off)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    training_days: list[dt.date] = Field(default_factory=list)
    run_at: dt.time = dt.time(19, 0)
    time_zone: str = "Europe/London"
    daily_sweep: dt.time | Literal[False] = dt.time(7, 0)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r} (an IANA name, e.g. Europe/London)"
            ) from None
        return name


class Retention(BaseModel):
    """How long raw exports (which hold names and emails) are kept once filed. Nothing is
    deleted unless `reflect-eval purge` is run; without `raw_days` it refuses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    raw_days: int | None = Field(default=None, ge=1)


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument: str = DEFAULT_INSTRUMENT
    paths: Paths = Paths()
    privacy: Privacy = Privacy()
    retention: Retention = Retention()
    schedule: Schedule = Schedule()
    regions: dict[str, Region] = Field(min_length=1)

    @field_validator("regions")
    @classmethod
    def _region_ids_are_folder_names(cls, regions: dict[str, Region]) -> dict[str, Region]:
        bad = [rid for rid in regions if not re.fullmatch(REGION_ID_PATTERN, rid)]
        if bad:
            raise ValueError(
                f"region ids {bad} must be lowercase letters, digits and hyphens "
                "(each is the name of the region's drop folder)"
            )
        return regions

    @property
    def drop_dir(self) -> Path:
        return self.paths.drop

    @property
    def restricted_path(self) -> Path:
        return self.paths.warehouse / "restricted.duckdb"

    @property
    def published_path(self) -> Path:
        return self.paths.warehouse / "published.duckdb"


def _anchor(paths: Paths, base: Path) -> Paths:
    return Paths(
        drop=(base / paths.drop).resolve(),
        warehouse=(base / paths.warehouse).resolve(),
    )


def load_config(path: Path | str) -> Config:
    """Read and check a config file; relative paths are taken from the file's own folder."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"config file {str(path)!r}: {problems}") from None
    _check_regions_against_instrument(config, path)
    return config.model_copy(update={"paths": _anchor(config.paths, path.parent.resolve())})


def _check_regions_against_instrument(config: Config, path: Path) -> None:
    """Item mappings name real items; code overrides name real labels."""
    instrument = load_instrument(config.instrument)
    labels = {label.lower() for label in instrument.scale.labels}
    problems = []
    for rid, region in config.regions.items():
        unknown = sorted(set(region.items) - set(instrument.item_ids))
        if unknown:
            problems.append(
                f"regions.{rid}.items: {unknown} are not items of {instrument.id} "
                f"({', '.join(instrument.item_ids)})"
            )
        bad = sorted(code for code, label in region.codes.items() if label.lower() not in labels)
        if bad:
            problems.append(
                f"regions.{rid}.codes: codes {bad} map to labels not on the scale "
                f"({', '.join(instrument.scale.labels)})"
            )
    if problems:
        raise ConfigError(f"config file {str(path)!r}: {'; '.join(problems)}")

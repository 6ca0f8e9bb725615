"""What `reflect-eval check` and `reflect-eval template` do, without an orchestrator: check one
export exactly as a run would (nothing written), and write a region's blank template."""

from __future__ import annotations

import secrets
from pathlib import Path

from schemas.config import Config, load_config
from schemas.instrument import load_instrument
from transforms.drop import DroppedFile, printable, rejection_report
from transforms.errors import ConfigError, ReflectEvalError
from transforms.ingest import prepare_safely
from transforms.validate import TRAINING_DAY


class OutputExistsError(ReflectEvalError):
    """The file to write is there already; it is never overwritten."""

    exit_code = 1


def _region(config: Config, region: str) -> None:
    if region not in config.regions:
        configured = ", ".join(sorted(config.regions))
        raise ConfigError(f"region {region!r} is not configured (configured: {configured})")


def check_file(path: Path, region: str, config_path: Path) -> tuple[str, bool]:
    """The report the drop folder would get, and whether the file would be ingested."""
    config = load_config(config_path)
    _region(config, region)
    if not path.is_file() and not path.is_symlink():
        raise ConfigError(f"{path} is not a file")
    instrument = load_instrument(config.instrument)
    # A throwaway key: checking must not create the warehouse's key or anything else.
    prepared = prepare_safely(
        DroppedFile(region, path), config, instrument, secret=secrets.token_bytes(32)
    )
    if prepared.problems:
        name = config.regions[region].name
        return rejection_report(prepared.dropped, list(prepared.problems), name), False
    data = prepared.data
    assert data is not None
    lines = [
        f"{printable(path.name)} would be ingested for {region} ({config.regions[region].name}).",
        f"Read as:   {prepared.source}",
        f"Responses: {data.n_responses}",
        f"Left out:  {prepared.n_left_out} (no answer, or partial/preview in the tool)",
    ]
    if prepared.n_repeated:
        lines.append(f"Repeated:  {prepared.n_repeated} (the same response id twice in the file)")
    if data.dropped_columns:
        lines.append(f"Not kept:  {', '.join(map(printable, data.dropped_columns))}")
    if data.n_words_held_back:
        lines.append(
            f"Held back: {data.n_words_held_back} free-text words that are not ordinary words "
            "(names, misspellings, places)"
        )
    lines.append("Responses already ingested from an earlier export are skipped when it is run.")
    return "\n".join(lines) + "\n", True


def write_template(region: str, config_path: Path, out: Path | None) -> tuple[Path, str | None]:
    """Write the header row of the region's template (UTF-8 with a BOM, so Excel opens it)."""
    config = load_config(config_path)
    _region(config, region)
    settings = config.regions[region]
    instrument = load_instrument(config.instrument)
    day = settings.training_day_column or TRAINING_DAY
    header = [day, *(settings.column_of(item) for item in instrument.item_ids)]
    target = out or Path(f"{region}-{instrument.id}-template.csv")
    if target.exists():
        raise OutputExistsError(f"{target} exists already; give another --out")
    cells = [
        '"' + h.replace('"', '""') + '"' if any(c in h for c in ',;"\n') else h for h in header
    ]
    target.write_text("\ufeff" + ",".join(cells) + "\r\n", encoding="utf-8")
    note = None
    if settings.source not in ("template", "auto"):
        note = (
            f"region {region} is set up for {settings.source} exports; a filled template is read "
            "only when its source is template or auto"
        )
    elif settings.training_day != f"column:{day}":
        note = f"region {region} takes its training day from the {settings.training_day}"
    return target, note

"""Prefect's own logging configuration for reflect-eval's runs, less the temporary server's
reports of work cut short when it is stopped. Prefect stops the server it starts for a run as
the run exits; under load its background services (the task-run recorder, the database pool)
are often mid-query then, and each logs the cancellation at ERROR with a traceback. The run's
own work is done and stored by then; an operator reading a traceback would think it failed.
Every other record is shown as Prefect shows it."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from pathlib import Path

import yaml

FILTER = "reflect_eval_server_shutdown"
SETTINGS_FILE = "reflect-eval-logging.yml"
SERVER_LOGGERS = ("prefect.server", "sqlalchemy.pool")


class ServerShutdown(logging.Filter):
    """Drops a record of the temporary server (Prefect's server code or its database pool)
    whose exception is a cancellation: at exit uvicorn cancels the server's background work,
    and nothing else in a run cancels it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is None or not isinstance(record.exc_info[1], asyncio.CancelledError):
            return True
        return not record.name.startswith(SERVER_LOGGERS)


def prefect_defaults() -> Path:
    """Prefect's logging.yml, found without importing Prefect (its settings are read then)."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("prefect is not installed")
    return Path(spec.origin).parent / "logging" / "logging.yml"


def write_logging_settings(home: Path) -> Path:
    """Prefect's installed logging.yml with the filter on every handler that writes to the
    terminal, written into Prefect's home; the server Prefect starts reads it too (it inherits
    PREFECT_LOGGING_SETTINGS_PATH)."""
    settings = yaml.safe_load(prefect_defaults().read_text(encoding="utf-8"))
    settings.setdefault("filters", {})[FILTER] = {"()": f"{__name__}.ServerShutdown"}
    for handler in settings.get("handlers", {}).values():
        if str(handler.get("stream", "")).startswith("ext://sys."):
            handler["filters"] = [*handler.get("filters", []), FILTER]
    home.mkdir(parents=True, exist_ok=True)
    path = home / SETTINGS_FILE
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path

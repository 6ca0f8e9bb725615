"""What an operator sees of Prefect's log: everything Prefect would show, except the temporary
server's tracebacks for work that its stop at the end of a run cut short (under load the
task-run recorder and the database pool each log one). Checked through Prefect's own logging
set-up in a fresh interpreter, as the server Prefect starts for a run configures itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flows.prefect_logging import write_logging_settings
from tests.e2e import command_env

PROBE = """
import asyncio, logging
from prefect.logging.configuration import setup_logging

setup_logging()

def report(name, error):
    try:
        raise error
    except BaseException:
        logging.getLogger(name).error("probe %s %s", name, type(error).__name__, exc_info=True)

report("sqlalchemy.pool.impl.AsyncAdaptedQueuePool", asyncio.CancelledError())
report("prefect.server.services.task_run_recorder", asyncio.CancelledError())
report("sqlalchemy.pool.impl.AsyncAdaptedQueuePool", OSError("disk full"))
report("prefect.server.services.task_run_recorder", RuntimeError("lost"))
report("reflect_eval.flow", asyncio.CancelledError())
logging.getLogger("prefect.engine").warning("probe a warning of Prefect's")
"""
CUT_SHORT = (
    "probe sqlalchemy.pool.impl.AsyncAdaptedQueuePool CancelledError",
    "probe prefect.server.services.task_run_recorder CancelledError",
)
SHOWN = (
    "probe sqlalchemy.pool.impl.AsyncAdaptedQueuePool OSError",
    "probe prefect.server.services.task_run_recorder RuntimeError",
    "probe reflect_eval.flow CancelledError",
    "probe a warning of Prefect's",
)


def probe(home: Path, settings: Path | None) -> str:
    env = command_env(home)
    if settings is not None:
        env["PREFECT_LOGGING_SETTINGS_PATH"] = str(settings)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout + done.stderr


def test_prefects_own_logging_shows_the_servers_cut_short_work(tmp_path: Path):
    shown = probe(tmp_path / ".prefect", None)
    for line in (*CUT_SHORT, *SHOWN):
        assert line in shown


def test_the_servers_cut_short_work_is_not_shown_and_all_else_is(tmp_path: Path):
    settings = write_logging_settings(tmp_path / ".prefect")
    shown = probe(tmp_path / ".prefect", settings)
    for line in CUT_SHORT:
        assert line not in shown
    for line in SHOWN:
        assert line in shown
    assert shown.count("Traceback") == 3, "the errors still shown keep their tracebacks"

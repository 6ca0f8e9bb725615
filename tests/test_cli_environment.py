"""Where `reflect-eval run` keeps Prefect's state when the operator says nothing: beside the
config, in `.prefect/`, in local mode; an operator's own settings always win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.cli import prefect_environment
from flows.prefect_logging import SETTINGS_FILE

SET_BY_A_RUN = (
    "PREFECT_HOME",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    "PREFECT_LOGGING_LEVEL",
    "PREFECT_LOGGING_SETTINGS_PATH",
)


@pytest.fixture
def no_prefect_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No PREFECT_ setting, and whatever the test sets is gone after it."""
    for name in {*SET_BY_A_RUN, *(n for n in os.environ if n.startswith("PREFECT_"))}:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_prefect_home_defaults_to_the_config_folder(
    tmp_path: Path, no_prefect_settings: pytest.MonkeyPatch
):
    prefect_environment(tmp_path, verbose=False)
    assert os.environ["PREFECT_HOME"] == str(tmp_path / ".prefect")
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "WARNING"
    assert "PREFECT_API_URL" not in os.environ, "local mode: a temporary server of its own"


def test_prefects_logging_is_its_own_less_the_servers_noise_at_exit(
    tmp_path: Path, no_prefect_settings: pytest.MonkeyPatch
):
    prefect_environment(tmp_path, verbose=False)
    settings = Path(os.environ["PREFECT_LOGGING_SETTINGS_PATH"])
    assert settings == tmp_path / ".prefect" / SETTINGS_FILE
    assert settings.is_file(), "the server Prefect starts reads it too"


def test_an_operators_own_prefect_settings_win(
    tmp_path: Path, no_prefect_settings: pytest.MonkeyPatch
):
    no_prefect_settings.setenv("PREFECT_HOME", str(tmp_path / "srv"))
    no_prefect_settings.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")
    no_prefect_settings.setenv("PREFECT_LOGGING_SETTINGS_PATH", "/srv/prefect/logging.yml")
    prefect_environment(tmp_path, verbose=True)
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "srv")
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "DEBUG"
    assert os.environ["PREFECT_LOGGING_SETTINGS_PATH"] == "/srv/prefect/logging.yml"
    assert not (tmp_path / "srv").exists(), "an operator's Prefect home is left as it was"

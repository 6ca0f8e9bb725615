"""Where `reflect-eval run` keeps Prefect's state when the operator says nothing: beside the
config, in `.prefect/`, in local mode; an operator's own settings always win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.cli import prefect_environment


def test_prefect_home_defaults_to_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for name in list(os.environ):
        if name.startswith("PREFECT_"):
            monkeypatch.delenv(name)
    prefect_environment(tmp_path, verbose=False)
    assert os.environ["PREFECT_HOME"] == str(tmp_path / ".prefect")
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "WARNING"
    assert "PREFECT_API_URL" not in os.environ, "local mode: a temporary server of its own"


def test_an_operators_own_prefect_settings_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PREFECT_HOME", "/srv/prefect")
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")
    prefect_environment(tmp_path, verbose=True)
    assert os.environ["PREFECT_HOME"] == "/srv/prefect"
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "DEBUG"

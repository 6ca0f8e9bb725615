"""One hierarchy for errors a person can act on: an exit code per kind, never a traceback."""

from __future__ import annotations


class ReflectEvalError(Exception):
    """An error whose message is for the person running reflect-eval, not a bug."""

    exit_code = 1


class ConfigError(ReflectEvalError):
    """The config file or the instrument definition cannot be used as written."""

    exit_code = 2


class WarehouseBusyError(ReflectEvalError):
    """Another process holds the warehouse: runs must not overlap."""

    exit_code = 3


class PublishError(ReflectEvalError):
    """The release could not be published; the previous published file is left in place."""

    exit_code = 4

"""Responses repeated in a later cumulative export are recognised by the tool's response id,
kept only as a keyed hash (HMAC-SHA256). The key is made on first use and lives beside the
restricted warehouse, readable by its owner only; it never enters a published file."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

from transforms.errors import ConfigError

SECRET_FILE = "response-keys.secret"
SECRET_BYTES = 32


def secret_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / SECRET_FILE


def load_or_create_secret(path: Path) -> bytes:
    """The key, created atomically (mode 0600) if it does not exist yet, so parallel preparers
    and later runs all use the same one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(SECRET_BYTES))
        try:
            os.link(temporary, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"the response key {path} cannot be read: {exc.strerror}") from None
    if len(secret) != SECRET_BYTES:
        raise ConfigError(
            f"{path} is not a reflect-eval response key ({SECRET_BYTES} bytes); restore it from "
            "the warehouse's backup (a new key would not recognise responses already ingested)"
        )
    return secret


def keyed_hashes(ids: pl.Series, secret: bytes) -> pl.Series:
    """HMAC-SHA256 of each id (null stays null). One hash per response, computed over the id
    column only: polars has no keyed hash, and a non-keyed one could be reversed by guessing."""
    hashes = [
        None if v is None else hmac.new(secret, v.encode("utf-8"), hashlib.sha256).hexdigest()
        for v in ids.to_list()
    ]
    return pl.Series(ids.name, hashes, dtype=pl.Utf8)

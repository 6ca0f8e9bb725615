"""Free text reduced to plain words: no emails, URLs, numbers (phone, GMC, NHS) or personal names.

Raw free text is never stored. Names are recognised from faker's name lists for the locales a UK
workforce draws on; a word that is also a name (Hope, Joy) is lost, by design."""

from __future__ import annotations

import importlib
from functools import lru_cache

import polars as pl

NAME_LOCALES = (
    "en", "en_GB", "en_IE", "en_IN", "en_KE", "en_NG", "en_NZ", "en_PK", "en_US", "ga_IE",
    "fr_FR", "de_DE", "es_ES", "it_IT", "pl_PL", "pt_PT", "nl_NL", "ro_RO", "el_GR", "tr_TR",
)  # fmt: skip
NAME_ATTRIBUTES = (
    "first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
    "last_names", "last_names_male", "last_names_female",
)  # fmt: skip

EMAIL = r"\S+@\S+"
URL = r"(?:https?://|www\.)\S+"
NHS_NUMBER = r"(^|\D)\d{3}[ -]?\d{3}[ -]?\d{4}(\D|$)"
"""10 digits, as printed (3-3-4, spaced, hyphenated) or run together."""
GMC_NUMBER = r"(^|\D)\d{7}(\D|$)"
PHONE = r"(^|[^\d+(])\+?\(?\d[\d ().-]{6,}\d()"
"""Any run of 8+ digits and separators: +44 7700 900123, 07700 900123, (020) 7946 0018."""
IDENTIFIERS = (EMAIL, URL, NHS_NUMBER, GMC_NUMBER, PHONE)
"""Removed explicitly before words are taken, so no rule below depends on digits being lost
by accident: each is tested on its own."""
WORD = r"\p{L}+(?:['-]\p{L}+)*"
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "this",
        "to",
        "too",
        "very",
        "was",
        "we",
        "were",
        "with",
        "dr",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "prof",
        "sir",
    ]
)


@lru_cache(maxsize=1)
def personal_names() -> frozenset[str]:
    """Lower-case given names and surnames (and their hyphen parts) from faker's locales."""
    names: set[str] = set()
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in NAME_ATTRIBUTES:
            for name in getattr(provider, attribute, ()) or ():
                lowered = str(name).lower()
                names.add(lowered)
                names.update(part for part in lowered.replace("'", " ").replace("-", " ").split())
    return frozenset(names)


def redact_identifiers(text: pl.Expr) -> pl.Expr:
    """Blank out emails, URLs, NHS, phone and GMC numbers."""
    for pattern in (EMAIL, URL):
        text = text.str.replace_all(pattern, " ")
    for pattern in (NHS_NUMBER, GMC_NUMBER, PHONE):  # keep the characters either side
        text = text.str.replace_all(pattern, "${1} ${2}")
    return text


def words(frame: pl.DataFrame, text: str, keep: list[str]) -> pl.DataFrame:
    """One row per word kept from the `text` column, with the `keep` columns beside it."""
    cleaned = redact_identifiers(
        pl.col(text).str.to_lowercase().str.replace_all("\u2019", "'", literal=True)
    ).str.extract_all(WORD)
    found = (
        frame.lazy()
        .select(*keep, cleaned.alias("word"))
        .explode("word")
        .filter(pl.col("word").is_not_null() & (pl.col("word").str.len_chars() > 1))
        .with_row_index("_word")
    )
    part_is_name = (
        found.select("_word", pl.col("word").str.split("-").alias("part"))
        .explode("part")
        .filter(pl.col("part").is_in(_names_frame().get_column("name").implode()))
        .select("_word")
        .unique()
    )
    return (
        found.join(part_is_name, on="_word", how="anti")
        .filter(~pl.col("word").is_in(pl.Series(sorted(STOPWORDS)).implode()))
        .drop("_word")
        .collect()
    )


@lru_cache(maxsize=1)
def _names_frame() -> pl.DataFrame:
    return pl.DataFrame({"name": sorted(personal_names())})

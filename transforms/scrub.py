"""Free text reduced to plain words: no emails, URLs, numbers (phone, GMC, NHS) and no word
outside the vocabulary (`transforms.vocabulary`: ordinary English words that are no one's
name), so a name nobody listed is still dropped. Raw free text is never stored."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.vocabulary import normalise, vocabulary_series

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
WORD = r"[\p{L}\p{M}]+(?:'[\p{L}\p{M}]+)*"
"""Letters with their marks (so no letter is split from its accent), apostrophes inside; a
hyphen separates words ("self-awareness" is two)."""
TEXT = "__text"
"""The free text being taken apart, beside the columns kept with its words."""
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


def redact_identifiers(text: pl.Expr) -> pl.Expr:
    """Blank out emails, URLs, NHS, phone and GMC numbers."""
    for pattern in (EMAIL, URL):
        text = text.str.replace_all(pattern, " ")
    for pattern in (NHS_NUMBER, GMC_NUMBER, PHONE):  # keep the characters either side
        text = text.str.replace_all(pattern, "${1} ${2}")
    return text


@dataclass(frozen=True)
class Scrubbed:
    words: pl.DataFrame
    """One row per word kept, with the `keep` columns beside it."""
    held_back: pl.DataFrame
    """One row per word written that is not in the vocabulary (names among them): the `keep`
    columns only, never the word."""

    @property
    def n_held_back(self) -> int:
        return self.held_back.height


def words(frame: pl.DataFrame, text: str, keep: list[str]) -> Scrubbed:
    """The vocabulary words of the `text` column, in normalised form; stopwords dropped. Each
    distinct text is taken apart once, however many respondents wrote it."""
    distinct = frame.get_column(text).cast(pl.Utf8).unique().drop_nulls()
    cleaned = redact_identifiers(
        pl.col(TEXT).str.normalize("NFKC").str.replace_all("\u2019", "'", literal=True)
    ).str.extract_all(WORD)
    tokens_of = pl.DataFrame({TEXT: distinct}).with_columns(cleaned.alias("token"))
    found = (
        frame.lazy()
        .select(*keep, pl.col(text).cast(pl.Utf8).alias(TEXT))
        .join(tokens_of.lazy(), on=TEXT, how="inner", maintain_order="left")
        .explode("token")
        .drop_nulls("token")
        .select(*keep, "token")
        .collect()
    )
    tokens = found.get_column("token").unique()
    forms = pl.DataFrame(
        {"token": tokens, "word": [normalise(token) for token in tokens]},
        schema={"token": pl.Utf8, "word": pl.Utf8},
    ).with_columns(
        kept=pl.col("word").is_in(vocabulary_series().implode()),
        stopword=pl.col("word").is_in(pl.Series(sorted(STOPWORDS)).implode()),
    )
    judged = found.join(forms, on="token", how="left")
    return Scrubbed(
        words=judged.filter(pl.col("kept") & ~pl.col("stopword")).select(*keep, "word"),
        held_back=judged.filter(~pl.col("kept") & ~pl.col("stopword")).select(*keep),
    )

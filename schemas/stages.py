"""The pandera model of each stage after reading: what de-identified and published frames hold.

The read stage depends on the instrument and is built from it (`transforms.validate`)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

BOUND_COLUMNS = ("n_positive_min", "n_positive_max", "n_respondents_min", "n_respondents_max")
"""Beside each withheld outcome count, the interval any reader can already derive."""


class Answers(pa.DataFrameModel):
    """De-identified Likert answers, one row per respondent per answered item. No identifiers:
    `response_no` only orders respondents within one submission."""

    response_no: pl.Int32 = pa.Field(ge=1, description="Respondent's position within its file")
    training_day: pl.Date = pa.Field(description="Training day the group met (no time of day)")
    item: pl.Utf8 = pa.Field(description="Instrument item id")
    answer: pl.Int8 = pa.Field(ge=1, le=5, description="Code on the 5-point scale")

    class Config:
        strict = True


class Words(pa.DataFrameModel):
    """Words kept from free text after scrubbing: never the raw text."""

    response_no: pl.Int32 = pa.Field(ge=1)
    training_day: pl.Date
    item: pl.Utf8
    word: pl.Utf8 = pa.Field(str_matches=r"^\S+$", description="One lower-case word, not a name")

    class Config:
        strict = True

    @pa.check("word")
    def in_the_vocabulary(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """The last guard: nothing outside the vocabulary reaches the warehouse."""
        from transforms.vocabulary import vocabulary_series

        return data.lazyframe.select(pl.col(data.key).is_in(vocabulary_series().implode()))

    @classmethod
    def empty_schema(cls) -> dict[str, pl.DataType]:
        return {
            "response_no": pl.Int32(),
            "training_day": pl.Date(),
            "item": pl.Utf8(),
            "word": pl.Utf8(),
        }


class _Outcome(pa.DataFrameModel):
    item: pl.Utf8
    n_respondents: pl.Int64 = pa.Field(nullable=True, ge=0, description="Answered the item")
    n_positive: pl.Int64 = pa.Field(nullable=True, ge=0, description="Agree or strongly agree")
    pct_positive: pl.Float64 = pa.Field(nullable=True, ge=0, le=100, description="Unrounded")
    suppressed: pl.Boolean = pa.Field(description="Counts withheld to protect small groups")
    n_positive_min: pl.Int64 = pa.Field(
        nullable=True, ge=0, description="Withheld n_positive: least any reader can derive"
    )
    n_positive_max: pl.Int64 = pa.Field(
        nullable=True,
        ge=0,
        description="Withheld n_positive: most any reader can derive (NULL: open)",
    )
    n_respondents_min: pl.Int64 = pa.Field(
        nullable=True, ge=0, description="Withheld n_respondents: least any reader can derive"
    )
    n_respondents_max: pl.Int64 = pa.Field(
        nullable=True,
        ge=0,
        description="Withheld n_respondents: most any reader can derive (NULL: open)",
    )
    ci_low: pl.Float64 = pa.Field(
        nullable=True, ge=0, le=100, description="Wilson 95% interval of pct_positive, low end"
    )
    ci_high: pl.Float64 = pa.Field(
        nullable=True, ge=0, le=100, description="Wilson 95% interval of pct_positive, high end"
    )

    class Config:
        strict = True

    @pa.dataframe_check
    def intervals_only_beside_shown_rates(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """An interval beside a withheld rate would be worked out from the hidden count."""
        return data.lazyframe.select(
            pl.col("pct_positive").is_not_null()
            | pl.all_horizontal(pl.col("ci_low", "ci_high").is_null())
        )

    @pa.dataframe_check
    def suppressed_rows_hide_their_counts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        hidden = pl.col("n_positive").is_null() & pl.col("pct_positive").is_null()
        return data.lazyframe.select(~pl.col("suppressed") | hidden)

    @pa.dataframe_check
    def published_rows_show_their_counts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        shown = pl.all_horizontal(
            pl.col("n_respondents", "n_positive", "pct_positive").is_not_null()
        )
        return data.lazyframe.select(pl.col("suppressed") | shown)

    @pa.dataframe_check
    def shown_rows_carry_no_bounds(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A bound beside a shown figure would be meaningless, or a sign the two got mixed up."""
        unbounded = pl.all_horizontal(pl.col(*BOUND_COLUMNS).is_null())
        return data.lazyframe.select(pl.col("suppressed") | unbounded)

    @pa.dataframe_check
    def a_withheld_positive_count_has_its_lower_bound(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every reader can derive at least 0, so a missing lower bound means a lost one."""
        return data.lazyframe.select(
            pl.col("n_positive").is_not_null() | pl.col("n_positive_min").is_not_null()
        )

    @pa.dataframe_check
    def bounds_are_ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """min <= max wherever both are given (a NULL max is open above)."""
        ordered = [
            pl.col(f"{count}_max").is_null() | (pl.col(f"{count}_min") <= pl.col(f"{count}_max"))
            for count in ("n_positive", "n_respondents")
        ]
        return data.lazyframe.select(pl.all_horizontal(*ordered).fill_null(True))

    @pa.dataframe_check
    def respondent_bounds_only_where_n_is_withheld(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A shown n needs no interval; bounds beside it would contradict it."""
        unbounded = pl.col("n_respondents_min", "n_respondents_max").is_null()
        return data.lazyframe.select(
            pl.col("n_respondents").is_null() | pl.all_horizontal(unbounded)
        )


class OutcomesByRegion(_Outcome):
    """Published: per region and item, how many answered and how many were positive."""

    region: pl.Utf8 = pa.Field(description="Region id (its drop folder's name)")


class OutcomesNational(_Outcome):
    """Published: per item, all regions together."""


class OutcomesByTrainingDay(_Outcome):
    """Published: per region, training day and item."""

    region: pl.Utf8 = pa.Field(description="Region id (its drop folder's name)")
    training_day: pl.Date = pa.Field(description="The day the group met (no time of day)")


class OutcomesNationalByTrainingDay(_Outcome):
    """Published: per training-day date and item, every region that met that day together."""

    training_day: pl.Date = pa.Field(description="The day the groups met (no time of day)")


class ThemeWords(pa.DataFrameModel):
    """Published: free-text words used by at least min_cell distinct respondents."""

    word: pl.Utf8 = pa.Field(str_matches=r"^\S+$", description="One scrubbed, lower-case word")
    n_respondents: pl.Int64 = pa.Field(ge=1, description="Distinct respondents who used it")

    class Config:
        strict = True


class Participation(pa.DataFrameModel):
    """Published: respondents per region and training day (anyone who answered an item)."""

    region: pl.Utf8 = pa.Field(description="Region id (its drop folder's name)")
    training_day: pl.Date = pa.Field(description="The day the group met (no time of day)")
    n_respondents: pl.Int64 = pa.Field(nullable=True, ge=0, description="Took part")
    suppressed: pl.Boolean = pa.Field(description="Withheld to protect a small group")
    n_respondents_min: pl.Int64 = pa.Field(nullable=True, ge=0, description="Least derivable")
    n_respondents_max: pl.Int64 = pa.Field(nullable=True, ge=0, description="Most derivable")

    class Config:
        strict = True

    @pa.dataframe_check
    def withheld_rows_hide_their_count(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("suppressed") == pl.col("n_respondents").is_null())


class RegionComparison(pa.DataFrameModel):
    """Published: each region against the rest of the country, from published figures only."""

    region: pl.Utf8
    item: pl.Utf8
    n_respondents: pl.Int64 = pa.Field(nullable=True, ge=0)
    n_positive: pl.Int64 = pa.Field(nullable=True, ge=0)
    pct_positive: pl.Float64 = pa.Field(nullable=True, ge=0, le=100)
    rest_n_respondents: pl.Int64 = pa.Field(nullable=True, ge=1)
    rest_n_positive: pl.Int64 = pa.Field(nullable=True, ge=0)
    rest_pct_positive: pl.Float64 = pa.Field(nullable=True, ge=0, le=100)
    difference: pl.Float64 = pa.Field(nullable=True, ge=-100, le=100)
    difference_ci_low: pl.Float64 = pa.Field(nullable=True, ge=-100, le=100)
    difference_ci_high: pl.Float64 = pa.Field(nullable=True, ge=-100, le=100)
    national_pct_positive: pl.Float64 = pa.Field(nullable=True, ge=0, le=100)
    funnel_95_low: pl.Float64 = pa.Field(nullable=True, ge=0, le=100)
    funnel_95_high: pl.Float64 = pa.Field(nullable=True, ge=0, le=100)
    funnel_998_low: pl.Float64 = pa.Field(nullable=True, ge=0, le=100)
    funnel_998_high: pl.Float64 = pa.Field(nullable=True, ge=0, le=100)
    funnel_95: pl.Utf8 = pa.Field(nullable=True, isin=["below", "within", "above"])
    funnel_998: pl.Utf8 = pa.Field(nullable=True, isin=["below", "within", "above"])
    withheld: pl.Boolean

    class Config:
        strict = True

    @pa.dataframe_check
    def withheld_rows_show_nothing(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~pl.col("withheld")
            | pl.all_horizontal(pl.col("n_positive", "pct_positive", "difference").is_null())
        )


class ThemeWordsByRegion(pa.DataFrameModel):
    """Published: per region, words used by at least min_cell distinct respondents there."""

    region: pl.Utf8 = pa.Field(description="Region id (its drop folder's name)")
    word: pl.Utf8 = pa.Field(str_matches=r"^\S+$", description="One vocabulary word")
    n_respondents: pl.Int64 = pa.Field(ge=1, description="Distinct respondents who used it")

    class Config:
        strict = True


class ThemeWordsHeldBack(pa.DataFrameModel):
    """Published: how many distinct words were held back (a count of words, never the words)."""

    region: pl.Utf8 = pa.Field(nullable=True, description="NULL: all regions")
    n_words_held_back: pl.Int64 = pa.Field(ge=0)

    class Config:
        strict = True

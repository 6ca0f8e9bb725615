"""The analysts' tables and report, as specifications: every published figure documented in the
file itself, intervals and comparisons worked out from published figures only, new figures
(participation, theme words by region) protected, and a report that opens with no network,
renders in a real browser and leaks nothing."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from PIL import Image

from fixtures.regional_drop import PlantedDrop, write_drop
from schemas.config import load_config
from schemas.instrument import load_instrument
from tests.e2e import COMMAND, leaks, query, report_headline
from transforms.participation import capped_too_far
from transforms.privacy import resolve
from transforms.privacy.engine import AUDIT_SCHEMA
from transforms.report.charts import REGION_COLOUR
from transforms.report.files import report_paths
from transforms.statistics import Z95, Z998, funnel_position, newcombe_difference, wilson_interval
from transforms.themes import covered

OUTCOME_TABLES = (
    "outcomes_by_region",
    "outcomes_national",
    "outcomes_by_training_day",
    "outcomes_national_by_training_day",
)


@dataclass(frozen=True)
class Published:
    drop: PlantedDrop
    path: Path
    restricted: Path
    min_cell: int

    def table(self, name: str) -> pl.DataFrame:
        return query(self.path, f"select * from {name}")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """Six regions, four training days, published once through the flow's own functions."""
    from flows.ingest import record_and_publish
    from transforms.drop import find_new_files
    from transforms.ingest import prepare_safely

    root = tmp_path_factory.mktemp("report")
    drop = write_drop(root, n_regions=6, n_training_days=4, min_group=1)
    config = load_config(drop.config_path)
    files, _ = find_new_files(config.drop_dir)
    instrument = load_instrument(config.instrument)
    _, release = record_and_publish.fn(
        [prepare_safely(f, config, instrument) for f in files], config
    )
    assert getattr(release, "report_problem", "missing") is None
    return Published(drop, config.published_path, config.restricted_path, 3)


def test_every_table_view_and_column_is_described_in_the_file(published: Published):
    undescribed = query(
        published.path,
        "select table_name as name from duckdb_tables() where comment is null "
        "union all select view_name from duckdb_views() where not internal and comment is null "
        "union all select table_name || '.' || column_name from duckdb_columns() "
        "where not internal and (comment is null or comment = '')",
    )
    assert undescribed.is_empty(), undescribed["name"].to_list()
    views = query(published.path, "select view_name from duckdb_views() where not internal")
    assert set(views["view_name"]) == {"competency_summary", "latest_release", "region_item_matrix"}


@pytest.mark.parametrize("table", OUTCOME_TABLES)
def test_intervals_are_wilson_from_the_published_counts_and_absent_where_withheld(
    published: Published, table: str
):
    rows = published.table(table).to_dicts()
    assert rows
    for row in rows:
        if row["n_positive"] is None:
            assert row["ci_low"] is None and row["ci_high"] is None
            continue
        low, high = wilson_interval(row["n_positive"], row["n_respondents"])
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((100 * low, 100 * high))
        assert row["ci_low"] <= row["pct_positive"] <= row["ci_high"]


def test_region_comparison_is_worked_out_from_published_figures_only(published: Published):
    by_region = {
        (r["region"], r["item"]): r for r in published.table("outcomes_by_region").to_dicts()
    }
    national = {r["item"]: r for r in published.table("outcomes_national").to_dicts()}
    comparison = published.table("region_comparison").to_dicts()
    assert len(comparison) == len(by_region)
    compared = 0
    for row in comparison:
        region, whole = by_region[(row["region"], row["item"])], national[row["item"]]
        withheld = region["n_positive"] is None or whole["n_positive"] is None
        assert row["withheld"] is withheld
        if withheld:
            assert row["n_positive"] is None and row["difference"] is None
            assert row["funnel_95"] is None
            continue
        compared += 1
        k, n = region["n_positive"], region["n_respondents"]
        rest_k, rest_n = whole["n_positive"] - k, whole["n_respondents"] - n
        assert (row["rest_n_positive"], row["rest_n_respondents"]) == (rest_k, rest_n)
        difference, low, high = newcombe_difference(k, n, rest_k, rest_n)
        assert (row["difference"], row["difference_ci_low"], row["difference_ci_high"]) == (
            pytest.approx((100 * difference, 100 * low, 100 * high))
        )
        p0 = whole["n_positive"] / whole["n_respondents"]
        assert row["national_pct_positive"] == pytest.approx(100 * p0)
        assert row["funnel_95"] == funnel_position(k, n, p0, Z95)
        assert row["funnel_998"] == funnel_position(k, n, p0, Z998)
    assert compared >= 10, "the fixture compares enough regions to mean something"


def test_views_repeat_the_outcome_tables_and_make_no_new_figure(published: Published):
    summary = published.table("competency_summary")
    by_region = published.table("outcomes_by_region")
    national = published.table("outcomes_national")
    assert summary.height == by_region.height + national.height
    assert set(summary["competency"]) == {
        "5.1 Self Awareness",
        "5.3 The Doctor-Patient Relationship",
        "10.1 Learning and Self-Development",
    }
    shown = summary.join(by_region, on=["region", "item"], how="inner", suffix="_table")
    assert shown.height == by_region.height
    assert (shown["n_positive"].eq_missing(shown["n_positive_table"])).all()
    matrix = published.table("region_item_matrix")
    for row in by_region.iter_rows(named=True):
        cell = matrix.filter(pl.col("region") == row["region"])[row["item"]][0]
        assert cell == row["pct_positive"] or (cell is None and row["pct_positive"] is None)
    latest = published.table("latest_release").to_dicts()[0]
    assert latest["release_no"] == 1 and latest["n_regions"] == 6
    assert latest["n_training_days"] == 4
    figures = sum(published.table(t).height for t in OUTCOME_TABLES)
    withheld = sum(published.table(t)["suppressed"].sum() for t in OUTCOME_TABLES)
    assert (latest["n_figures"], latest["n_withheld"]) == (figures, withheld)


def test_participation_counts_anyone_who_answered_and_is_audited(published: Published):
    truth = query(
        published.restricted,
        "select region, training_day, count(distinct (submission_id, response_no)) as n "
        "from responses group by all",
    )
    table = published.table("participation").join(truth, on=["region", "training_day"])
    assert table.height == truth.height
    for row in table.iter_rows(named=True):
        if row["n"] < published.min_cell:
            assert row["suppressed"] and row["n_respondents"] is None
        if not row["suppressed"]:
            assert row["n_respondents"] == row["n"]
    assert 0 < table["suppressed"].sum() < table.height
    figures = query(
        published.restricted,
        "select count(*) as n from release_figures where table_name = 'participation'",
    )
    assert figures["n"][0] == table.height, "kept as history: later releases are audited on it"
    audited = query(
        published.restricted,
        "select distinct region, training_day from release_audit "
        "where item = '(anyone)' and table_name = 'participation' and required",
    )
    small = table.filter(pl.col("n") < published.min_cell).select("region", "training_day")
    assert small.height and small.sort(pl.all()).equals(audited.sort(pl.all()))


def _audit(**values: object) -> pl.DataFrame:
    record = dict.fromkeys(AUDIT_SCHEMA) | {"required": True, "window_first": 1} | values
    return pl.DataFrame([record], schema=AUDIT_SCHEMA)


def _participation(n_hi: int, release_no: int = 2) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region": ["wales"],
            "training_day": [dt.date(2026, 1, 7)],
            "release_no": [release_no],
            "n_hi": [n_hi],
        }
    )


@pytest.mark.parametrize(
    ("interval", "participants", "exposed"),
    [
        ((2, None), 3, True),  # n between 2 and 3: narrower than protection 2
        ((2, None), 4, False),  # 2..4: wide enough, reaches min_cell
        ((1, None), 3, False),  # 1..3: as wide as protection, and reaches min_cell
    ],
)
def test_a_participation_figure_may_not_cap_a_protected_count_too_far(
    interval: tuple[int, int | None], participants: int, exposed: bool
):
    audit = _audit(
        table_name="outcomes_by_training_day",
        item="peer_support",
        region="wales",
        training_day=dt.date(2026, 1, 7),
        measure="respondents",
        interval_lo=interval[0],
        interval_hi=interval[1],
        window_last=2,
        as_of_release=2,
    )
    found = capped_too_far(audit, _participation(participants), resolve(), release_no=2)
    assert bool(found) is exposed
    earlier = capped_too_far(audit, _participation(participants, 1), resolve(), release_no=2)
    assert not earlier, "a figure from before the cells arrived says nothing of them"


def test_theme_words_by_region_leave_no_small_remainder(published: Published):
    truth = query(
        published.restricted,
        "select region, word, count(distinct (submission_id, response_no)) as n "
        "from free_text_words group by all",
    )
    national = truth.group_by("word").agg(pl.col("n").sum())
    by_region = published.table("theme_words_by_region")
    assert by_region.height > 0 and (by_region["n_respondents"] >= published.min_cell).all()
    shown = by_region.group_by("word").agg(pl.col("n_respondents").sum().alias("shown"))
    for word, total, shown_sum in national.join(shown, on="word").iter_rows():
        remainder = total - shown_sum
        assert remainder == 0 or remainder >= published.min_cell, word
    held_back = {
        row["region"]: row["n_words_held_back"]
        for row in published.table("theme_words_held_back").iter_rows(named=True)
    }
    used = truth.group_by("region").agg(pl.len().alias("used"))
    for region, count in used.iter_rows():
        assert held_back[region] == count - by_region.filter(pl.col("region") == region).height
    assert held_back[None] == national.height - published.table("theme_words").height


@pytest.mark.parametrize(
    ("total", "regions", "kept"),
    [
        (10, {"kss": 8}, set()),  # 10 - 8 = 2 others: kss's figure would give them away
        (11, {"kss": 8}, {"kss"}),  # 3 others: as many as min_cell
        (16, {"kss": 8, "wales": 8}, {"kss", "wales"}),  # none left over
        (18, {"kss": 8, "wales": 8}, {"wales"}),  # 2 left over; without kss's 8, 10 unseen
        (19, {"kss": 9, "wales": 8}, {"kss"}),  # the smallest figure is the one held back
    ],
)
def test_a_regional_word_is_held_back_when_the_rest_would_be_a_small_group(
    total: int, regions: dict[str, int], kept: set[str]
):
    national = pl.DataFrame({"word": ["safe"], "n_respondents": [total]})
    candidates = pl.DataFrame(
        {
            "region": list(regions),
            "word": ["safe"] * len(regions),
            "n_respondents": list(regions.values()),
        }
    )
    assert set(covered(national, candidates, min_cell=3)["region"]) == kept


def test_the_report_is_one_self_contained_page(published: Published):
    html = report_paths(published.path).html.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r'\s(src|href)="(https?:)?//', html), "nothing is fetched"
    items = query(published.path, "select item from items").height
    assert html.count('<svg role="img"') == 2 * items, "a funnel plot and a trend per item"
    assert len(
        re.findall(r'<svg role="img"[^>]*><title>[^<]+</title><desc>[^<]+</desc>', html)
    ) == (2 * items)
    assert "Release 1" in html and "gmc-sdc: min_cell 3" in html
    assert "What was withheld and why" in html


def test_nothing_planted_reaches_the_report_or_the_workbook(published: Published):
    paths = report_paths(published.path)
    with zipfile.ZipFile(paths.workbook) as book:
        workbook_text = "\n".join(
            book.read(name).decode("utf-8", "replace") for name in book.namelist()
        )
    texts = {"html": paths.html.read_text(encoding="utf-8"), "xlsx": workbook_text}
    assert published.drop.canaries
    assert not leaks(published.drop.canaries, texts)


def test_the_workbook_follows_the_gss_layout_and_matches_the_page(published: Published):
    paths = report_paths(published.path)
    book = openpyxl.load_workbook(paths.workbook)
    assert book.sheetnames[:3] == ["Cover", "Contents", "Notes"]
    assert book.sheetnames[3:] == [f"Table_{i}" for i in range(1, 8)]
    for sheet in book.worksheets:
        assert not sheet.merged_cells.ranges, sheet.title
        assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"], sheet.title
    page = report_headline(paths.html)
    rows = list(book["Table_1"].iter_rows(values_only=True))
    header = next(
        i for i, row in enumerate(rows) if row[:3] == ("Region", "Item", "Percentage positive")
    )
    sheet = {
        ("all regions" if region == "All regions" else region, item): text
        for region, item, text in rows[header + 1 :]
    }
    assert sheet == page
    outcomes = list(book["Table_2"].iter_rows(values_only=True))
    withheld = published.table("outcomes_by_region").filter(pl.col("n_positive").is_null()).height
    assert sum(row.count("[c]") for row in outcomes) >= withheld > 0


def test_the_report_renders_in_a_real_browser(published: Published, tmp_path: Path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the browser test needs Debian's chromium (.ci/run installs it)"
    page = report_paths(published.path).html.as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *flags, "--window-size=1400,2600", f"--screenshot={shot}", page],
        capture_output=True,
        timeout=120,
        check=True,
    )
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    items = query(published.path, "select item from items").height
    assert dom.count("<svg") >= 2 * items and dom.count("<table") >= 2 * items + 2
    image = Image.open(shot).convert("RGB")
    assert image.size == (1400, 2600)
    target = tuple(int(REGION_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    colours = image.getcolors(maxcolors=1 << 20) or []
    drawn = sum(count for count, colour in colours if _near(colour, target))
    assert drawn > 200, "the charts' points and intervals were painted"
    blank = max(count for count, _ in colours) / (image.width * image.height)
    assert blank < 0.9, "the page is not blank"


def _near(colour: tuple[int, int, int], target: tuple[int, ...]) -> bool:
    return math.dist(colour, target) < 40


def test_the_report_is_made_again_from_the_published_file_alone(
    published: Published, tmp_path: Path
):
    copy = tmp_path / "elsewhere" / "published.duckdb"
    copy.parent.mkdir()
    shutil.copy(published.path, copy)
    done = subprocess.run(
        [COMMAND, "report", "--published", str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    again = report_paths(copy)
    assert f"report: {again.html}" in done.stdout
    original = report_paths(published.path)
    assert again.html.read_bytes() == original.html.read_bytes(), (
        "the same file gives the same page"
    )
    assert sorted(p.name for p in copy.parent.iterdir()) == [
        "published-report.html",
        "published-report.xlsx",
        "published.duckdb",
    ]


def test_a_missing_or_old_published_file_is_a_clear_error(tmp_path: Path):
    missing = subprocess.run(
        [COMMAND, "report", "--published", str(tmp_path / "none.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 4 and "no published file" in missing.stderr
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("create table outcomes_by_region as select 1 as x")
    con.close()
    stale = subprocess.run(
        [COMMAND, "report", "--published", str(old)], capture_output=True, text=True, timeout=60
    )
    assert stale.returncode == 4 and "published before the report existed" in stale.stderr
    assert "Traceback" not in missing.stderr + stale.stderr


def test_a_day_whose_participation_would_expose_a_count_is_withheld_or_the_release_refused():
    """Wales's group of 5 on 7 January: by the outcome tables alone, a protected count of that
    day is at least 4 with no upper end; showing participation 5 would pin it to 4-5, narrower
    than protection 2. That day's participation is withheld as cover; had an earlier release
    already shown it, the release is refused, saying which."""
    from transforms.participation import protect_participation
    from transforms.privacy import AuditFailure, ProtectedRelease

    day = dt.date(2026, 1, 7)
    cells = pl.DataFrame(
        {
            "item": ["(anyone)", "(anyone)"],
            "region": ["wales", "kss"],
            "training_day": [day, day],
            "arrival": [1, 1],
            "n_respondents": [5, 12],
            "n_positive": [0, 0],
        }
    )
    audit = _audit(
        table_name="outcomes_by_training_day",
        item="peer_support",
        region="wales",
        training_day=day,
        measure="respondents",
        interval_lo=4,
        interval_hi=None,
        window_last=1,
        as_of_release=1,
    )
    outcomes = ProtectedRelease({}, pl.DataFrame(), audit, 0, 0)
    policy = resolve()
    shown = protect_participation(
        cells, policy, release_no=1, history=None, previous_audit=None, outcomes=outcomes
    ).tables["participation"]
    rows = {row["region"]: row for row in shown.iter_rows(named=True)}
    assert rows["wales"]["suppressed"] and rows["wales"]["n_respondents"] is None
    assert rows["kss"]["n_respondents"] == 12, "other days are untouched"
    earlier = _participation(5, 1).with_columns(
        pl.lit("participation").alias("table_name"),
        pl.lit("(anyone)").alias("item"),
        pl.lit(5).alias("n_lo"),
        pl.lit(0).alias("k_lo"),
        pl.lit(0).alias("k_hi"),
    )
    later = audit.with_columns(pl.lit(2).alias("window_last"))
    with pytest.raises(AuditFailure, match="as published in release 1"):
        protect_participation(
            cells.with_columns(pl.lit(1).alias("arrival")),
            policy,
            release_no=2,
            history=earlier.select(
                pl.col("release_no").cast(pl.Int64),
                "table_name",
                "item",
                "region",
                "training_day",
                pl.col("n_lo").cast(pl.Int64),
                pl.col("n_hi").cast(pl.Int64),
                pl.col("k_lo").cast(pl.Int64),
                pl.col("k_hi").cast(pl.Int64),
            ),
            previous_audit=None,
            outcomes=ProtectedRelease({}, pl.DataFrame(), later, 0, 0),
        )


def test_a_policy_asking_more_protection_than_participation_can_give_publishes_none():
    from transforms.participation import protect_participation
    from transforms.privacy import ProtectedRelease

    cells = pl.DataFrame(
        {
            "item": ["(anyone)"],
            "region": ["kss"],
            "training_day": [dt.date(2026, 1, 7)],
            "arrival": [1],
            "n_respondents": [40],
            "n_positive": [0],
        }
    )
    nothing = ProtectedRelease({}, pl.DataFrame(), pl.DataFrame(schema=AUDIT_SCHEMA), 0, 0)
    for protection, shown in ((4, True), (5, False)):
        table = protect_participation(
            cells,
            resolve(protection=protection),
            release_no=1,
            history=None,
            previous_audit=None,
            outcomes=nothing,
        ).tables["participation"]
        assert (table["n_respondents"][0] == 40) is shown


@pytest.mark.parametrize("preset", ["opensafely", "acro"])
def test_participation_under_a_preset_that_protects_zeros_is_published(tmp_path: Path, preset: str):
    """Participation has no positive answers, so protecting 0% and 100% cannot withhold it:
    a release under such a preset shows every group of at least min_cell."""
    from tests.test_status import run_once

    drop = write_drop(tmp_path, n_regions=2, n_training_days=2, min_group=10, max_group=20)
    text = drop.config_path.read_text(encoding="utf-8").replace(
        "min_cell = 3", f'policy = "{preset}"'
    )
    drop.config_path.write_text(text, encoding="utf-8")
    config = load_config(drop.config_path)
    run_once(config)
    table = query(config.published_path, "select * from participation")
    assert table.height == 4
    shown = table.filter(~pl.col("suppressed"))
    assert shown.height == table.height, "every group here has at least 10"
    rounding = 5 if preset == "opensafely" else 1
    assert (shown["n_respondents"] % rounding == 0).all()

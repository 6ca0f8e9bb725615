"""What the operator reads after a run: files, counts and column names, never cell values."""

from __future__ import annotations

import typer

from flows.ingest import RunSummary
from transforms.drop import printable
from transforms.present import comparative_table, render
from transforms.report.files import report_paths

_KEY = (
    "% positive (positive/answered) by region, then national. A figure withheld to protect a\n"
    "small group shows the range any reader can already derive: 'lo-hi% (lo-hi/n)', '≥lo%'\n"
    "when open above, 'withheld (n lo-hi)' when how many answered is withheld too"
)
"""Printed above the table: a range is neither a figure nor a blank, and says why."""


def print_summary(summary: RunSummary) -> None:
    for note in summary.notes:
        typer.echo(f"note: {note}")
    for outcome in summary.files:
        line = f"{outcome.status:>9}  {outcome.file}"
        if outcome.status == "ingested":
            line += f"  ({outcome.n_responses} responses, {outcome.n_left_out} left out"
            if outcome.n_repeated:
                line += f", {outcome.n_repeated} already ingested from an earlier export"
            if outcome.n_words_held_back:
                n = outcome.n_words_held_back
                line += f", {n} free-text word{'' if n == 1 else 's'} held back"
            line += ")"
            if outcome.source:
                line += f"  [{outcome.source}]"
            if outcome.dropped_columns:
                line += f"  dropped columns: {', '.join(map(printable, outcome.dropped_columns))}"
        elif outcome.status == "rejected":
            line += f"  ({outcome.n_problems} problem(s); report: {outcome.report})"
            if outcome.source:
                line += f"  [{outcome.source}]"
        elif outcome.note:
            line += f"  ({outcome.note})"
        typer.echo(line)
    if summary.seconds:
        took = ", ".join(f"{step} {s:.1f} s" for step, s in summary.seconds.items())
        typer.echo(f"took: {took}")
    set_aside = f", {summary.n_set_aside} set aside" if summary.n_set_aside else ""
    typer.echo(
        f"{len(summary.files)} new file(s): {summary.n_ingested} ingested, "
        f"{summary.n_rejected} rejected{set_aside}"
    )
    release = summary.release
    if release is not None:
        typer.echo(
            f"published release {release.release_no} to {release.path} "
            f"({release.suppressed} of {release.cells} cells suppressed, "
            f"{release.share_suppressed:.0%}: {release.primary} by the primary rule, "
            f"{release.complementary} as cover)"
        )
    else:
        typer.echo(f"nothing new: {summary.published_path} is unchanged")
    if summary.published_path.exists():
        typer.echo("")
        typer.echo(_KEY)
        typer.echo(render(comparative_table(summary.published_path)))
    if release is not None and release.report_problem:
        typer.echo(f"warning: {release.report_problem}", err=True)
    report = report_paths(summary.published_path)
    if report.html.exists():
        typer.echo("")
        typer.echo(f"report: {report.html}")
        typer.echo(f"        {report.workbook} (GSS workbook)")

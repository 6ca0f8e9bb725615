"""`reflect-eval`: the operator's command line. Errors a person can act on are printed plainly
with an exit code per kind; a traceback is only ever a bug."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from transforms.errors import ReflectEvalError

app = typer.Typer(
    name="reflect-eval",
    help="Ingest regional survey exports and publish suppressed comparative outcome tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def reflect_eval() -> None:
    """Evaluate reflective practice groups: ingest regional survey exports, publish aggregates."""


ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="The reflect-eval.toml to use.", dir_okay=False),
]


def prefect_environment(home: Path, *, verbose: bool) -> None:
    """Prefect's local mode, set before Prefect is imported; an operator's own settings win.
    Prefect's logging is its own less the temporary server's noise as it is stopped
    (`flows.prefect_logging`)."""
    defaults = {
        "PREFECT_HOME": str(home / ".prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "WARNING",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    if "PREFECT_LOGGING_SETTINGS_PATH" not in os.environ:
        from flows.prefect_logging import write_logging_settings

        settings = write_logging_settings(Path(os.environ["PREFECT_HOME"]))
        os.environ["PREFECT_LOGGING_SETTINGS_PATH"] = str(settings)


def stop_orphaned_servers(home: Path) -> int:
    """Temporary Prefect servers a killed run left behind: they serve this project's Prefect
    home and their parent is no longer a process of it (the run that started them is gone, so
    they were handed to init or a subreaper). Called with the run lock held, so no run of ours
    uses them; a server started by hand (its parent, `prefect server start`, shares the home)
    is left alone. Linux only (it reads /proc); elsewhere nothing is stopped."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    stopped = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
            if b"prefect.server.api.server:create_app" not in command:
                continue
            ours = f"PREFECT_HOME={home}".encode()
            if ours not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if ours in _environment(proc / str(parent)):
                continue
            os.kill(int(entry.name), signal.SIGTERM)
            stopped += 1
        except (OSError, ValueError, IndexError):
            continue
    return stopped


def _environment(process: Path) -> list[bytes]:
    try:
        return (process / "environ").read_bytes().split(b"\0")
    except OSError:
        return []


def fail(error: ReflectEvalError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(error.exit_code)


@app.command()
def run(
    config: ConfigOption = Path("reflect-eval.toml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's log.")] = False,
    wait: Annotated[
        float,
        typer.Option(
            help="If another run holds the warehouse, wait up to this many seconds for it "
            "(default: stop at once, exit 3).",
            min=0,
        ),
    ] = 0.0,
) -> None:
    """Process every new file in the drop folder once, publish, print the comparative table.

    One run at a time: the run lock is taken before anything else starts."""
    from schemas.config import load_config
    from transforms.run_lock import run_lock

    try:
        loaded = load_config(config)
        with run_lock(loaded.paths.warehouse, wait=wait, command="reflect-eval run") as taken:
            if taken.took_over is not None:
                typer.echo(
                    f"note: took over the run lock of {taken.took_over.describe()}, which "
                    "ended without releasing it",
                    err=True,
                )
            prefect_environment(config.resolve().parent, verbose=verbose)
            stopped = stop_orphaned_servers(Path(os.environ["PREFECT_HOME"]))
            if stopped:
                typer.echo(
                    f"note: stopped {stopped} temporary Prefect server(s) left by a killed run",
                    err=True,
                )
            from flows.ingest import ingest_drop
            from flows.summary import print_summary

            state = ingest_drop(str(config.resolve()), return_state=True)
            result = state.result(raise_on_failure=False)
            if isinstance(result, BaseException):
                raise result
            print_summary(result)
    except ReflectEvalError as error:
        raise fail(error) from None


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The export to check.", dir_okay=False)],
    region: Annotated[str, typer.Option("--region", "-r", help="The region's id.")],
    config: ConfigOption = Path("reflect-eval.toml"),
) -> None:
    """Read and validate one export as a run would, without storing anything; print its report.

    Exit 0 if the file would be ingested, 1 if it would be rejected."""
    from transforms.check import check_file

    try:
        report, accepted = check_file(file, region, config)
    except ReflectEvalError as error:
        raise fail(error) from None
    typer.echo(report, nl=False)
    raise typer.Exit(0 if accepted else 1)


@app.command()
def template(
    region: Annotated[str, typer.Option("--region", "-r", help="The region's id.")],
    config: ConfigOption = Path("reflect-eval.toml"),
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write it.", dir_okay=False)
    ] = None,
) -> None:
    """Write the blank template CSV a region can fill by hand (never overwrites a file)."""
    from transforms.check import write_template

    try:
        written, note = write_template(region, config, out)
    except ReflectEvalError as error:
        raise fail(error) from None
    if note:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"wrote {written}")


@app.command()
def status(
    config: ConfigOption = Path("reflect-eval.toml"),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
) -> None:
    """Where things stand: per region and training day what arrived, was ingested or rejected,
    and whether the last release includes it; the last release; files waiting. Counts and names
    only, never a cell value; safe while a run is going."""
    import json

    from schemas.config import load_config
    from transforms.status import render
    from transforms.status import status as current

    try:
        state = current(load_config(config))
    except ReflectEvalError as error:
        raise fail(error) from None
    typer.echo(json.dumps(state.as_dict(), indent=2) if as_json else render(state), nl=as_json)


@app.command()
def purge(
    config: ConfigOption = Path("reflect-eval.toml"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete filed raw exports (processed/ and rejected/, with their reports) older than
    [retention] raw_days, listing their names. The warehouses are not touched."""
    from schemas.config import load_config
    from transforms.retention import purge as purge_files

    try:
        done = purge_files(load_config(config), dry_run=dry_run)
    except ReflectEvalError as error:
        raise fail(error) from None
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {len(done.deleted)} raw file(s) filed over {done.raw_days} day(s) ago:")
    for name in done.deleted:
        typer.echo(f"  {name}")
    typer.echo(f"kept {done.kept} newer file(s)")
    for name in done.skipped:
        typer.echo(f"skipped {name}", err=True)


@app.command()
def replace(
    file: Annotated[
        Path, typer.Argument(help="The corrected export.", exists=True, dir_okay=False)
    ],
    region: Annotated[str, typer.Option("--region", "-r", help="The region it comes from.")],
    replaces: Annotated[
        str | None,
        typer.Option(
            "--replaces",
            help="The file name it corrects, when the region has several for that training day.",
        ),
    ] = None,
    config: ConfigOption = Path("reflect-eval.toml"),
    wait: Annotated[
        float,
        typer.Option(help="If a run holds the warehouse, wait up to this many seconds.", min=0),
    ] = 0.0,
) -> None:
    """Record a region's corrected file in place of the file it corrects (same training day):
    the earlier file's responses are withdrawn in the next release, which keeps every earlier
    release true. A file that does not validate is rejected with its report, and nothing is
    replaced."""
    from schemas.config import load_config
    from schemas.instrument import load_instrument
    from transforms.load import create_restricted_tables, open_warehouse
    from transforms.replace import replace_file
    from transforms.response_keys import load_or_create_secret, secret_path
    from transforms.run_lock import run_lock

    try:
        loaded = load_config(config)
        with run_lock(loaded.paths.warehouse, wait=wait, command="reflect-eval replace"):
            secret = load_or_create_secret(secret_path(loaded.paths.warehouse))
            with open_warehouse(loaded.restricted_path) as con:
                create_restricted_tables(con)
                done = replace_file(
                    con,
                    loaded,
                    load_instrument(loaded.instrument),
                    file,
                    region=region,
                    replaces=replaces,
                    secret=secret,
                )
    except ReflectEvalError as error:
        raise fail(error) from None
    outcome = done.outcome
    if outcome.status != "ingested":
        typer.echo(
            f"{outcome.file}: {outcome.status}, {outcome.n_problems} problem(s); "
            f"report at {outcome.report}. Nothing was replaced.",
            err=True,
        )
        raise typer.Exit(1)
    [earlier] = done.replaced
    typer.echo(
        f"{outcome.file}: {outcome.n_responses} response(s) recorded in place of {earlier} "
        f"({done.n_replaced_responses} response(s)); the next run publishes the corrected "
        "figures"
    )


@app.command()
def report(
    config: ConfigOption = Path("reflect-eval.toml"),
    published: Annotated[
        Path | None,
        typer.Option(
            "--published",
            "-p",
            help="A published file to report on (default: the config's); no config needed.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write the HTML report and the GSS workbook again, beside the published file, from that
    file alone: no restricted data is needed."""
    from transforms.report.files import write_report

    try:
        if published is None:
            from schemas.config import load_config

            published = load_config(config).published_path
        written = write_report(published)
    except ReflectEvalError as error:
        raise fail(error) from None
    typer.echo(f"report: {written.html}")
    typer.echo(f"        {written.workbook} (GSS workbook)")


@app.command()
def serve(
    config: ConfigOption = Path("reflect-eval.toml"),
    cron: Annotated[
        str | None,
        typer.Option(
            help="Run on this cron instead of the config's [schedule] (server's time zone)."
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="Deployment name shown in Prefect.")] = "reflect-eval",
) -> None:
    """Run the ingest flow on the training-day calendar ([schedule] in the config), and on
    demand with `prefect deployment run 'reflect-eval-ingest/<name>'`.

    With PREFECT_API_URL set, that Prefect server is used; without it, serve starts one of its
    own on loopback (state in the project's Prefect home) and stops it when it stops."""
    from schemas.config import load_config

    try:
        loaded = load_config(config)
        prefect_environment(config.resolve().parent, verbose=True)
        with contextlib.ExitStack() as stack:
            if not os.environ.get("PREFECT_API_URL"):
                from flows.server import local_server

                home = Path(os.environ["PREFECT_HOME"])
                url = stack.enter_context(local_server(home))
                os.environ["PREFECT_API_URL"] = url
                typer.echo(
                    f"started a Prefect server at {url} (state in {home}); it stops with serve"
                )
            signal.signal(signal.SIGTERM, _stop_serving)
            from flows.ingest import ingest_drop
            from flows.schedule import prefect_schedules

            parameters = {"config_path": str(config.resolve())}
            if cron is not None:
                ingest_drop.serve(name=name, cron=cron, parameters=parameters)
            else:
                schedules = prefect_schedules(loaded.schedule)
                ingest_drop.serve(name=name, schedules=schedules, parameters=parameters)
    except ReflectEvalError as error:
        raise fail(error) from None


def _stop_serving(signum: int, frame: object) -> None:
    """SIGTERM ends serve as Ctrl-C does, so the server it started is stopped too."""
    raise KeyboardInterrupt


@app.command()
def schedule(
    config: ConfigOption = Path("reflect-eval.toml"),
    count: Annotated[int, typer.Option(help="How many runs to show.", min=1)] = 10,
) -> None:
    """Print the next scheduled runs of the training-day calendar ([schedule]), in local time."""
    from schemas.config import load_config

    try:
        calendar = load_config(config).schedule
    except ReflectEvalError as error:
        raise fail(error) from None
    from flows.schedule import SWEEP, TRAINING_DAY, next_runs

    runs = next_runs(calendar, count=count)
    days = [when for when, why in runs if why == TRAINING_DAY]
    sweeps = [when for when, why in runs if why == SWEEP]
    typer.echo(f"training-day runs ({calendar.time_zone}):")
    for when in days:
        typer.echo(f"  {when:%a %Y-%m-%d %H:%M %Z}")
    if not days:
        typer.echo("  none to come: list the dates as training_days under [schedule]")
    if sweeps:
        typer.echo(f"daily sweep for late files at {calendar.daily_sweep:%H:%M}, next:")
        for when in sweeps[:3]:
            typer.echo(f"  {when:%a %Y-%m-%d %H:%M %Z}")
    else:
        typer.echo("no daily sweep (daily_sweep = false)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

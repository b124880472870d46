"""The `socialcredit` command."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

# Only what every command needs is imported here: `socialcredit --help` and a small `score` should
# not wait for NumPy, pydantic, Arrow or numba to load where they are not used (benchmarks/RESULTS.md,
# "Side by side with DuckDB and Polars"). Each command imports the rest itself.
from .scheme.errors import SchemeError

if TYPE_CHECKING:
    from .scheme.models import Scheme

# Help and usage errors in Click's plain text (rich_markup_mode=None): Typer's Rich formatting loads
# Markdown and Pygments first, a quarter of a second before any help is shown.
PLAIN = {"add_completion": False, "no_args_is_help": True, "rich_markup_mode": None}
app = typer.Typer(**PLAIN, pretty_exceptions_enable=False,
                  help="Social credit and reputation scoring systems, implemented transparently.")
scheme_app = typer.Typer(**PLAIN, help="Work with scheme files.")
app.add_typer(scheme_app, name="scheme")
keys_app = typer.Typer(**PLAIN, help="API keys of the service.")
app.add_typer(keys_app, name="keys")
scenario_app = typer.Typer(**PLAIN, help="Work with scenario files.")
app.add_typer(scenario_app, name="scenario")
audit_app = typer.Typer(**PLAIN, help="The service's audit log.")
app.add_typer(audit_app, name="audit")

DB_HELP = "Database URL: sqlite:///FILE (default sqlite:///socialcredit.db) or postgresql+psycopg://USER@HOST/DB."
KEY_HELP = ("The audit key file (Ed25519, PEM; made on first use, readable by its owner only; never in the "
            "database). Default: FILE.audit-key beside a SQLite FILE, else ./socialcredit-audit.audit-key.")
CHECKPOINTS_HELP = ("The file the signed checkpoints of the audit log are appended to. Default: FILE.checkpoints "
                    "beside a SQLite FILE, else ./socialcredit-audit.checkpoints.")
AuditKeyPath = Annotated[Path | None, typer.Option("--checkpoint-key", envvar="SOCIALCREDIT_AUDIT_KEY", help=KEY_HELP)]
CheckpointsPath = Annotated[Path | None, typer.Option("--checkpoints", envvar="SOCIALCREDIT_CHECKPOINTS",
                                                      help=CHECKPOINTS_HELP)]

# Wide when piped (Rich would assume 80 columns), so tables and messages stay readable in files and CI logs.
out = Console(width=None if Console().is_terminal else 200)
err = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 200)

EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_PORT_IN_USE = 4
SCHEDULER_TIMEOUT_S = 5
EXIT_INTERRUPTED = 130  # as a shell reports a process ended by Ctrl-C (128 + SIGINT)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    from rich.markup import escape

    # the message is plain text (it may quote a user's [bracketed] input): only the label is markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def _load(ref: str) -> Scheme:
    from .scheme import load_scheme

    try:
        return load_scheme(ref)
    except SchemeError as error:
        raise fail(str(error)) from None


def _refuse_unless_lawful(scheme: Scheme, job: str) -> None:
    from .scheme.guards import classify

    verdict = classify(scheme)
    if not verdict.allowed:
        reasons = "\n".join(f"  - {reason}" for reason in verdict.refusals)
        raise fail(f"`{job}` works on real people and refuses scheme '{scheme.id}':\n{reasons}\n"
                   "  `socialcredit simulate` runs such schemes on synthetic people, to measure what the rules do.",
                   EXIT_REFUSED)


@app.command()
def score(
    events: Annotated[Path, typer.Argument(help="Event log, CSV or Parquet: subject,kind,time[,value,weight,...]")],
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="Scheme preset id or YAML file.")],
    as_of: Annotated[str | None, typer.Option(help="Score at this time (ISO date/datetime or days since "
                                                    "1970-01-01); default: the latest event.")] = None,
    relations: Annotated[Path | None, typer.Option(help="Ties, CSV or Parquet: subject,other.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write .csv or .parquet here.")] = None,
    skip_bad_rows: Annotated[bool, typer.Option(help="Score the good rows; write bad ones to <out>.rejects.csv.")]
    = False,
    allow_future: Annotated[bool, typer.Option(help="Accept events dated after today (a simulation's, say); "
                                                    "without it they are bad rows.")] = False,
    input_list: Annotated[list[str] | None, typer.Option(
        "--list", help="An input list's members: NAME=FILE, a CSV or Parquet file with a 'subject' column "
                       "(once for each input list the scheme declares).")] = None,
) -> None:
    """Score every subject of a real event log: score, tier, lists, entitlements, reasons."""
    from .eventlog import InputError, days_to_text, parse_time_text
    from .scorejob import OUTPUT_SUFFIXES, run_score, write_rejects, write_table

    if out_path is not None and out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise fail(f"--out {out_path}: cannot write '{out_path.suffix or 'a file without an extension'}'; name a "
                   f"file ending in {' or '.join(OUTPUT_SUFFIXES)}")
    lists: dict[str, str | Path] = {}
    for given in input_list or []:
        name, equals, file = given.partition("=")
        if not equals or not name or not file:
            raise fail(f"--list {given}: give NAME=FILE, an input list's name and its membership file "
                       "(--list court_blacklist=members.csv)")
        if name in lists:
            raise fail(f"--list {name}: given twice; give each input list once")
        lists[name] = file
    chosen = _load(scheme)
    _refuse_unless_lawful(chosen, "score")
    try:
        as_of_days = parse_time_text(as_of) if as_of is not None else None
        started = time.perf_counter()
        run = run_score(events, chosen, as_of_days, relations, skip_bad_rows, allow_future, lists)
        elapsed = time.perf_counter() - started
        if run.log.duplicates:
            err.print(f"dropped {run.log.duplicates:,} event{'s' * (run.log.duplicates != 1)} whose id repeats an "
                      "earlier event's (the first of each is kept, as the service keeps the first ingest)",
                      highlight=False)
        if run.log.rejected:
            rejects = Path(str(out_path or events) + ".rejects.csv")
            write_rejects(run, rejects)
            err.print(f"skipped {run.log.rejected} bad row{'s' * (run.log.rejected != 1)}; "
                      f"written with reasons to {rejects}", highlight=False)
        if out_path is not None:
            try:
                write_table(run.table, out_path)
            except OSError as error:
                raise fail(f"--out {out_path}: cannot write it: {_os_reason(error)}") from None
            err.print(f"scored {run.table.num_rows} subjects from {len(run.log.events)} events "
                      f"(as of {days_to_text(run.as_of)}) in {elapsed:.2f} s -> {out_path}", highlight=False)
        else:
            err.print(f"scored {run.table.num_rows} subjects from {len(run.log.events)} events as of "
                      f"{days_to_text(run.as_of)}" + ("" if as_of is not None else " (the latest event; --as-of "
                                                       "sets another time)"), highlight=False)
            _print_scores(run.table, run.scores.scheme)
    except InputError as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"{error.filename or ''}: {error.strerror}") from None


def _print_scores(table, scheme: Scheme, limit: int = 50) -> None:
    shown = ["subject", "score", "pre", "tier", *(["capped_by"] if scheme.tier_caps else []),
             *(["unscored_by"] if scheme.unscored_rules else []), *scheme.lists, *scheme.input_lists,
             *scheme.entitlements, "reasons"]
    rows = table.select(shown).slice(0, limit).to_pylist()
    view = Table(title=f"{scheme.title}: {table.num_rows} subjects", title_justify="left")
    for name in shown:
        view.add_column(name, justify="right" if name in ("score", "pre") else "left")
    for row in rows:
        view.add_row(*("" if row[c] is None else f"{row[c]:.1f}" if isinstance(row[c], float) else
                       ("yes" if row[c] is True else "no" if row[c] is False else str(row[c])) for c in shown))
    out.print(view)
    if table.num_rows > limit:
        out.print(f"... and {table.num_rows - limit} more subjects; use --out FILE.csv to write them all")


def _os_reason(error: OSError) -> str:
    """What went wrong, in words, for an OSError from Python or from Arrow (which gives no strerror)."""
    text = error.strerror or str(error)
    detail = text.partition("Detail: [errno ")[2]
    if detail:  # Arrow: "Failed to open local file '...'. Detail: [errno 2] No such file or directory"
        return detail.partition("] ")[2] or text
    return text


def _kernels_cached() -> bool:
    """Whether this machine has the simulation's compiled kernels (numba's cache of them), so that a
    first run can say it compiles them rather than sit behind a spinner. Unknown counts as cached."""
    try:
        from .world.behaviour import keyed_arrivals

        return Path(keyed_arrivals._cache._cache_file._index_path).exists()
    except Exception:  # numba's cache layout is its own: where it cannot be read, say nothing
        return True


def _check_memory(chosen, kinds: int, force: bool) -> None:
    """Refuse, before any work, a run that would not fit in memory (unless --force)."""
    from .sim.resources import gib, largest_population, plan

    memory = plan(chosen, kinds)
    if memory.fits or force:
        return
    assert memory.available is not None
    most = largest_population(chosen, kinds, memory.available)
    raise fail(f"{chosen.population.size:,} people need about {gib(memory.needed)} (about "
               f"{memory.needed / chosen.population.size:,.0f} bytes a person at {chosen.network.mean_degree:g} ties "
               f"each, measured), and this machine has {gib(memory.available)} available: the largest population "
               f"that fits is about {most:,}\n    fix: --population {most} or fewer, or --force to try anyway")


def _check_free(target: Path, overwrite: bool) -> None:
    """Refuse, before any work, an --out that would mix this run's files with another's."""
    from .outputs import OutputExists, check_free

    try:
        check_free(target, overwrite)
    except OutputExists as error:
        raise fail(f"--out: {error}") from None


def _progress(unit: str):
    """A progress bar on stderr: what, bar, done/total, elapsed and time left."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=err)


def _parse_sets(values: list[str]) -> dict[str, object]:
    """`--set key.path=value` pairs; values are read as YAML (numbers, lists, true/false)."""
    import yaml

    parsed: dict[str, object] = {}
    for item in values:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set {item!r}: expected key.path=value, e.g. --set network.mean_degree=6")
        try:
            parsed[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            parsed[key.strip()] = text
    return parsed


def _state_scenario(path: Path, overrides: dict[str, Any]) -> tuple[Any, Any]:
    """The scenario saved in a state file (`simulate --save-state-at`), with `overrides` applied."""
    from .scenario.load import apply_overrides, scenario_from_data
    from .sim.state import StateError, saved_scenario

    try:
        data, _ = saved_scenario(path)
    except StateError as error:
        raise fail(str(error)) from None
    return scenario_from_data(apply_overrides(data, overrides) if overrides else data, f"state:{path}")


@app.command()
def simulate(
    scenario: Annotated[str | None, typer.Argument(help="Scenario preset id or YAML file (default: the "
                                                        "built-in default scenario).")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="Scenario preset id (same as SCENARIO).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: "
                                                                     "runs/<scenario>-<timestamp>).")] = None,
    population: Annotated[int | None, typer.Option(help="Number of people (population.size).")] = None,
    days: Annotated[int | None, typer.Option(help="Days to simulate (run.days).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (run.seed).")] = None,
    sets: Annotated[list[str] | None, typer.Option("--set", help="Override any scenario key: key.path=value "
                                                                  "(repeatable).")] = None,
    save_events: Annotated[bool, typer.Option(help="Also write the observed events and final ties, in the "
                                                   "`socialcredit score` input format.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace the --out folder if it already holds files.")] = False,
    force: Annotated[bool, typer.Option(help="Run even when the memory the run needs looks larger than the "
                                             "memory available.")] = False,
    counterfactual: Annotated[str | None, typer.Option(help="Also run a twin with this mechanism switched off "
                                                            "(same scenario and seed) and report what it causes: "
                                                            "deterrence, sanctions, perks, shunning, "
                                                            "removal, network_term, farming, pruning, "
                                                            "inflation or enrolment.")] = None,
    amplification: Annotated[bool, typer.Option(help="Also measure the sanctions, across every scheme, that "
                                                     "follow from one false record and one incident (twins "
                                                     "without them, same scenario and seed).")] = False,
    seeds: Annotated[int, typer.Option(help="With --counterfactual or --amplification: pairs of runs, at seeds "
                                            "SEED..SEED+K-1 (2 or more give an interval).", min=1)] = 1,
    save_state_at: Annotated[int | None, typer.Option(help="Also write the run's whole state at the end of this "
                                                           "day (0 = the first reported day) to --state-file, to "
                                                           "continue or fork from with --from-state.")] = None,
    state_file: Annotated[Path | None, typer.Option(help="Where --save-state-at writes (default: "
                                                         "<out>.day<DAY>.state.npz beside the output folder).")]
    = None,
    from_state: Annotated[Path | None, typer.Option(help="Continue the run saved in this state file: its "
                                                         "scenario, with --set/--days changes applied from the "
                                                         "day after the saved one.")] = None,
) -> None:
    """Run a scheme over a synthetic population and measure who it helps and harms."""
    import datetime as dt

    from .runner.run import run_scenario
    from .scenario.load import load_scenario
    from .sim.state import StateError

    overrides = _parse_sets(sets or [])
    for key, value in (("population.size", population), ("run.days", days), ("run.seed", seed)):
        if value is not None:
            overrides[key] = value
    try:
        if from_state is not None:
            if preset or scenario:
                raise fail("--from-state continues the scenario saved in the state file: give no SCENARIO or "
                           "--preset (change its parameters with --set)")
            chosen, schemes = _state_scenario(from_state, overrides)
        else:
            chosen, schemes = load_scenario(preset or scenario, overrides)
    except SchemeError as error:
        raise fail(str(error)) from None
    if from_state is not None and (counterfactual is not None or amplification):
        raise fail("--counterfactual and --amplification run their twins from day 0: they cannot be combined "
                   "with --from-state")
    if seeds > 1 and counterfactual is None and not amplification:
        raise fail("--seeds gives the number of counterfactual pairs: use it with --counterfactual MECHANISM "
                   "or --amplification (to compare seeds of variants, use `socialcredit compare`)")
    if amplification and not chosen.surveillance:
        raise fail("--amplification: the scenario has no sources, so no record, false or true, reaches a scheme")
    if counterfactual is not None:
        from .runner.counterfactual import twin_overrides

        try:
            switched_off = twin_overrides(counterfactual, chosen, schemes)
        except ValueError as error:
            raise fail(f"--counterfactual: {error}") from None
        try:  # the twin's scenario checked now, not after the first run
            load_scenario(preset or scenario, {**overrides, **switched_off})
        except SchemeError as error:
            raise fail(f"--counterfactual {counterfactual}: the twin without it is not a scenario that can run: "
                       f"{error}") from None
        farmed = sorted(key for key in switched_off if key.startswith("gaming.farming."))
        if counterfactual == "deterrence" and farmed:
            err.print(f"without deterrence no points move an act, so nothing is farmed: the twin also sets "
                      f"{', '.join(f'{key}=0' for key in farmed)}", highlight=False)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = out_dir or Path("runs") / f"{chosen.id}-{stamp}"
    _check_free(target, overwrite)
    # each scheme keeps its own feature state of its kinds
    _check_memory(chosen, sum(len(entry.scheme.events) for entry in schemes), force)
    err.print(f"[bold]{chosen.title or chosen.id}[/]: {_schemes_text(schemes)}, {chosen.size_and_length}, "
              f"seed {chosen.run.seed}", highlight=False)
    burn_in = chosen.run.burn_in_days
    if burn_in:
        err.print(f"first {burn_in:,} days of burn-in before {chosen.run.start} (simulated, not reported)",
                  highlight=False)
    cold = not _kernels_cached()
    if cold:
        err.print("compiling the simulation's kernels for this machine, once (about 20 s; later runs load them)",
                  highlight=False)
    reached = {"day": None}
    try:
        with _progress("days") as progress:
            setup = progress.add_task("compiling kernels, once" if cold else "setting up", total=None)
            task_holder: dict[str, object] = {}

            def on_day(day: int) -> None:
                reached["day"] = day
                if "task" not in task_holder:
                    progress.remove_task(setup)
                    task_holder["task"] = progress.add_task("simulating", total=burn_in + chosen.run.days)
                progress.update(task_holder["task"], completed=burn_in + day + 1)  # type: ignore[arg-type]

            saving = None
            if save_state_at is not None:
                saving = (save_state_at, state_file or target.with_name(f"{target.name}.day{save_state_at}.state.npz"))
            try:
                run = run_scenario(chosen, schemes, on_day, save_events, save_state=saving, from_state=from_state)
            except StateError as error:
                raise fail(str(error)) from None
            if saving is not None:
                err.print(f"state at the end of day {saving[0]:,} in {saving[1]}", highlight=False)
        if counterfactual is not None:
            from .runner.counterfactual import paired_effects

            first = chosen.run.seed
            err.print(f"running {seeds * 2 - 1} more run(s) for the counterfactual without {counterfactual} "
                      f"(seeds {first}..{first + seeds - 1})", highlight=False)
            effects = paired_effects(preset or scenario, overrides, counterfactual,
                                     list(range(first, first + seeds)), first=run.summary)
            run.summary["counterfactual"] = effects.as_dict()
        if amplification:
            from .runner.amplification import amplification as measure_amplification
            from .runner.amplification import place

            first = chosen.run.seed
            err.print(f"running {seeds * (2 + len(chosen.incidents)) - 1} more run(s) for the amplification "
                      f"(seeds {first}..{first + seeds - 1})", highlight=False)
            place(run.summary, measure_amplification(preset or scenario, overrides,
                                                     list(range(first, first + seeds)), first=run))
    except KeyboardInterrupt:
        where = "while setting up" if reached["day"] is None else \
            f"on day {burn_in + reached['day'] + 1:,} of {burn_in + chosen.run.days:,}"
        raise fail(f"interrupted {where}: nothing was written", EXIT_INTERRUPTED) from None
    try:
        run.save(target)
    except KeyboardInterrupt:
        raise fail(f"interrupted while saving: nothing was written to {target}", EXIT_INTERRUPTED) from None
    except OSError as error:
        raise fail(f"cannot write the results to {target}: {_os_reason(error)}") from None
    _print_summary(run)
    events = ", ".join(f"events.{entry.prefix}parquet" for entry in schemes)
    out.print(f"results in [bold]{target}[/]: report.html, summary.json, metrics.parquet, people.parquet, "
              f"scenario.yaml" + (f", {events}, relations.parquet" if save_events else ""), highlight=False)


@app.command()
def compare(
    scenarios: Annotated[list[str] | None, typer.Argument(help="Scenario preset ids or YAML files (default: the "
                                                                 "built-in default).")] = None,
    sets: Annotated[list[str] | None, typer.Option("--set", help="Vary a scenario key: key.path=v1,v2,... "
                                                                  "(repeatable: every combination runs).")] = None,
    population: Annotated[int | None, typer.Option(help="Number of people in every run (population.size).",
                                                   min=1)] = None,
    days: Annotated[int | None, typer.Option(help="Days every run simulates (run.days).", min=1)] = None,
    seeds: Annotated[int | None, typer.Option(help="Runs per variant, with seeds 1..K shared by every variant "
                                                   "(default 5; with --from-state, the saved run's seed alone).",
                                              min=1)] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: "
                                                                     "runs/compare-<timestamp>).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler "
                                                       "(tcp://HOST:PORT); default: a local cluster.")] = None,
    workers: Annotated[int | None, typer.Option(help="Workers of the local cluster (default: all cores).")] = None,
    sequential: Annotated[bool, typer.Option(help="Run here, one after another, without Dask.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace the --out folder if it already holds files.")] = False,
    from_state: Annotated[Path | None, typer.Option(help="Fork every variant from the run saved in this state "
                                                         "file (simulate --save-state-at): its scenario, each "
                                                         "variant's --set values applied from the day after the "
                                                         "saved one.")] = None,
) -> None:
    """Run variants of scenarios over several seeds and compare their harms, with intervals."""
    import datetime as dt

    import yaml

    from .analysis.intervals import FEW_SEEDS
    from .runner.compare import resolve, run_experiment, summarise, variants
    from .runner.compare_report import cell, write_compare_report

    varied: dict[str, list[object]] = {}
    for item in sets or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text:
            raise fail(f"--set {item!r}: expected key.path=v1,v2,..., e.g. --set surveillance.cameras.coverage=0.1,0.5")
        varied[key.strip()] = [yaml.safe_load(value) for value in text.split(",")]
    for key, value in (("population.size", population), ("run.days", days)):
        if value is not None:
            varied[key] = [value]
    from .sim.state import StateError, saved_scenario

    if from_state is not None:
        if scenarios:
            raise fail("--from-state forks the scenario saved in the state file: give no SCENARIO (vary its "
                       "parameters with --set)")
        if seeds is not None and seeds > 1:
            raise fail("--from-state continues one saved run, of one seed: every variant forks it once (leave "
                       "--seeds out, or save a state per seed and compare each)")
        try:
            seed_list = [int(saved_scenario(from_state)[0]["run"]["seed"])]
        except StateError as error:
            raise fail(str(error)) from None
        chosen = variants([from_state.stem], varied, str(from_state))
    else:
        chosen = variants(scenarios or ["default"], varied)
        seed_list = list(range(1, (seeds or 5) + 1))
    seeds = len(seed_list)
    try:
        for variant in chosen:  # fail early, before any cluster starts, on a bad scenario or setting
            from .runner.compare import resolve

            resolve(variant)
    except (SchemeError, StateError) as error:
        raise fail(str(error)) from None
    target = out_dir or Path("runs") / f"compare-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    _check_free(target, overwrite)
    client, cluster = _dask_client(scheduler, workers, sequential)
    err.print(f"{len(chosen)} variants x {seeds} seeds = {len(chosen) * seeds} runs"
              + (f" on {scheduler}" if scheduler else " on a local Dask cluster" if client else " here"),
              highlight=False)
    try:
        with _progress("runs") as progress:
            task = progress.add_task("runs", total=len(chosen) * seeds)
            results = run_experiment(chosen, seed_list, client,
                                     on_done=lambda done, total: progress.update(task, completed=done))
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    table = summarise(results)
    from .outputs import write_whole

    groups = list(resolve(chosen[0])[0]["population"]["groups"])

    def write(folder: Path) -> None:
        results.to_csv(folder / "results.csv", index=False)
        table.to_csv(folder / "table.csv", index=False)
        write_compare_report(results, table, groups, folder / "report.html")

    try:
        write_whole(target, write)
    except OSError as error:
        raise fail(f"cannot write the results to {target}: {_os_reason(error)}") from None
    view = Table(title="Harms by variant: mean [95% interval]", title_justify="left")
    view.add_column("figure")
    for variant in dict.fromkeys(table["variant"]):
        view.add_column(variant, justify="right")
    # with several schemes, what joint punishment and sharing do to the whole system first
    combined = [f for f in dict.fromkeys(table["figure"]) if f == "sanctioned_by_any"
                or (f.startswith("denied_through_imports.") and f.count(".") == 1)]
    lead = combined + [f for f in dict.fromkeys(table["figure"]) if f.split(".")[0] in (
        "wrongly_sanctioned", "wrongly_listed", "listed", "disparate_impact")]
    for figure in lead[:16]:
        cells = []
        for variant in dict.fromkeys(table["variant"]):
            row = table[(table["variant"] == variant) & (table["figure"] == figure)]
            cells.append(cell(row["mean"].iloc[0], row["low"].iloc[0], row["high"].iloc[0], row["kind"].iloc[0])
                         if len(row) else "")
        view.add_row(figure, *cells)
    out.print(view)
    how = ("one seed: no intervals" if seeds == 1 else
           f"95% intervals over {seeds} seeds, Student t on each figure's scale (logit for shares, log for counts)"
           + ("; few seeds, so wide and rough" if seeds < FEW_SEEDS else ""))
    out.print(how + "; table.csv says how for each figure", highlight=False)
    out.print(f"results in [bold]{target}[/]: report.html, table.csv, results.csv", highlight=False)


def _print_summary(run) -> None:
    from .sim.schemes import scheme_sections
    from .undefined import shown

    summary = run.summary
    groups = list(run.sim.people.group_names)
    view = Table(title=f"{run.scenario.full_title}: at the end", title_justify="left")
    view.add_column("figure")
    view.add_column("all", justify="right")
    for group in groups:
        view.add_column(group, justify="right")
    for key, label in (("listed_by_any", "on a list of any scheme"), ("sanctioned_by_any", "sanctioned by any scheme")):
        figure = summary.get("combined", {}).get(key)
        if figure is not None:
            view.add_row(label, f"{figure['share']:.2%}", *(shown(figure['by_group'][g], ".2%") for g in groups))
            view.add_row(f"{label.split(' ')[0]} by several at once", f"{figure['several_at_end']['share']:.2%}",
                         *(shown(figure['several_at_end']['by_group'][g], ".2%") for g in groups))
    for scheme_name, section in scheme_sections(summary):
        of = f" ({scheme_name})" if scheme_name else ""
        score = section["score"]
        unscored = section.get("unscored")  # some have no score: the score figures are of the scored
        view.add_row(f"mean score{of}" + (", of the scored" if unscored else ""), shown(score['mean'], '.1f'),
                     *(shown(score['by_group'][g], ".1f") for g in groups))
        if unscored:
            view.add_row(f"no score{of}" + (": not enrolled or unscored" if "not_enrolled" in unscored else
                                            ": unscored"), f"{unscored['share']:.2%}",
                         *(shown(unscored['by_group'][g], ".2%") for g in groups))
        for name, listed in section["lists"].items():
            view.add_row(f"on {name}{of}", f"{listed['share']:.2%}",
                         *(shown(listed['by_group'][g], ".2%") for g in groups))
        for name, denied in section["entitlements_denied"].items():
            view.add_row(f"denied {name}{of}", f"{denied['share']:.2%}",
                         *(shown(denied['by_group'][g], ".2%") for g in groups))
        for name, share in section["tiers"].items():
            view.add_row(f"tier {name}{of}" + (" (of everyone; the unscored have none)" if unscored else ""),
                         f"{share:.2%}", *([""] * len(groups)))
        harms = section["harms"]
        for key, label in (("wrongly_listed", "listed for acts not done"), ("wrongly_sanctioned",
                                                                            "sanctioned for acts not done")):
            if key in harms:
                figure = harms[key]
                view.add_row(f"{label}{of}", f"{figure['rate']:.3%}",
                             *(shown(figure['by_group'][g], ".3%") for g in groups))
        for name, figure in harms["disparities"].items():
            if figure["fails_four_fifths"]:
                view.add_row(f"disparate impact, {name}{of}", f"{figure['disparate_impact']:.2f} (fails 4/5)",
                             *([""] * len(groups)))
    feedback = summary["feedback"]
    if feedback["income_log_growth_sanctioned"] is not None:
        view.add_row("income change, ever sanctioned (a comparison, not an effect)",
                     f"{feedback['income_log_growth_sanctioned']:+.2%}", *([""] * len(groups)))
    if feedback["income_log_growth_others"] is not None:
        view.add_row("income change, never sanctioned", f"{feedback['income_log_growth_others']:+.2%}",
                     *([""] * len(groups)))
    network = summary["network"]
    view.add_row("disclosed people with no ties", shown(network['isolated_listed_share_final'], '.2%'),
                 *([""] * len(groups)))
    for name, display in summary.get("display", {}).items():  # lists with a removal fee
        days, end = display["days_shown_per_person_shown"], display["still_shown_at_end"]
        view.add_row(f"days shown on {name}, per person shown", shown(days["mean"], ".1f"),
                     *(shown(days["by_group"][g], ".1f") for g in groups))
        view.add_row(f"paid to be taken off {name}", shown(display["paid_share"], ".1%"), *([""] * len(groups)))
        view.add_row(f"still shown on {name} at the end (poorest/richest fifth: "
                     f"{shown(end['poorest_to_richest'], '.2f')}x)", shown(end["share"], ".1%"),
                     *(shown(end["by_group"][g], ".1%") for g in groups))
    view.add_row("person-days per second", shown(summary["person_days_per_second"], ",.0f"), *([""] * len(groups)))
    out.print(view)
    effects = summary.get("counterfactual")
    if effects:
        caused = Table(title=f"What {effects['mechanism'].replace('_', ' ')} causes (twin without it, seeds "
                             f"{', '.join(map(str, effects['seeds']))})", title_justify="left")
        for column in ("figure", "with", "without", "difference"):
            caused.add_column(column, justify="left" if column == "figure" else "right")
        for row in effects["figures"]:
            if row["difference"] is None:
                caused.add_row(row["figure"], "n/a", "n/a", row["why_null"]["difference"])
                continue
            interval = f" [{row['low']:.4g}, {row['high']:.4g}]" if row["low"] is not None else ""
            caused.add_row(row["figure"], f"{row['with']:.4g}", f"{row['without']:.4g}",
                           f"{row['difference']:+.4g}{interval}")
        out.print(caused)
    from .runner.amplification import found

    amplified = found(summary)
    if amplified:
        table = Table(title="Amplification: entitlement-days denied per false record (twin without those of half "
                            f"the people, seeds {', '.join(map(str, amplified['seeds']))})", title_justify="left")
        for column in ("scheme", "to the people they were about", "spilling over to others"):
            table.add_column(column, justify="left" if column == "scheme" else "right")

        def cell(figure: dict[str, Any]) -> str:
            if figure["value"] is None:
                return "n/a"
            interval = f" [{figure['low']:.3g}, {figure['high']:.3g}]" if figure["low"] is not None else ""
            return f"{figure['value']:.3g}{interval}"
        for name, figure in amplified["entitlement_days_per_false_record"].items():
            table.add_row(name.replace("_", " "), cell(figure), cell(amplified["spillover_per_false_record"][name]))
        out.print(table)


@app.command()
def validate(
    quick: Annotated[bool, typer.Option(help="Smaller runs (5,000 people, 180 days, 3 seeds): a few minutes on "
                                             "2 cores.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only this check (repeatable).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: "
                                                                     "runs/validation-<timestamp>).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the --out folder if it already holds files.")] = False,
) -> None:
    """Check every documented fact and every mechanism the README claims; exit 1 if any check fails."""
    import datetime as dt

    from .validation import FULL, QUICK, run_checks, write_validation

    size = QUICK if quick else FULL
    target = out_dir or Path("runs") / f"validation-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    _check_free(target, overwrite)
    view = Table(title=f"Validation ({'quick' if quick else 'full'}: {size.seeds} seeds of {size.population:,} "
                       f"people x {size.days} days)", title_justify="left")
    for column in ("check", "measured", "expected", "verdict"):
        view.add_column(column)

    def started(check) -> None:
        err.print(f"checking {check.id}: {check.claim}", highlight=False)

    try:
        verdicts = run_checks(size, only or (), on_check=started)
    except ValueError as error:
        raise fail(str(error)) from None
    for verdict in verdicts:
        passed = verdict.outcome.passed
        view.add_row(verdict.check.id, verdict.outcome.measured, verdict.outcome.expected,
                     "[green]pass[/]" if passed else "[bold red]fail[/]")
    out.print(view)
    try:
        from .outputs import write_whole

        write_whole(target, lambda folder: write_validation(verdicts, size, folder))
    except OSError as error:
        raise fail(f"cannot write the results to {target}: {_os_reason(error)}") from None
    failed = [v.check.id for v in verdicts if not v.outcome.passed]
    out.print(f"{len(verdicts) - len(failed)} of {len(verdicts)} checks pass"
              + (f"; failing: {', '.join(failed)}" if failed else "")
              + f". Results in [bold]{target}[/]: validation.csv, validation.html", highlight=False)
    if failed:
        raise typer.Exit(1)


@app.command()
def schemes() -> None:
    """List the shipped schemes, with whether `score` and `serve` may use them on real people."""
    from .scheme import load_scheme, preset_names
    from .scheme.guards import classify

    view = Table(title="Shipped schemes", title_justify="left")
    for name in ("id", "title", "scale", "update", "real-person use"):
        view.add_column(name)
    for name in preset_names():
        try:
            scheme = load_scheme(name)
        except SchemeError as error:
            view.add_row(name, f"[red]invalid: {error.problems[0].message}[/]", "", "", "")
            continue
        verdict = classify(scheme)
        use = "allowed"
        if not verdict.allowed:
            first = verdict.refusals[0].split(" depends on events")[0].split(" reads ")[0]
            more = len(verdict.refusals) - 1
            use = f"refused: {first} crosses contexts or reads special data" + (f" (+{more} more)" if more else "")
        scale = f"{scheme.scale.min:g}-{scheme.scale.max:g} (base {scheme.scale.base:g})"
        cadence = "daily" if scheme.update_every_days == 1 else f"every {scheme.update_every_days} days"
        view.add_row(scheme.id, scheme.title, scale, cadence, use)
    out.print(view)
    out.print("`socialcredit scheme check ID` says exactly which events cross.", highlight=False)


@scheme_app.command("check")
def scheme_check(file: Annotated[str, typer.Argument(help="Scheme YAML file or preset id.")]) -> None:
    """Validate a scheme and say whether it may be used on real people."""
    from .scheme.guards import classify

    scheme = _load(file)
    verdict = classify(scheme)
    out.print(f"{file}: valid scheme '{scheme.id}' ({len(scheme.events)} event kinds, {len(scheme.features)} "
              f"features, {len(scheme.components)} components, {len(scheme.lists)} lists, "
              f"{len(scheme.entitlements)} entitlements)", highlight=False)
    out.print(verdict.summary(), highlight=False)


@scheme_app.command("schema")
def scheme_schema() -> None:
    """Print the JSON Schema of the scheme format (for editors)."""
    from .scheme.models import Scheme

    print(json.dumps(Scheme.model_json_schema(), indent=2))


@scenario_app.command("schema")
def scenario_schema() -> None:
    """Print the JSON Schema of the scenario format (for editors; --set keys follow it too)."""
    from .scenario.models import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


@scenario_app.command("check")
def scenario_check(file: Annotated[str, typer.Argument(help="Scenario YAML file or preset id.")]) -> None:
    """Validate a scenario and the scheme it names."""
    from .scenario.load import load_scenario

    try:
        chosen, schemes = load_scenario(file)
    except SchemeError as error:
        raise fail(str(error)) from None
    out.print(f"{file}: valid scenario '{chosen.id}' ({chosen.size_and_length}), {_schemes_text(schemes)}",
              highlight=False)


def _schemes_text(schemes) -> str:
    """The scenario's scheme (scheme 'shixin'), or its schemes with their names and operators."""
    if not schemes.qualified:
        return f"scheme '{schemes[0].scheme.id}'"
    return "schemes " + ", ".join(f"{entry.name} ('{entry.scheme.id}', {entry.operator})" for entry in schemes)


def _existing_database(db: str) -> None:
    """Refuse a database that does not exist (an SQLite file not there, a server without our tables),
    rather than create an empty one and report on nothing."""
    from sqlalchemy import inspect

    from .service.db import make_engine

    if db.startswith("sqlite:///") and not Path(db.removeprefix("sqlite:///")).is_file():
        raise fail(f"--db {db}: no database at {db.removeprefix('sqlite:///')}; give the --db of the service "
                   "(`socialcredit serve` and `socialcredit keys create` create one)")
    try:
        engine = make_engine(db)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
    except Exception as error:  # a bad URL or an unreachable server: say which, without a traceback
        raise fail(f"--db {db}: cannot open the database: {error}") from None
    if "audit" not in tables:
        raise fail(f"--db {db}: not a socialcredit database (none of its tables); give the --db of the service")


def _audit_files(db: str, key: Path | None, checkpoints: Path | None) -> tuple[Path | None, Path | None]:
    """The audit key and checkpoint files: as given, else beside the database (`service.auditkey`)."""
    from .service.auditkey import default_paths

    paths = default_paths(db)
    return (key or (paths[0] if paths else None)), (checkpoints or (paths[1] if paths else None))


def _service(db: str, scheme_ref: str, key: Path | None = None, checkpoints: Path | None = None):
    """Open the database (migrating it to the newest schema) and the service for a lawful scheme,
    with its audit key (made on first use) and checkpoint file."""
    from .service.auditkey import AuditKey, key_for
    from .service.core import Service
    from .service.db import make_engine
    from .service.migrate import upgrade

    chosen = _load(scheme_ref)
    _refuse_unless_lawful(chosen, "serve")
    key_path, checkpoints_path = _audit_files(db, key, checkpoints)
    try:
        made = key_path is not None and not key_path.exists()
        audit_key: AuditKey = key_for(db, key_path)
        if made:
            err.print(f"made the audit key {key_path} (public key {key_path}.pub, fingerprint {audit_key.fingerprint}):"
                      " keep it out of the database's reach, and back it up", highlight=False)
    except (OSError, ValueError) as error:
        raise fail(f"--checkpoint-key {key_path}: {error}") from None
    try:
        engine = make_engine(db)
        upgrade(engine, audit_key)
    except Exception as error:  # a bad URL or an unreachable server: say which, without a traceback
        raise fail(f"--db {db}: cannot open the database: {error}") from None
    return Service(engine, chosen, write_engine=make_engine(db, writer=True), audit_key=audit_key,
                   checkpoints=checkpoints_path)


@app.command()
def serve(
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="Scheme preset id or YAML file; it must pass the "
                                                               "real-person checks.")] = "lending",
    db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (one per core serves the most requests).")] = 1,
    checkpoint_key: AuditKeyPath = None,
    checkpoints: CheckpointsPath = None,
) -> None:
    """Serve a scheme live: ingest events, answer entitlement checks with reasons, take appeals."""
    import os
    import socket

    import uvicorn

    try:  # before anything else: a taken port is said first, with its own exit code
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {_os_reason(error)} (is another server running there? "
                   "choose another --port)", EXIT_PORT_IN_USE) from None

    from .service.api import create_app

    service = _service(db, scheme, checkpoint_key, checkpoints)  # checks the scheme and migrates the database once
    drift = service.checkpoints.drift()
    if drift:
        err.print(f"[bold red]warning:[/] {drift}: the log was cut back or rewritten; `socialcredit audit verify` "
                  "says what and where", highlight=False)
    err.print(f"serving scheme '{service.scheme.id}' on http://{host}:{port} (API docs at /docs, the portal at "
              f"/portal), database {db}"
              + (f", {workers} processes" if workers > 1 else ""), highlight=False)
    if workers > 1:
        os.environ["SOCIALCREDIT_DB"], os.environ["SOCIALCREDIT_SCHEME"] = db, scheme
        key_path, checkpoints_path = _audit_files(db, checkpoint_key, checkpoints)
        if key_path is not None and checkpoints_path is not None:
            os.environ["SOCIALCREDIT_AUDIT_KEY"] = str(key_path.resolve())
            os.environ["SOCIALCREDIT_CHECKPOINTS"] = str(checkpoints_path.resolve())
        service.close()  # the workers open their own
        uvicorn.run("socialcredit.service.app:from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level="warning", access_log=False)
    else:  # the app loads the scoring core's kernels in its lifespan, before it serves
        try:
            uvicorn.run(create_app(service), host=host, port=port, log_level="warning", access_log=False)
        finally:
            service.close()  # the reads logged until the end moved into the audit log


def _key_database(db: str):
    """The engine of an existing service database, migrated to the newest schema."""
    from .service.db import make_engine
    from .service.migrate import upgrade

    _existing_database(db)
    engine = make_engine(db)
    try:
        upgrade(engine)
    except Exception as error:  # a server we may not write to: say which, without a traceback
        raise fail(f"--db {db}: cannot open the database: {error}") from None
    return engine


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, operator, reviewer, auditor, supplier (of input lists) "
                                           "or subject.")],
    subject: Annotated[str | None, typer.Option(help="For a subject key: the one subject it may read.")] = None,
    expires_in: Annotated[str | None, typer.Option(
        help="Refuse the key after this long: a whole number of minutes, hours or days (90m, 12h, 30d). "
             "Default: never.")] = None,
    db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db",
) -> None:
    """Create an API key and print it: it is shown this once and stored only as a hash."""
    from .service import audit
    from .service.db import make_engine, make_sessions
    from .service.keys import create_key, expiry_after
    from .service.migrate import upgrade

    try:
        expires_at = None if expires_in is None else expiry_after(expires_in)
    except ValueError as error:
        raise fail(f"--expires-in: {error}") from None
    try:
        engine = make_engine(db)
        upgrade(engine)
    except Exception as error:  # a bad URL or an unreachable server: say which, without a traceback
        raise fail(f"--db {db}: cannot open the database: {error}") from None
    try:
        with make_sessions(engine).begin() as session:
            key = create_key(session, role, subject, expires_at)
            detail = {"role": role, "key": key.split("_")[1]}
            if expires_at is not None:
                detail["expires"] = expires_at.isoformat()
            audit.append(session, "cli", "key_created", subject, detail)
    except ValueError as error:
        raise fail(f"--role/--subject: {error}") from None
    print(key)


def _public_key(text: str):
    """An auditor's copy of the server's public key: a file (PEM, or 64 hex digits) or the hex itself."""
    from .service.auditkey import AuditKey

    try:
        return AuditKey.load(Path(text)) if Path(text).is_file() else AuditKey.from_public(text)
    except (OSError, ValueError) as error:
        raise fail(f"--public-key {text}: not an Ed25519 public key ({error})") from None


def _when(moment) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@keys_app.command("list")
def keys_list(db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db") -> None:
    """List the API keys: id, role, subject, when each was created and last used (to the minute), its
    expiry and whether it was revoked (times in UTC). Never a secret: none is stored."""
    from .service.db import make_sessions, utcnow
    from .service.keys import listing

    with make_sessions(_key_database(db))() as session:
        keys = listing(session)
    now = utcnow()
    table = Table("id", "role", "subject", "created", "last used", "expires", "status", box=None, pad_edge=False,
                  caption="times in UTC; last used to the minute", caption_justify="left")
    for key in keys:
        status = (f"revoked {_when(key['revoked'])}" if key["revoked"] is not None
                  else "expired" if key["expires"] is not None and key["expires"] <= now else "active")
        table.add_row(key["id"], key["role"], key["subject"] or "", _when(key["created"]), _when(key["last_used"]),
                      _when(key["expires"]) or "never", status)
    out.print(table if keys else "no API keys; create one with `socialcredit keys create --role ROLE`", highlight=False)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id (as `keys list` shows it), or the whole key.")],
    db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db",
) -> None:
    """Revoke an API key: every server on this database refuses it (401) from its next request on."""
    from .service import audit
    from .service.db import make_sessions
    from .service.keys import key_id_of, revoke

    key_id = key_id_of(key)
    with make_sessions(_key_database(db)).begin() as session:
        try:
            found, revoked_now = revoke(session, key_id)
        except LookupError as error:
            raise fail(f"KEY: {error}") from None
        if revoked_now:
            audit.append(session, "cli", "key_revoked", found.subject, {"role": found.role, "key": key_id})
    out.print(f"revoked key {key_id} ({found.role}{', subject ' + found.subject if found.subject else ''})"
              if revoked_now else f"key {key_id} was revoked already, at {_when(found.revoked_at)} UTC",
              highlight=False)


@audit_app.command("verify")
def audit_verify(
    db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db",
    checkpoint_key: AuditKeyPath = None,
    checkpoints: CheckpointsPath = None,
    kept: Annotated[list[Path] | None, typer.Option("--checkpoint", help="A checkpoint you kept (from GET "
                                                    "/v1/audit/checkpoint or a checkpoint file); repeatable.")] = None,
    public_key: Annotated[str | None, typer.Option(help="Check signatures with this public key (a .pub file or "
                                                        "hex) rather than the key file; seals are then not "
                                                        "checked (they need the private key).")] = None,
) -> None:
    """Check the audit log: its hash chain, each entry's seal, every stored row against the entry
    that wrote it, and the log against every signed checkpoint (the server's file and those you
    kept). Says what is wrong where; exit code 1 if anything is."""
    from .service import audit
    from .service.auditkey import AuditKey
    from .service.checkpoints import read_file, read_kept
    from .service.db import make_engine, make_sessions
    from .service.readlog import staged_rows

    _existing_database(db)
    key_path, checkpoints_path = _audit_files(db, checkpoint_key, checkpoints)
    key = None
    if public_key is not None:
        key = _public_key(public_key)
    elif key_path is not None and key_path.is_file():
        try:
            key = AuditKey.load(key_path)
        except (OSError, ValueError) as error:
            raise fail(f"--checkpoint-key {key_path}: {error}") from None
    anchors, problems = read_file(checkpoints_path) if checkpoints_path is not None else ([], [])
    signed = [checkpoint for checkpoint, _ in anchors]
    for path in kept or []:
        try:
            signed += read_kept(path)
        except (OSError, ValueError) as error:
            raise fail(f"--checkpoint {path}: {error}") from None
    if key is None and signed:
        key = AuditKey.from_public(signed[0].key)  # the key the checkpoints name: their signatures agree at least
        err.print(f"no audit key at {key_path}: signatures checked with the key the checkpoints name "
                  f"({key.fingerprint}); give --public-key to check them against the server's", highlight=False)
    engine = make_engine(db)
    staged = staged_rows(engine)  # before the log: a read moved meanwhile is then in the log
    with make_sessions(engine)() as session:
        verdict = audit.verify(session, key, signed, check_seals=key is not None, staged=staged)
    engine.dispose()
    problems += verdict.problems
    if not problems:
        out.print(f"audit log intact: {'; '.join(verdict.checked)}", highlight=False)
        return
    for problem in problems[:50]:
        err.print(problem, highlight=False, soft_wrap=True)
    if len(problems) > 50:
        err.print(f"... and {len(problems) - 50} more", highlight=False)
    raise fail(f"audit log TAMPERED: {len(problems)} problem{'s' if len(problems) != 1 else ''} in "
               f"{verdict.entries} entries", 1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db",
    checkpoint_key: AuditKeyPath = None,
    checkpoints: CheckpointsPath = None,
) -> None:
    """Sign a checkpoint of the audit log now, append it to the checkpoint file and print it (as
    GET /v1/audit/checkpoint does)."""
    from .service.auditkey import AuditKey
    from .service.checkpoints import CheckpointLog
    from .service.db import make_engine
    from .service.errors import ServiceError
    from .service.readlog import Staged
    from .service.store import Store

    _existing_database(db)
    key_path, checkpoints_path = _audit_files(db, checkpoint_key, checkpoints)
    if key_path is None or not key_path.is_file():
        raise fail(f"--checkpoint-key {key_path}: no audit key there (`socialcredit serve` makes it)")
    key = AuditKey.load(key_path)
    if not key.can_sign:
        raise fail(f"--checkpoint-key {key_path}: a public key only; signing needs the private key")
    engine = make_engine(db)
    store = Store(engine, audit_key=key)
    try:  # the read log's staged head too: the checkpoint anchors it
        checkpoint = CheckpointLog(store, key, checkpoints_path, staged_head=Staged(store).head).make()
    except ServiceError as error:
        raise fail(error.message, 1) from None
    finally:
        store.close()
        engine.dispose()
    print(json.dumps(checkpoint.as_json(), indent=1))


@audit_app.command("check")
def audit_check(
    kept: Annotated[Path, typer.Argument(help="A checkpoint you kept (GET /v1/audit/checkpoint).")],
    later: Annotated[Path, typer.Argument(help="The server's answer to it (POST /v1/audit/consistency).")],
    public_key: Annotated[str | None, typer.Option(help="The server's public key (a .pub file or hex). Default: "
                                                        "the key the kept checkpoint names.")] = None,
) -> None:
    """Check, without the database, that the log only grew since a checkpoint you kept: both
    checkpoints are signed by the server's key, and the consistency proof (RFC 6962) holds."""
    from .service.auditkey import AuditKey
    from .service.checkpoints import check_growth, read_kept

    try:
        (first, *_) = read_kept(kept)
        answer = json.loads(later.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise fail(f"{error}") from None
    key = _public_key(public_key) if public_key is not None else AuditKey.from_public(first.key)
    problems = check_growth(first, answer, key)
    if problems:
        for problem in problems:
            err.print(problem, highlight=False, soft_wrap=True)
        raise fail(f"{later}: the log did NOT only grow from {kept}", 1)
    size = answer["checkpoint"]["size"]
    out.print(f"the log only grew: {first.size} entries when {kept} was signed ({first.at}), {size} at "
              f"{answer['checkpoint']['at']}; both signed by the audit key {key.fingerprint}", highlight=False)


@app.command()
def purge(
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="The scheme served (its retention_days).")] = "lending",
    db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db",
    checkpoint_key: AuditKeyPath = None,
    checkpoints: CheckpointsPath = None,
) -> None:
    """Delete what is older than the scheme's retention_days from every table that holds personal
    data (events, score history, ties, decided appeals), and events dated in the future; audit
    entries stay (they hold no personal data)."""
    from .service.core import Actor

    _existing_database(db)
    service = _service(db, scheme, checkpoint_key, checkpoints)
    try:
        deleted = service.purge(Actor("cli", "admin"))
        service.checkpoint()
    finally:
        service.close()
    counts = ", ".join(f"{count} {kind}" for kind, count in deleted.items())
    out.print(f"deleted {counts}: " + (f"older than {service.scheme.retention_days:g} days, or dated in the future"
                                       if service.scheme.retention_days else
                                       "dated in the future (this scheme keeps the rest for ever: no retention_days)"),
              highlight=False)


@app.command()
def erase(
    subject: Annotated[str, typer.Argument(help="The subject whose data is erased.")],
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="The scheme served (with a network term, the "
                                                               "subject's neighbours are rescored).")] = "lending",
    db: Annotated[str, typer.Option(help=DB_HELP)] = "sqlite:///socialcredit.db",
    vacuum: Annotated[bool, typer.Option(help="SQLite: then rebuild the file without its free pages.")] = False,
    checkpoint_key: AuditKeyPath = None,
    checkpoints: CheckpointsPath = None,
) -> None:
    """Erase a subject (GDPR Art. 17): their events, score history, ties, appeals, API keys and
    pseudonym, from every table; the erasure is recorded in the audit log, which still verifies."""
    from .service import erasure
    from .service.core import Actor, ServiceError

    _existing_database(db)
    service = _service(db, scheme, checkpoint_key, checkpoints)
    try:
        done = service.erase(subject, Actor("cli", "admin"))
        if vacuum:
            erasure.vacuum(service.store)
        service.checkpoint()
    except ServiceError as error:
        raise fail(error.message) from None
    finally:
        service.close()
    counts = ", ".join(f"{count} {kind}" for kind, count in done["erased"].items())
    out.print(f"erased '{subject}': {counts}; recorded as audit entry {done['entry']}", highlight=False)


@app.command()
def dashboard(
    runs_folder: Annotated[Path, typer.Argument(help="The folder of runs and comparisons to explore (made "
                                                     "if it is the default and missing).")] = Path("runs"),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (default: a free one, printed).", min=0,
                                      max=65535)] = 0,
) -> None:
    """Explore runs in the browser: plots, one person's story, comparisons, and new runs (127.0.0.1 only)."""
    from .dashboard.server import LOOPBACK, listening_socket, serve

    if runs_folder.exists() and not runs_folder.is_dir():
        raise fail(f"{runs_folder} is a file: give the folder your runs are in")
    if not runs_folder.exists():
        if runs_folder != Path("runs"):
            raise fail(f"no folder {runs_folder}: give the folder your runs are in (`socialcredit simulate` "
                       "writes to runs/ by default)")
        runs_folder.mkdir()
    try:
        sock = listening_socket(port)
    except OSError as error:
        raise fail(f"cannot listen on {LOOPBACK}:{port}: {_os_reason(error)} (is another server running there? "
                   "choose another --port, or leave it out for a free one)", EXIT_PORT_IN_USE) from None
    out.print(f"dashboard of {runs_folder} on http://{LOOPBACK}:{sock.getsockname()[1]} (Ctrl-C stops it)",
              highlight=False)
    try:
        serve(runs_folder.resolve(), sock)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


# -- sensitivity and calibration (explore/): many variants of one scenario, as compare's Dask tasks --

def _explore_setup(scenario: str, params: list[str] | None, params_file: Path | None, population: int | None,
                   days: int | None, sets: list[str] | None):
    """The parameters to vary (checked against the scenario) and the fixed overrides."""
    from .explore.params import ExploreError, check_params, parse_param, read_params_file

    fixed = _parse_sets(sets or [])
    fixed |= {key: value for key, value in (("population.size", population), ("run.days", days))
                                if value is not None}
    try:
        chosen = [parse_param(text) for text in params or []]
        if params_file is not None:
            chosen += read_params_file(params_file)
        if not chosen:
            raise ExploreError("no parameters to vary; fix: give --param NAME=LOW:HIGH (repeatable) or --params FILE")
        chosen = check_params(scenario, chosen, fixed)
    except ExploreError as error:
        raise fail(str(error)) from None
    return chosen, fixed


def _dask_client(scheduler: str | None, workers: int | None, sequential: bool):
    """A Dask client for `compare`, `sensitivity` and `calibrate` (an existing scheduler, else a local
    cluster), or none with --sequential; a scheduler that does not answer is refused with the fix."""
    import logging
    import os

    if sequential:
        return None, None
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S), None
        except Exception as error:  # no answer, or something that is not a Dask scheduler answering
            reason = "no answer" if isinstance(error, OSError | TimeoutError) else \
                f"what answered is not a Dask scheduler ({type(error).__name__})"
            raise fail(f"--scheduler {scheduler}: could not connect within {SCHEDULER_TIMEOUT_S} s: {reason}\n"
                       "    fix: give the address of a running Dask scheduler (tcp://HOST:8786, started with "
                       "`dask scheduler`), or leave --scheduler out to run on this machine's cores") from None
    # worker processes print their own errors: at close, a worker's heartbeat can find the scheduler
    # gone first and log a traceback (a race in shutting down, not a failed run: a task's error
    # reaches the client and is answered there)
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=None, host="127.0.0.1",
                           silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


ParamOption = Annotated[list[str] | None, typer.Option("--param", help="A scenario key to vary and its range: "
                                                                       "NAME=LOW:HIGH (repeatable).")]
ParamsFile = Annotated[Path | None, typer.Option("--params", help="A YAML file of parameters: "
                                                                  "`name: [low, high]` per line.")]
SchedulerOption = Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler "
                                                         "(tcp://HOST:PORT); default: a local cluster.")]
WorkersOption = Annotated[int | None, typer.Option(help="Workers of the local cluster (default: all cores).")]
SequentialOption = Annotated[bool, typer.Option(help="Run here, one after another, without Dask.")]
FixedSets = Annotated[list[str] | None, typer.Option("--set", help="Fix a scenario key in every run: key.path=value "
                                                                   "(repeatable).")]


@app.command()
def sensitivity(
    scenario: Annotated[str, typer.Argument(help="Scenario preset id or YAML file.")],
    params: ParamOption = None,
    params_file: ParamsFile = None,
    outputs: Annotated[list[str] | None, typer.Option("--output", help="A figure: a metrics column (its last "
                                                                        "reported day, or KEY@DAY) or a key of "
                                                                        "summary.json, dotted (repeatable).")] = None,
    method: Annotated[str, typer.Option(help="sobol (first and total order, N x (D+2) points) or morris "
                                             "(screening, N x (D+1) points).")] = "sobol",
    samples: Annotated[int, typer.Option(help="N: base samples (Sobol: a power of 2; Morris: trajectories).",
                                         min=2)] = 64,
    seeds: Annotated[int, typer.Option(help="Runs per point, at seeds 1..K, averaged.", min=1)] = 1,
    population: Annotated[int | None, typer.Option(help="Number of people in every run.", min=1)] = None,
    days: Annotated[int | None, typer.Option(help="Days every run simulates.", min=1)] = None,
    sets: FixedSets = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: "
                                                                     "runs/sensitivity-<timestamp>).")] = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    sequential: SequentialOption = False,
    overwrite: Annotated[bool, typer.Option(help="Replace the --out folder if it already holds files.")] = False,
) -> None:
    """Which parameters decide a run's figures: Sobol indices or Morris screening (SALib), on Dask."""
    import datetime as dt
    import os

    from .explore import sensitivity as sens
    from .explore.params import ExploreError
    from .explore.points import parse_figure
    from .outputs import write_whole
    from .scenario.load import load_scenario

    if method not in sens.METHODS:
        raise fail(f"--method {method!r}: expected one of {', '.join(sens.METHODS)}")
    if method == "sobol" and samples & (samples - 1):
        raise fail(f"--samples {samples}: Sobol sampling needs a power of 2 (e.g. {1 << (samples.bit_length() - 1)} "
                   f"or {1 << samples.bit_length()})")
    try:
        figures = [parse_figure(text) for text in outputs or []]
    except ExploreError as error:
        raise fail(str(error)) from None
    if not figures:
        raise fail("no figure to explain; fix: give --output KEY (repeatable), e.g. --output listed.dishonest_debtor")
    chosen, fixed = _explore_setup(scenario, params, params_file, population, days, sets)
    run_days = load_scenario(scenario, fixed)[0].run
    for figure in figures:
        if figure.day is not None and figure.day >= run_days.days:
            last = run_days.start + dt.timedelta(days=run_days.days - 1)
            raise fail(f"--output {figure.label}: day {figure.day} is after the run's last reported day; the days are "
                       f"0 to {run_days.days - 1} ({run_days.start} to {last}); fix: a day in that range, or run "
                       "longer (--days)")
    target = out_dir or Path("runs") / f"sensitivity-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    _check_free(target, overwrite)
    runs = sens.runs_needed(method, len(chosen), samples, seeds)
    client, cluster = _dask_client(scheduler, workers, sequential)
    where = f" on {scheduler}" if scheduler else " on a local Dask cluster" if client else " here"
    err.print(f"{method}: {runs // seeds} points x {seeds} seeds = {runs} runs{where}", highlight=False)
    started = time.monotonic()
    try:
        with _progress("runs") as progress:
            task = progress.add_task("runs", total=runs)
            result = sens.run_sensitivity(scenario, fixed, chosen, figures, method, samples, list(range(1, seeds + 1)),
                                          client, on_done=lambda done, total: progress.update(task, completed=done))
    except ExploreError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        raise fail("interrupted: nothing was written", EXIT_INTERRUPTED) from None
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    minutes = (time.monotonic() - started) / 60
    workers_used = "local" if not client else "Dask"
    cost = (f"cost: {runs} runs ({runs // seeds} points x {seeds} seeds) in {minutes:.1f} minutes "
            f"({workers_used}, {os.cpu_count()} cores here)")
    try:
        write_whole(target, lambda folder: sens.write(result, folder, cost))
    except OSError as error:
        raise fail(f"cannot write the results to {target}: {_os_reason(error)}") from None
    for line in result.sentences:
        out.print(line, highlight=False)
    out.print(cost, highlight=False)
    out.print(f"results in [bold]{target}[/]: indices.csv, sensitivity.png, sensitivity.txt, points.csv",
              highlight=False)


@app.command()
def calibrate(
    scenario: Annotated[str, typer.Argument(help="Scenario preset id or YAML file.")],
    targets_file: Annotated[Path, typer.Option("--targets", help="YAML file of observed figures: figure, date or "
                                                                 "day, observed, uncertainty, source.")],
    params: ParamOption = None,
    params_file: ParamsFile = None,
    trials: Annotated[int, typer.Option(help="Complete trials the study should hold (those already in --study "
                                             "count).", min=1)] = 50,
    seeds: Annotated[int, typer.Option(help="Runs per trial, at seeds 1..K, averaged.", min=1)] = 1,
    study_file: Annotated[Path | None, typer.Option("--study", help="SQLite file of the Optuna study (default: "
                                                                    "OUT/study.sqlite); run again to resume.")] = None,
    population: Annotated[int | None, typer.Option(help="Number of people in every run.", min=1)] = None,
    days: Annotated[int | None, typer.Option(help="Days every run simulates.", min=1)] = None,
    sets: FixedSets = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: "
                                                                     "runs/calibrate-<timestamp>).")] = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    sequential: SequentialOption = False,
    overwrite: Annotated[bool, typer.Option(help="Replace the --out folder's results if it already holds "
                                                 "files.")] = False,
) -> None:
    """Fit scenario parameters to observed figures (Optuna, a study in SQLite that resumes), on Dask."""
    import datetime as dt
    import os

    from .explore import calibrate as cal
    from .explore.params import ExploreError
    from .explore.targets import read_targets
    from .outputs import write_whole
    from .runner.run import run_scenario
    from .scenario.load import load_scenario

    chosen, fixed = _explore_setup(scenario, params, params_file, population, days, sets)
    base, _ = load_scenario(scenario, fixed)
    try:
        targets = read_targets(targets_file, base.run.start)
        for target in targets:
            if target.figure.day is not None and target.figure.day >= base.run.days:
                raise ExploreError(f"{target.where}: day {target.figure.day} is after the run's last reported day "
                                   f"({base.run.days - 1}, {base.run.start + dt.timedelta(days=base.run.days - 1)}); "
                                   "fix: run longer (--days) or drop the target")
    except ExploreError as error:
        raise fail(str(error)) from None
    target = out_dir or Path("runs") / f"calibrate-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    study_path = study_file or target / "study.sqlite"
    if not (study_file is None and study_path.exists()):  # else: an earlier calibration's folder, resumed
        _check_free(target, overwrite)
    study_path.parent.mkdir(parents=True, exist_ok=True)
    client, cluster = _dask_client(scheduler, workers, sequential)
    batch = len(client.scheduler_info()["workers"]) if client is not None else 1
    where = f" on {scheduler}" if scheduler else " on a local Dask cluster" if client else " here"
    err.print(f"calibrating {len(chosen)} parameters to {len(targets)} targets: up to {trials} trials x {seeds} "
              f"seeds{where}, study in {study_path}", highlight=False)
    started = time.monotonic()
    try:
        with _progress("trials") as progress:
            task = progress.add_task("trials", total=trials)
            found = cal.run_calibration(scenario, fixed, chosen, targets, trials, list(range(1, seeds + 1)),
                                        study_path, batch, client,
                                        on_done=lambda done, total: progress.update(task, completed=done))
    except ExploreError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        raise fail(f"interrupted: the trials done are in {study_path}; run the same command again to go on",
                   EXIT_INTERRUPTED) from None
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    if not found.complete:
        raise fail("no trial gave every target a value; fix: check that the targets' figures are defined in "
                   "these runs", 1)
    minutes = (time.monotonic() - started) / 60
    best = found.best()
    runs_here = sum(1 for _ in found.complete) * seeds
    cost = (f"cost: {len(found.complete)} trials x {seeds} seeds = {runs_here} runs; this session took "
            f"{minutes:.1f} minutes ({'Dask' if client else 'here'}, {os.cpu_count()} cores)")
    scenario_data = cal.best_scenario(cal.raw_scenario(scenario), fixed, best)
    best_scenario, best_schemes = load_scenario(scenario, {**fixed, **best, "run.seed": 1})
    fitted = run_scenario(best_scenario, best_schemes).metrics
    spread = found.spread()
    checked = found.target_table()
    header = (f"Calibrated by `socialcredit calibrate` to {targets_file} ({len(targets)} targets):\n"
              f"loss {found.study.best_value:.4g} (mean squared z over targets), best of {len(found.complete)} "
              f"trials at seeds {', '.join(map(str, found.seeds))}.\n"
              + "".join(f"{name} = {value:.6g}\n" for name, value in best.items()))

    def write(folder: Path) -> None:
        cal.write_scenario(scenario_data, folder / "best.scenario.yaml", header)
        found.table().to_csv(folder / "trials.csv", index=False)
        spread.to_csv(folder / "spread.csv", index=False)
        checked.to_csv(folder / "targets.csv", index=False)
        cal.plot_fit(found, fitted, folder / "fit.png")
        (folder / "cost.txt").write_text(cost + "\n", encoding="utf-8")

    try:
        if study_path.parent.resolve() == target.resolve():  # the study lives in the folder: write beside it
            write(target)
        else:
            write_whole(target, write)
    except OSError as error:
        raise fail(f"cannot write the results to {target}: {_os_reason(error)}") from None
    view = Table(title=f"Best of {len(found.complete)} trials (loss {found.study.best_value:.3g}), and the spread "
                       f"among the best {int(spread['trials'].iloc[0])}", title_justify="left")
    for column in ("parameter", "best", "min", "median", "max"):
        view.add_column(column, justify="left" if column == "parameter" else "right")
    for row in spread.itertuples():
        view.add_row(row.parameter, f"{row.best:.4g}", f"{row.min:.4g}", f"{row.median:.4g}", f"{row.max:.4g}")
    out.print(view)
    met = Table(title=f"Targets against the best trial (mean of {seeds} seeds): met within {cal.MET_WITHIN:g} "
                      "uncertainties", title_justify="left")
    for column in ("figure", "when", "observed", "simulated", "z", "met"):
        met.add_column(column, justify="left" if column in ("figure", "when", "met") else "right")
    for row in checked.itertuples():
        met.add_row(row.figure, row.when, f"{row.observed:.4g}",
                    f"{row.simulated:.4g}", f"{row.z:+.2f}", "yes" if row.met else "[bold]NO[/]")
    out.print(met)
    out.print(f"{int(checked['met'].sum())} of {len(checked)} targets met", highlight=False)
    out.print(cost, highlight=False)
    out.print(f"results in [bold]{target}[/]: best.scenario.yaml, trials.csv, spread.csv, targets.csv, fit.png, "
              "cost.txt"
              + (", study.sqlite" if study_file is None else ""), highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""``structest sweep coverage|sbc|priors|scenarios``: sweeps of fits as Dask tasks.

Options are checked when parsed; the model, the priors, the input files and ``--out``
(a new or empty folder, or the folder of the same sweep to resume) before any work.
Each rep is written to ``--out`` as it finishes; a re-run of the same command skips the
reps found there. Progress lines go to ``structest.progress.sweep`` (stderr; hidden by
``structest -q``), a progress bar on a terminal; the summary to stdout. Exit status 1
when some reps did not finish (their workers died beyond the retries): run the same
command again to do them.
"""

from __future__ import annotations

import itertools
import math
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from ..errors import OptionError
from ..structural.sampling import MAX_CHAINS, MAX_DRAWS, MAX_SEED
from ..structural.spec import DEFAULT_MODEL
from .runner import MAX_REPS, MAX_WORKERS, check_scheduler
from .store import MANIFEST, REPS
from .tasks import WORLDS

#: worlds of coverage and SBC reps (an Enum: choices work with every typer)
World = Enum("World", {k: k for k in WORLDS}, type=str)

_INPUT = {"exists": True, "dir_okay": False, "readable": True}

sweep_app = typer.Typer(
    help="Sweeps of fits run as Dask tasks (coverage, SBC, prior grids, scenario batches); "
    "resumable: a re-run skips the reps already in --out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _scheduler_option(value: str) -> str:
    return check_scheduler(value)


# options shared by the commands (defined once; typer reads them from the signatures)
OUT = typer.Option(
    ...,
    "--out",
    help="Sweep folder: one NetCDF file per rep and manifest.json; a new or empty folder, "
    "or this sweep's folder to resume it.",
)
SCHEDULER = typer.Option(
    "local",
    "--scheduler",
    callback=_scheduler_option,
    help="'local' (a Dask LocalCluster of processes on this machine) or a Dask scheduler "
    "address [tcp://]HOST:PORT to scale out.",
)
WORKERS = typer.Option(
    None,
    "--workers",
    min=1,
    max=MAX_WORKERS,
    help="Local worker processes (default: one per core, at most one per rep); with an "
    "address: wait for this many workers.",
)
RETRIES = typer.Option(
    2, "--retries", min=0, max=100, help="Re-runs of a task that raised an unexpected error."
)
MODEL = typer.Option(DEFAULT_MODEL, "--model", help="Bundled model name or path to a TOML file.")
CHAINS = typer.Option(
    2, "--chains", min=1, max=MAX_CHAINS, help="NUTS chains per fit (run one after the other)."
)
DRAWS = typer.Option(300, "--draws", min=1, max=MAX_DRAWS, help="Draws kept per chain (>= 1).")
TUNE = typer.Option(300, "--tune", min=0, max=MAX_DRAWS, help="Warm-up iterations per chain.")
SEED = typer.Option(
    0, "--seed", min=0, max=MAX_SEED, help="Seed of the sweep (each rep's seeds derive from it)."
)
REPS_OPT = typer.Option(20, "--reps", min=1, max=MAX_REPS, help="Number of reps (worlds), >= 1.")
WORLD = typer.Option(
    World.small,
    "--world",
    help="Synthetic world of each rep: tiny (4 x 3 x 2 years, ~70 obs), small (8 x 6 x 2, "
    "~670 obs), full (14 x 14 x 4).",
)
LEVEL = typer.Option(0.9, "--level", help="Probability of the central intervals, in (0, 1).")
PROGRESS = typer.Option(
    True, "--progress/--no-progress", help="Progress bar (a terminal) or progress lines."
)


def _level(value: float) -> float:
    if not (isinstance(value, float) and math.isfinite(value) and 0.0 < value < 1.0):
        raise OptionError(f"--level must lie in (0, 1), got {value!r}")
    return value


def _check_out(out: Path, inputs: list[tuple[str, Path | None]]) -> Path:
    from .._io import check_output

    return check_output(out, inputs=inputs, kind="dir", contents={MANIFEST: "", REPS: "dir"})


def _finish(result: Any) -> None:
    """Print the summary; exit 1 when reps were lost."""
    typer.echo(result.format())
    if result.lost:
        typer.echo(
            f"error: {len(result.lost)} rep(s) did not finish; run the same command again to "
            "do them (finished reps are kept)",
            err=True,
        )
        raise typer.Exit(1)


def _run(kind: str, out: Path, scheduler: str, workers: int | None, retries: int,
         progress: bool, **options: Any) -> None:  # fmt: skip
    from .runner import plan, run_plan

    p = plan(kind, **options)  # every check before any work (model, priors, options)
    _finish(
        run_plan(p, out, scheduler=scheduler, workers=workers, retries=retries, progress=progress)
    )


@sweep_app.command("coverage")
def coverage_cmd(
    out: Path = OUT,
    reps: int = REPS_OPT,
    model: str = MODEL,
    world: World = WORLD,
    nu: float = typer.Option(
        0.0,
        "--nu",
        min=0.0,
        help="Student-t shocks with nu degrees of freedom (0: the model's own).",
    ),
    level: float = LEVEL,
    chains: int = CHAINS,
    draws: int = DRAWS,
    tune: int = TUNE,
    seed: int = SEED,
    scheduler: str = SCHEDULER,
    workers: int | None = WORKERS,
    retries: int = RETRIES,
    progress: bool = PROGRESS,
) -> None:
    """Coverage of posterior intervals over worlds drawn from the model's own process."""
    from ..structural.cli import load_model_option, model_file

    if not math.isfinite(nu):
        raise OptionError(f"--nu must be finite, got {nu!r}")
    spec = load_model_option(model)
    out = _check_out(out, [("--model", model_file(model))])
    _run("coverage", out, scheduler, workers, retries, progress, reps=reps, model=spec,
         world=world.value, nu=nu, level=_level(level), chains=chains, draws=draws,
         tune=tune, seed=seed)  # fmt: skip


@sweep_app.command("sbc")
def sbc_cmd(
    out: Path = OUT,
    reps: int = REPS_OPT,
    model: str = MODEL,
    world: World = WORLD,
    rank_draws: int = typer.Option(
        99,
        "--rank-draws",
        min=1,
        max=MAX_DRAWS,
        help="Posterior draws (evenly thinned) the truth is ranked among; <= chains x draws.",
    ),
    chains: int = CHAINS,
    draws: int = DRAWS,
    tune: int = TUNE,
    seed: int = SEED,
    scheduler: str = SCHEDULER,
    workers: int | None = WORKERS,
    retries: int = RETRIES,
    progress: bool = PROGRESS,
) -> None:
    """Simulation-based calibration: ranks of prior-drawn truths, uniformity tests."""
    from ..structural.cli import load_model_option, model_file

    spec = load_model_option(model)
    out = _check_out(out, [("--model", model_file(model))])
    _run("sbc", out, scheduler, workers, retries, progress, reps=reps, model=spec,
         world=world.value, rank_draws=rank_draws, chains=chains, draws=draws, tune=tune,
         seed=seed)  # fmt: skip


def parse_prior(text: str) -> tuple[str, tuple[Any, ...]]:
    """``"eps=lognormal:2.3:0.5"`` -> ``("eps", ("lognormal", 2.3, 0.5))``.

    Raises
    ------
    OptionError
        Not ``NAME=FAMILY:ARG[:ARG...]`` with finite numbers.
    """
    form = "NAME=FAMILY:ARG[:ARG...], e.g. eps=lognormal:2.3:0.5"
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise OptionError(f"--prior {text!r}: expected {form}")
    family, *args = [x.strip() for x in rest.split(":")]
    if not family or not args:
        raise OptionError(f"--prior {text!r}: expected {form}")
    values = []
    for a in args:
        try:
            v = float(a)
        except ValueError:
            raise OptionError(f"--prior {text!r}: {a!r} is not a number ({form})") from None
        if not math.isfinite(v):
            raise OptionError(f"--prior {text!r}: {a!r} is not a finite number")
        values.append(v)
    return name, (family, *values)


def prior_grid(texts: list[str], baseline: bool = True) -> list[dict[str, Any]]:
    """The grid of ``--prior`` options: every combination of one value per name.

    Raises
    ------
    OptionError
        A malformed ``--prior``, one given twice, or no point at all.
    """
    by_name: dict[str, list[tuple[Any, ...]]] = {}
    for t in texts:
        name, prior = parse_prior(t)
        if prior in by_name.setdefault(name, []):
            raise OptionError(f"--prior {t!r} is given twice")
        by_name[name].append(prior)
    names = list(by_name)
    grid = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*by_name.values())]
    grid = [g for g in grid if g]
    if baseline:
        grid = [{}, *grid]
    if not grid:
        raise OptionError(
            "sweep priors: give at least one --prior NAME=FAMILY:ARGS (or --baseline)"
        )
    return grid


@sweep_app.command("priors")
def priors_cmd(
    out: Path = OUT,
    prior: list[str] = typer.Option(
        [],
        "--prior",
        help="A prior to try, NAME=FAMILY:ARG[:ARG...] (e.g. eps=lognormal:2.3:0.5); "
        "repeatable: the grid is every combination of one value per name.",
    ),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="Also fit with the model's own priors."
    ),
    data: Path | None = typer.Option(
        None, "--data", **_INPUT, help="Panel CSV/parquet (default: the bundled panel)."
    ),
    model: str = MODEL,
    level: float = LEVEL,
    chains: int = CHAINS,
    draws: int = DRAWS,
    tune: int = TUNE,
    seed: int = SEED,
    scheduler: str = SCHEDULER,
    workers: int | None = WORKERS,
    retries: int = RETRIES,
    progress: bool = PROGRESS,
) -> None:
    """Prior sensitivity: one fit of the panel per point of a grid of prior overrides."""
    from .._io import check_input_file
    from ..structural.cli import load_model_option, load_panel_option, model_file

    grid = prior_grid(prior, baseline)
    spec = load_model_option(model)
    if data is not None:
        check_input_file(data, "--data")
    out = _check_out(out, [("--data", data), ("--model", model_file(model))])
    panel = load_panel_option(data)
    _run("priors", out, scheduler, workers, retries, progress, model=spec, grid=grid,
         panel=panel, panel_name=str(data.absolute()) if data is not None else None,
         level=_level(level), chains=chains, draws=draws, tune=tune, seed=seed)  # fmt: skip


@sweep_app.command("scenarios")
def scenarios_cmd(
    out: Path = OUT,
    fit: Path = typer.Option(
        ..., "--fit", **_INPUT, help="A fit saved by `structest fit --out` (NetCDF)."
    ),
    scenario: list[Path] = typer.Option(
        [],
        "--scenario",
        **_INPUT,
        help="Scenario file (TOML/JSON, as `structest counterfactual --scenario`); "
        "repeatable, one rep each, named by the file name.",
    ),
    level: float = LEVEL,
    thin: int = typer.Option(1, "--thin", min=1, help="Keep every n-th posterior draw (>= 1)."),
    seed: int = SEED,
    scheduler: str = SCHEDULER,
    workers: int | None = WORKERS,
    retries: int = RETRIES,
    progress: bool = PROGRESS,
) -> None:
    """Scenario batch: counterfactuals of a saved fit, one rep per scenario file."""
    from .._io import check_netcdf_input
    from ..counterfactuals.cli import read_scenario

    if not scenario:
        raise OptionError("sweep scenarios: give at least one --scenario FILE")
    stems = [p.stem for p in scenario]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise OptionError(
            f"--scenario: scenarios are named by their file name and {twice} is given twice; "
            "rename one of the files"
        )
    check_netcdf_input(fit, "--fit")
    scenarios = {p.stem: read_scenario(p) for p in scenario}
    out = _check_out(out, [("--fit", fit), *(("--scenario", p) for p in scenario)])
    _run("scenarios", out, scheduler, workers, retries, progress, fit=fit, scenarios=scenarios,
         level=_level(level), thin=thin, seed=seed)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command group to the ``structest`` CLI."""
    app.add_typer(sweep_app, name="sweep")

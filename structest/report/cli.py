"""``structest report``: render the HTML report of a fit (fits the default model if needed).

The options, the input files and the output folder are checked before any work; a failed
report leaves no empty folders behind. Progress lines go to the ``structest.progress.report``
logger (stderr; hidden by ``structest -q``); the verdict and the report's path to stdout.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from .._io import (
    check_input_file,
    check_netcdf_input,
    check_output,
    cleanup_new_dirs,
    reading,
    writing,
)
from ..errors import OptionError
from ..structural.cli import (
    BACKEND_OPTION,
    COMPRESS_OPTION,
    FLOAT32_OPTION,
    MAX_SEED,
    PROGRESS_OPTION,
    STORAGE_DEFAULTS,
    TARGET_ACCEPT_OPTION,
    Backend,
    bundled_panel_file,
    describe_storage,
    file_size,
    load_model_option,
    load_panel_option,
    model_file,
    save_options,
)
from ..structural.spec import DEFAULT_MODEL

#: what the report writes into ``--out`` (name -> kind an existing entry must have)
REPORT_CONTENTS = {"index.html": "html", "fit.nc": "netcdf", "figures": "dir"}

_log = logging.getLogger(__name__)
_progress = logging.getLogger("structest.progress.report")

_INPUT = {"exists": True, "dir_okay": False, "readable": True}


#: Options that only apply when the report fits the model (``--fit`` omitted).
FIT_ONLY = ("target_accept", "backend", "progress", "float32", "log_likelihood", "compress")


def report(
    ctx: typer.Context,
    fit: Path | None = typer.Option(
        None,
        "--fit",
        **_INPUT,
        help="NetCDF fit (structest fit --out); omitted: fit the default model",
    ),
    out: Path = typer.Option(
        Path("report"),
        "--out",
        help="output folder (index.html, figures/; fit.nc when fitting); not a file",
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        **_INPUT,
        help="panel file (CSV/parquet); default: the panel stored in --fit, else the bundled one",
    ),
    panel: Path | None = typer.Option(
        None, "--panel", hidden=True, **_INPUT, help="alias of --data"
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help=f"model to fit when --fit is omitted (default {DEFAULT_MODEL}; name or TOML path)",
    ),
    compare: list[Path] = typer.Option(
        [], "--compare", **_INPUT, help="other fits of the same panel for PSIS-LOO (repeatable)"
    ),
    chains: int | None = typer.Option(
        None, min=1, help="chains when fitting, >= 1 (default 4, as structest fit)"
    ),
    draws: int | None = typer.Option(
        None, min=1, help="draws per chain when fitting, >= 1 (default 1000)"
    ),
    tune: int | None = typer.Option(
        None, min=0, help="warm-up per chain when fitting, >= 0 (default 1000)"
    ),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="seed (fit and predictive draws), >= 0"),
    reduced: bool = typer.Option(
        True, "--reduced/--no-reduced", help="reduced-form columns in the table"
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="exit with status 1 when the sampler reports problems (the report is written)",
    ),
    target_accept: float = TARGET_ACCEPT_OPTION,
    backend: Backend = BACKEND_OPTION,
    progress: bool = PROGRESS_OPTION,
    float32: bool = FLOAT32_OPTION,
    log_likelihood: bool = typer.Option(
        False,
        "--log-likelihood/--no-log-likelihood",
        help="Store the pointwise log-likelihood in fit.nc (default: left out, 6x smaller; "
        "loading the fit computes it again for LOO).",
    ),
    compress: bool = COMPRESS_OPTION,
) -> None:
    """Write a self-contained HTML report of a structural fit."""
    from .._devices import default_host_devices

    # every check before any work: options, environment, model, inputs, output folder
    if data is not None and panel is not None:
        raise OptionError("give --data (or its old name --panel), not both")
    fitting = fit is None
    if not fitting:
        named = (("--model", model), ("--chains", chains), ("--draws", draws), ("--tune", tune))
        given = [name for name, v in named if v is not None]
        given += [
            "--" + name.replace("_", "-")
            for name in FIT_ONLY
            if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
        ]
        if given:
            raise OptionError(
                f"{', '.join(given)} only apply when fitting; with --fit {fit} leave them out"
            )
    model = DEFAULT_MODEL if model is None else model
    chains, draws, tune = (
        4 if chains is None else chains,
        1000 if draws is None else draws,
        1000 if tune is None else tune,
    )
    stems = [p.stem for p in compare]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise OptionError(
            f"--compare: fits are named by their file name and {twice} is given twice; "
            "rename one of the files"
        )
    storage = save_options(compress=compress, float32=float32, log_likelihood=log_likelihood)
    default_host_devices()
    named_fits = [("--fit", fit), *(("--compare", c) for c in compare)]
    for what, p in named_fits:
        if p is not None:
            check_netcdf_input(p, what)
    _refuse_same_fits(named_fits)
    for what, p in (("--data", data), ("--panel", panel)):
        if p is not None:
            check_input_file(p, what)
    spec = load_model_option(model) if fitting else None
    source = data if data is not None else panel
    inputs = [("--fit", fit), ("--data" if data is not None else "--panel", source)]
    inputs += [("--compare", p) for p in compare]
    if fitting:
        inputs.append(("--model", model_file(model)))
        if source is None:
            inputs.append(("bundled panel", bundled_panel_file()))
    contents = dict(REPORT_CONTENTS)
    if not fitting:
        contents.pop("fit.nc")
    out = check_output(out, inputs=inputs, kind="dir", contents=contents)

    import matplotlib

    matplotlib.use("Agg")  # files only, no window

    from .._devices import set_compilation_cache, set_host_devices
    from ..structural.io import load_idata
    from ..structural.results import StructuralFit
    from ..structural.sampling import fit as fit_model
    from .html import write_report

    set_host_devices(strict=False)  # one XLA CPU device per core: chains in parallel
    set_compilation_cache(strict=False)  # compiled programs kept for the next run
    with cleanup_new_dirs(out):
        opt = "--data" if data is not None else "--panel"
        pan = load_panel_option(source, opt) if source is not None else None
        if fitting:
            pan = pan if pan is not None else load_panel_option(None)
            _progress.info(
                "fitting '%s' (%d chains x %d draws, %d warm-up) on %r",
                spec.name,
                chains,
                draws,
                tune,
                pan,
            )
            result = fit_model(
                pan,
                spec,
                chains=chains,
                draws=draws,
                tune=tune,
                seed=seed,
                target_accept=target_accept,
                backend=backend.value,
                progress_bar=None if progress else False,
            )
            with writing("--out", out / "fit.nc"):
                result.save(out / "fit.nc", **storage)
            _progress.info(
                "wrote %s: %s (%s)",
                out / "fit.nc",
                file_size(out / "fit.nc"),
                describe_storage(**{**STORAGE_DEFAULTS, **storage}),
            )
        else:
            with reading("--fit", fit):
                result = StructuralFit.load(fit, pan)
        fits = {}
        for p in compare:
            with reading("--compare", p):
                fits[p.stem] = load_idata(p)
        estimators = ("ols", "tobit", "iv", "tobit_iv") if reduced else ()
        verdict: dict = {}
        _progress.info("writing the report to %s", out)
        path = write_report(
            result,
            None,
            out,
            fits=fits or None,
            estimators=estimators,
            seed=seed,
            verdict=verdict,
        )
    problems = result.diagnostics()
    echo_verdict(result, problems, verdict)
    typer.echo(f"report: {path}")
    if strict and problems:
        typer.echo(
            f"--strict: {len(problems)} sampling problem(s); exit status 1 ({path} written)",
            err=True,
        )
        raise typer.Exit(1)


def _refuse_same_fits(named: list[tuple[str, Path | None]]) -> None:
    """OptionError when two of the fits (``--fit``, ``--compare``) are one file.

    Also through a symbolic link or another name (:func:`os.path.samefile`): comparing a
    fit with itself gives a meaningless PSIS-LOO table.
    """
    given = [(what, p) for what, p in named if p is not None]
    for i, (wa, a) in enumerate(given):
        for wb, b in given[i + 1 :]:
            try:
                same = os.path.samefile(a, b)
            except OSError:
                same = False
            if same:
                raise OptionError(
                    f"{wb} {b} is the same file as {wa} {a}: a fit cannot be compared with "
                    "itself; give --compare other fits of the same panel"
                )


# quantities of the terminal summary (those the model has): the report's verdict box's
from .html import HEADLINE  # noqa: E402


def echo_verdict(result: object, problems: list[str], verdict: dict) -> None:
    """Print the compact result of ``report``: convergence, key posteriors, PPC count."""
    table = result.summary()  # type: ignore[attr-defined]
    div = int(result.idata.sample_stats["diverging"].values.sum())  # type: ignore[attr-defined]
    state = "OK" if not problems else f"{len(problems)} problem(s)"
    rhat = table["r_hat"].max()
    rhat_text = f"{rhat:.3f}" if rhat == rhat else "- (one chain)"  # NaN with one chain
    typer.echo(
        f"convergence: {state} (divergences {div}, max R-hat {rhat_text}, "
        f"min bulk ESS {table['ess_bulk'].min():.0f})"
    )
    for msg in problems:
        _log.warning("%s", msg)
    rows = [n for n in HEADLINE if n in table.index]
    for n in rows:
        r = table.loc[n]
        how = f"  [{r['verdict']}]" if "verdict" in table.columns else ""
        typer.echo(f"  {n:<6} mean {r['mean']:8.3f}   90% [{r['5%']:.3f}, {r['95%']:.3f}]{how}")
    if verdict:
        k, n = verdict["ppc_inside"], verdict["ppc_total"]
        typer.echo(
            f"posterior predictive checks: {k} of {n} statistics inside their 90% intervals, "
            f"{verdict['checks_passed']} of {verdict['checks_total']} checks passed"
            + ("" if k >= 0.8 * n else " (the model misses the others: see the report)")
        )
        med = verdict.get("tobit_medians")
        if med:
            k, n, outside = med
            typer.echo(
                f"against the FE Tobit: posterior median inside its 90% interval for {k} of {n} "
                "coefficients"
                + (f" (outside: {', '.join(outside)}; causes in the report)" if outside else "")
            )
        cf = verdict.get("counterfactual")
        if cf:
            (o, olo, ohi), (a, alo, ahi) = cf["optimal"], cf["applied"]
            typer.echo(
                f"counterfactual: FVA +{cf['growth']:g} log points inside RTAs: optimal tariff "
                f"{o:+.2f} pp [{olo:.2f}, {ohi:.2f}], applied {a:+.2f} pp [{alo:.2f}, "
                f"{ahi:.2f}] (the paper: {cf['paper']:+.2f} pp)"
            )


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the ``structest`` CLI."""
    app.command("report")(report)

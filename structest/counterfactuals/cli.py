"""``structest counterfactual``: posterior counterfactuals from a saved fit.

Example::

    structest counterfactual --fit fit.nc --fva-growth 0.5 --out cf.nc --figures figs/
    structest counterfactual --fit fit.nc --fva-growth wiod:1995-2009 --rta-add USA-CHN
    structest counterfactual --fit fit.nc --mfn-scale 0.5 --by importer
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import typer

from ..errors import SpecError


def parse_growth(text: str | None, option: str) -> Any:
    """CLI growth value: ``0.5``, ``wiod:1995-2009`` or ``USA=0.5,c3=0.2,USA/c3=0.1``.

    ``KEY=VALUE`` keys are importer or industry codes, or ``IMPORTER/INDUSTRY``.
    """
    if text is None or text.strip() == "":
        return 0.0
    t = text.strip()
    if t.lower().startswith("wiod:"):
        return t
    if "=" not in t:
        try:
            return float(t)
        except ValueError as exc:
            raise SpecError(
                f"{option}: expected a number, 'wiod:START-END' or KEY=VALUE,..., got {text!r}"
            ) from exc
    out: dict[Any, float] = {}
    for item in t.split(","):
        if "=" not in item:
            raise SpecError(f"{option}: item {item!r} is not KEY=VALUE")
        k, v = (x.strip() for x in item.split("=", 1))
        key: Any = tuple(x.strip() for x in k.split("/")) if "/" in k else k
        try:
            out[key] = float(v)
        except ValueError as exc:
            raise SpecError(f"{option}: value {v!r} for {k!r} is not a number") from exc
    return out


def parse_pairs(text: str | None) -> list[str]:
    """``"USA-CHN,MEX-CAN"`` -> ``["USA-CHN", "MEX-CAN"]``."""
    if not text:
        return []
    return [p.strip() for p in text.split(",") if p.strip()]


def register(app: typer.Typer) -> None:
    """Attach the ``counterfactual`` command to the main app."""

    @app.command("counterfactual")
    def counterfactual_cmd(
        fit: Path = typer.Option(
            ..., "--fit", help="A fit saved by `structest fit --out` / save_fit."
        ),
        data: Path = typer.Option(
            None,
            "--data",
            help="Baseline panel (.parquet/.csv) whose effect labels exist in the fit "
            "(default: the panel the fit was made on, stored in the fit).",
        ),
        fva_growth: str = typer.Option(
            None, help="Log change of FVA: 0.5, wiod:1995-2009, or USA=0.5,c3=0.2,USA/c3=0.1."
        ),
        dva_growth: str = typer.Option(None, help="Log change of DVA (same forms)."),
        imports_growth: str = typer.Option(
            None, help="Log change of imports (same forms, no wiod:)."
        ),
        fg_growth: str = typer.Option(None, help="Log change of final-goods output (same forms)."),
        rta_add: str = typer.Option(None, help="Pairs switched into an RTA: USA-CHN,MEX-JPN."),
        rta_remove: str = typer.Option(None, help="Pairs switched out of an RTA: USA-MEX."),
        one_way: bool = typer.Option(
            False,
            "--one-way",
            help="Switch only importer-exporter as written (default: both directions).",
        ),
        mfn_scale: float = typer.Option(
            None, help="Multiply every MFN rate by this factor (>= 0)."
        ),
        noise: bool = typer.Option(
            False,
            "--noise/--no-noise",
            help="Add errors to applied tariffs (common to both states).",
        ),
        seed: int = typer.Option(0, help="Seed of the errors (--noise)."),
        interval: float = typer.Option(0.9, help="Probability of the reported intervals."),
        thin: int = typer.Option(1, help="Keep every n-th posterior draw."),
        by: str = typer.Option(
            "importer",
            help="Grouping of the printed table (importer, industry, exporter, year, rta).",
        ),
        out: Path = typer.Option(None, "--out", help="Write the result as NetCDF (atomically)."),
        figures: Path = typer.Option(
            None, "--figures", help="Write interval plots (png) to this folder."
        ),
    ) -> None:
        """Counterfactual optimal and applied tariffs for every posterior draw."""
        import matplotlib

        matplotlib.use("Agg")
        from ..panel import Panel
        from ..structural.io import load_idata
        from . import (
            Scenario,
            counterfactual,
            format_summary,
            save_counterfactual,
            save_figures,
        )

        # without --data: the panel stored in the fit (the one it was made on)
        baseline = None if data is None else Panel.from_file(data)
        rta: dict[str, int] = {p: 1 for p in parse_pairs(rta_add)}
        for p in parse_pairs(rta_remove):
            if p in rta:
                raise SpecError(f"pair {p!r} is in both --rta-add and --rta-remove")
            rta[p] = 0
        if mfn_scale is not None and mfn_scale < 0:
            raise SpecError(f"--mfn-scale must be >= 0, got {mfn_scale}")
        scen = Scenario(
            fva_growth=parse_growth(fva_growth, "--fva-growth"),
            dva_growth=parse_growth(dva_growth, "--dva-growth"),
            imports_growth=parse_growth(imports_growth, "--imports-growth"),
            fg_growth=parse_growth(fg_growth, "--fg-growth"),
            rta=rta or None,
            mfn=mfn_scale,
            rta_symmetric=not one_way,
        )
        fitted = load_idata(fit)  # counterfactual() rebuilds the fit (and its stored panel)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the notes are printed below
            ds = counterfactual(
                fitted,
                baseline,
                scenario=scen,
                noise=noise,
                seed=seed,
                interval=interval,
                thin=thin,
            )
        pct = int(round(100 * interval))
        typer.echo(
            f"Counterfactual ({ds.attrs['model_name']}, {ds.sizes['chain'] * ds.sizes['draw']} draws, "
            f"{ds.sizes['obs']} obs; applied = {ds.attrs['applied_definition']}; {pct}% intervals)"
        )
        typer.echo(f"scenario: {ds.attrs['scenario']}")
        for note in filter(None, str(ds.attrs.get("identification_notes", "")).split(" | ")):
            typer.echo(f"note: {note}")
        typer.echo("")
        typer.echo(format_summary(ds))
        typer.echo("")
        typer.echo(format_summary(ds, by))
        if out is not None:
            typer.echo(f"\nwrote {save_counterfactual(ds, out)}")
        if figures is not None:
            for p in save_figures(ds, figures):
                typer.echo(f"wrote {p}")

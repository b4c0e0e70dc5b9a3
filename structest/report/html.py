"""A self-contained HTML report of a structural fit (images embedded as base64 PNG).

:func:`write_report` writes ``out_dir/index.html`` and every figure as
``out_dir/figures/<name>.png``: data summary, convergence diagnostics, the Bayesian vs
reduced-form table and forest plot, posterior predictive checks, PSIS-LOO, prior vs
posterior and the prior predictive check.
"""

from __future__ import annotations

import base64
import html
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_write_bytes
from ..errors import StructestError
from ..panel import Panel

_CSS = """
body{font-family:system-ui,Helvetica,Arial,sans-serif;max-width:1150px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}img{max-width:100%;display:block;margin:.8em 0}.warn{color:#b00}.ok{color:#070}
.notes{font-size:.85em;color:#444}pre{background:#f7f7f7;padding:.6em;font-size:.8em;overflow-x:auto}
"""


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_html(float_format=lambda v: f"{v:.{digits}f}", border=0, classes="tbl", na_rep="—")


class _Doc:
    """Accumulates HTML sections and figures (saved as files and embedded)."""

    def __init__(self, out_dir: Path) -> None:
        self.out = out_dir
        self.figdir = out_dir / "figures"  # created by the first figure's atomic write
        self.parts: list[str] = []
        self.figures: list[Path] = []

    def h(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def p(self, text: str, cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{c}>{html.escape(text)}</p>")

    def raw(self, text: str) -> None:
        self.parts.append(text)

    def fig(self, name: str, make: Any) -> None:
        """Render ``make()`` (a Figure factory); a failing figure becomes a visible note."""
        from .plots import fig_to_png

        try:
            png = fig_to_png(make())
        except Exception as exc:  # one broken figure must not lose the whole report
            self.p(f"figure '{name}' failed: {type(exc).__name__}: {exc}", "warn")
            return
        path = atomic_write_bytes(self.figdir / f"{name}.png", png)
        self.figures.append(path)
        b64 = base64.b64encode(png).decode("ascii")
        self.parts.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{b64}">')

    def render(self, title: str) -> str:
        body = "\n".join(self.parts)
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
        )


def _data_section(doc: _Doc, panel: Panel) -> None:
    from ..data.describe import preference_summary

    doc.h("Data")
    doc.p(repr(panel))
    doc.p(f"source: {panel.meta.get('source', 'user data')}; exclusions: {panel.drop_report()}")
    doc.raw(_table(preference_summary(panel)))


def _convergence_section(doc: _Doc, idata: Any) -> list[str]:
    from ..structural.diagnostics import check_sampling, summarize
    from .plots import plot_trace

    doc.h("Convergence diagnostics")
    post = idata.posterior
    doc.p(
        f"{post.sizes['chain']} chains x {post.sizes['draw']} draws; sampler: "
        f"{post.attrs.get('sampler_backend', 'numpyro')}; "
        f"divergences: {int(np.asarray(idata.sample_stats['diverging']).sum())}"
    )
    msgs = check_sampling(idata)
    for m in msgs:
        doc.p("warning: " + m, "warn")
    if not msgs:
        doc.p("no divergences, R-hat <= 1.01 and bulk ESS >= 400 for every variable", "ok")
    summ = summarize(idata)
    doc.raw(_table(summ))
    names = [n for n in ("g_DVA", "g_IP", "g_FVA", "intercept", "sigma") if n in post]
    doc.fig("trace", lambda: plot_trace(idata, names))
    return msgs


def _compare_section(
    doc: _Doc, idata: Any, panel: Panel, truth: Mapping | None, estimators: Sequence[str]
) -> None:
    from .compare import coefficient_table, to_html, wide_table
    from .plots import plot_coefficients

    doc.h("Bayesian vs reduced form")
    if not estimators and truth is None:
        doc.p("reduced-form columns skipped")
    long, notes = coefficient_table(idata, panel, estimators=estimators, truth=truth)
    doc.raw(to_html(wide_table(long), notes))
    doc.p(
        "Reduced form: estimate (SE clustered by importer-exporter pair); posterior: mean [90% interval]."
    )
    doc.fig("coefficients", lambda: plot_coefficients(long))


def _ppc_section(doc: _Doc, ip: Any, panel: Panel, seed: int) -> pd.DataFrame:
    from .. import checks
    from . import plots

    doc.h("Posterior predictive checks")
    doc.p(
        "Replications draw t*, add the error, apply the lower bound and record the tariff as "
        "the panel does: at MFN from the panel's threshold on (mfn_threshold; MFN itself "
        "when the panel has none). "
        "p-values are mid-p P(T(y_rep) > T(y)); 'inside': observed inside the 90% predictive interval."
    )
    summary = checks.ppc_summary(ip, panel, seed=seed)
    doc.raw(_table(summary))
    doc.h("Distribution of preferences (Figure 1)", 3)
    doc.fig("ppc_preference_ecdf", lambda: plots.plot_preference_ecdf(ip.idata, panel))
    doc.fig("ppc_preference_hist", lambda: plots.plot_preference_histogram(ip.idata, panel))
    doc.raw(_table(checks.ppc_preference_distribution(ip, panel, "regime")))
    doc.h("Mass at MFN", 3)
    mass = {by: checks.ppc_mass_at_mfn(ip, panel, by) for by in ("importer", "industry", "year")}
    doc.fig("ppc_mass_at_mfn", lambda: plots.plot_mass_at_mfn(mass))
    doc.raw(
        _table(
            pd.concat([checks.ppc_mass_at_mfn(ip, panel, None), *mass.values()], ignore_index=True)
        )
    )
    doc.h("Mean and s.d. of preferences vs MFN by industry (Figure B1)", 3)
    mom = checks.ppc_industry_moments(ip, panel)
    doc.fig("ppc_industry_moments", lambda: plots.plot_industry_moments(mom))
    doc.h("Preferences vs ln DVA (Figure 2)", 3)
    dva = checks.ppc_dva_bands(ip, panel, seed=seed)
    doc.fig("ppc_dva_bands", lambda: plots.plot_dva_bands(ip.idata, panel, dva))
    doc.raw(_table(dva))
    doc.h("Randomized LOO-PIT", 3)
    doc.fig("loo_pit", lambda: plots.plot_loo_pit(checks.loo_pit_randomized(ip, panel, seed=seed)))
    return summary


def _loo_section(doc: _Doc, idata: Any, fits: Mapping[str, Any] | None) -> None:
    import arviz as az

    from .. import checks
    from . import plots

    doc.h("PSIS-LOO")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(idata, pointwise=True)
    doc.raw(f"<pre>{html.escape(str(loo))}</pre>")
    high = checks.pareto_k_table(idata)
    doc.p(
        f"{len(high)} informative observation(s) with Pareto k > 0.7"
        + (" (listed below)" if len(high) else ""),
        "warn" if len(high) else "ok",
    )
    if len(high):
        doc.raw(_table(high.head(20)))
    if fits:
        try:
            comp = checks.loo_compare(fits)
        except StructestError as exc:
            doc.p(str(exc), "warn")
            return
        doc.raw(_table(comp))
        doc.fig("loo_compare", lambda: plots.plot_loo(comp))


def _prior_section(doc: _Doc, idata: Any, panel: Panel, seed: int) -> None:
    from .. import checks
    from ..structural.diagnostics import identification, key_variables
    from ..structural.io import fit_spec
    from . import plots

    doc.h("Prior vs posterior")
    if "prior" in idata.groups():
        ident = identification(idata)
        doc.p(
            "What the data identify. contraction = 1 - posterior variance / prior variance; "
            "sensitivities: power-scaling "
            "(arviz.psens; >= 0.05 counts as sensitive). 'driven by priors': the posterior "
            "repeats its prior; 'prior-data conflict': prior and likelihood pull apart."
        )
        doc.raw(_table(ident))
        names = [n for n in key_variables(idata) if n in idata.prior][:12]
        doc.fig("prior_posterior", lambda: plots.plot_prior_posterior(idata, names))
    else:
        doc.p("the fit has no prior group", "warn")
    doc.h("Prior predictive check", 3)
    doc.p(
        "Share of prior-predictive tariffs in the plausible range [0, 50] pp: latent t* + e "
        "(before censoring) and applied (after the lower bound and MFN cap)."
    )
    doc.raw(_table(checks.prior_predictive_check(panel, fit_spec(idata), n=300, seed=seed)))


def write_report(
    fit: Any,
    panel: Panel | None,
    out_dir: str | Path,
    *,
    fits: Mapping[str, Any] | None = None,
    truth: Mapping[str, Any] | None = None,
    estimators: Sequence[str] = ("ols", "tobit", "iv", "tobit_iv"),
    seed: int = 0,
    title: str | None = None,
    verdict: dict[str, Any] | None = None,
) -> Path:
    """Write the HTML report of a fit.

    Parameters
    ----------
    fit
        A :class:`~structest.structural.results.StructuralFit` (or a structest
        InferenceData).
    panel
        The panel it was fitted to (checked), or None for the one stored in the fit.
    out_dir
        Output folder (created): ``index.html`` and ``figures/*.png``.
    fits
        Optional other fits of the same panel, ``name -> idata``, compared by PSIS-LOO
        (with ``idata`` under its model name unless already included).
    truth
        True values (synthetic data): adds a truth column to the coefficient table.
    estimators
        Reduced-form columns (empty: none).
    seed
        Seed of the predictive draws.
    verdict
        A dict to fill with the checks' headline numbers for a terminal summary:
        ``ppc_inside`` / ``ppc_total`` (PPC statistics inside their 90% predictive
        intervals) and ``checks_passed`` / ``checks_total`` (checks passed).
    title
        Page title.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.
    """
    from .. import checks
    from ..structural.results import as_fit

    f = as_fit(fit, panel)
    idata, panel, spec = f.idata, f.panel, f.spec
    out = Path(out_dir)
    doc = _Doc(out)
    doc.p(f"model '{spec.name}': {spec.description}")
    _data_section(doc, panel)
    _convergence_section(doc, idata)
    _compare_section(doc, f, panel, truth, estimators)
    ip = checks.with_posterior_predictive(f, seed=seed)
    ppc = _ppc_section(doc, ip, panel, seed)
    if verdict is not None:
        verdict.update(
            ppc_inside=int(ppc["n_inside"].sum()),
            ppc_total=int(ppc["n_stats"].sum()),
            checks_passed=int(ppc["passed"].sum()),
            checks_total=len(ppc),
        )
    allfits = None
    if fits:
        allfits = {k: getattr(v, "idata", v) for k, v in fits.items()}
        if not any(v is idata for v in allfits.values()):
            allfits = {spec.name: idata, **allfits}
    _loo_section(doc, idata, allfits)
    _prior_section(doc, idata, panel, seed)
    doc.h("Model specification")
    doc.raw(f"<pre>{html.escape(spec.to_toml())}</pre>")
    page = doc.render(title or f"structest report: {spec.name}")
    return atomic_write_bytes(out / "index.html", page.encode("utf-8"))

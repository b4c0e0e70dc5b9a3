"""A self-contained HTML report of a structural fit (images embedded as base64 PNG).

:func:`write_report` writes ``out_dir/index.html`` and every figure as
``out_dir/figures/<name>.png``. The page opens with a verdict box (convergence, key
posteriors with identification verdicts, posterior predictive checks passed, agreement
with the reduced form) and a table of contents; then the Bayesian vs reduced-form table
and forest plot, posterior predictive checks, prior vs posterior and the prior
predictive check, PSIS-LOO, convergence diagnostics, the data summary and the model
specification. Every figure and table carries a caption saying what it shows and how to
read it.
"""

from __future__ import annotations

import base64
import html
import time
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
body{font-family:system-ui,Helvetica,Arial,sans-serif;max-width:1150px;margin:1.2em auto;color:#222;padding:0 1em}
h1{font-size:1.5em;margin:.2em 0}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td.txt,th.txt{text-align:left}img{max-width:100%;display:block;margin:.4em 0}
.warn{color:#b00}.ok{color:#070}.notes{font-size:.85em;color:#444}
pre{background:#f7f7f7;padding:.6em;font-size:.8em;overflow-x:auto}
caption,figcaption{caption-side:top;text-align:left;font-size:.85em;color:#444;padding:.3em 0;max-width:60em}
figure{margin:1em 0}figcaption{caption-side:bottom}
tr.fail td{background:#fdecea}tr.fail td.verdict{color:#b00;font-weight:bold}td.verdict{color:#070}
#verdict{border:2px solid #888;border-radius:6px;padding:.5em 1em;margin:.6em 0;background:#fafafa}
#verdict.bad{border-color:#b00}#verdict.good{border-color:#070}
#verdict h2{margin:.1em 0 .3em;border:0;font-size:1.15em}#verdict p{margin:.25em 0}
#verdict table{margin:.3em 0;font-size:.85em}
#contents{font-size:.9em}#contents ol{columns:2;margin:.2em 0}#contents li{break-inside:avoid}
"""

#: key posteriors of the verdict box and of the terminal summary (those the model has)
HEADLINE = ("g_IP", "g_FVA", "g_DVA", "eps", "sigma")


def _fmt(v: Any, digits: int = 3) -> str:
    """One table cell as text: floats rounded, booleans yes/no, missing as a dash."""
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return "—" if not np.isfinite(v) else f"{v:.{digits}f}"
    return str(v)


def _label(name: Any) -> str:
    """A column name for reading: ``share_inside`` -> ``share inside``."""
    return str(name).replace("_", " ")


def _table(
    df: pd.DataFrame,
    caption: str,
    digits: int = 3,
    *,
    labels: Mapping[str, str] | None = None,
    row_class: Sequence[str] | None = None,
    cell_class: Mapping[str, str] | None = None,
) -> str:
    """An HTML table with a caption: labelled columns, no bare 0..n-1 index.

    Parameters
    ----------
    df
        The table; a default ``RangeIndex`` is left out, any other index is the first
        column (headed by its name).
    caption
        What the table shows and how to read it.
    digits
        Decimals of float cells.
    labels
        Column headers (default: the column name with ``_`` as spaces).
    row_class
        A CSS class per row (e.g. ``"fail"`` marks a failing row), or None.
    cell_class
        A CSS class per column name.
    """
    labels = dict(labels or {})
    cell_class = dict(cell_class or {})
    show_index = not isinstance(df.index, pd.RangeIndex)
    head = ""
    if show_index:
        names = [n for n in df.index.names if n is not None]
        head += f'<th class="txt">{html.escape(", ".join(map(_label, names)))}</th>'
    for c in df.columns:
        head += f"<th>{html.escape(labels.get(c, _label(c)))}</th>"
    rows = []
    for i, (idx, r) in enumerate(df.iterrows()):
        cls = f' class="{row_class[i]}"' if row_class is not None and row_class[i] else ""
        cells = ""
        if show_index:
            key = ", ".join(map(str, idx)) if isinstance(idx, tuple) else str(idx)
            cells += f'<th class="txt">{html.escape(key)}</th>'
        for c, v in zip(df.columns, r, strict=True):
            kind = cell_class.get(c, "txt" if isinstance(v, str) else "")
            cc = f' class="{kind}"' if kind else ""
            cells += f"<td{cc}>{html.escape(_fmt(v, digits))}</td>"
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<table class="tbl"><caption>{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


class _Steps:
    """Progress lines ``report [k/n] <section> (t s)`` (:func:`structest._logging.progress`)."""

    def __init__(self, n: int) -> None:
        self.n, self.k, self.t0 = n, 0, time.perf_counter()

    def __call__(self, what: str) -> None:
        from .._logging import progress

        self.k += 1
        elapsed = time.perf_counter() - self.t0
        progress("report", f"report [{self.k}/{self.n}] {what} ({elapsed:.0f} s)")


class _Doc:
    """Accumulates HTML sections and figures (saved as files and embedded)."""

    def __init__(self, out_dir: Path) -> None:
        self.out = out_dir
        self.figdir = out_dir / "figures"  # created by the first figure's atomic write
        self.parts: list[str] = []
        self.figures: list[Path] = []
        self.headings: list[tuple[int, str, str]] = []  # (level, id, text): the contents

    def h(self, text: str, level: int = 2, id: str | None = None) -> None:
        """A heading; with ``id`` it is an anchor listed in the table of contents."""
        if id is None:
            self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
            return
        self.headings.append((level, id, text))
        self.parts.append(f'<h{level} id="{html.escape(id)}">{html.escape(text)}</h{level}>')

    def p(self, text: str, cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{c}>{html.escape(text)}</p>")

    def raw(self, text: str) -> None:
        self.parts.append(text)

    def fig(self, name: str, make: Any, caption: str) -> None:
        """Render ``make()`` (a Figure factory) as a captioned ``<figure>``.

        A failing figure becomes a visible note instead.
        """
        from .plots import fig_to_png

        try:
            png = fig_to_png(make())
        except Exception as exc:  # one broken figure must not lose the whole report
            self.p(f"figure '{name}' failed: {type(exc).__name__}: {exc}", "warn")
            return
        path = atomic_write_bytes(self.figdir / f"{name}.png", png)
        self.figures.append(path)
        b64 = base64.b64encode(png).decode("ascii")
        self.parts.append(
            f'<figure id="fig-{html.escape(name)}"><img alt="{html.escape(name)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>{html.escape(caption)}'
            "</figcaption></figure>"
        )

    def contents(self) -> str:
        """The table of contents: a link to every anchored heading (h3 nested under h2)."""

        def link(hid: str, text: str) -> str:
            return f'<a href="#{html.escape(hid)}">{html.escape(text)}</a>'

        items: list[str] = []
        subs: list[str] = []
        for level, hid, text in self.headings:
            if level > 2 and items:
                subs.append(f"<li>{link(hid, text)}</li>")
                continue
            if subs:
                items[-1] = items[-1][:-5] + f"<ul>{''.join(subs)}</ul></li>"
                subs = []
            items.append(f"<li>{link(hid, text)}</li>")
        if subs:
            items[-1] = items[-1][:-5] + f"<ul>{''.join(subs)}</ul></li>"
        return f'<nav id="contents"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'

    def render(self, title: str, top: Sequence[str] = ()) -> str:
        """The page: title, ``top`` (verdict box, contents), then the sections."""
        body = "\n".join([*top, *self.parts])
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
        )


def _data_section(doc: _Doc, panel: Panel) -> None:
    from ..data.describe import preference_summary

    doc.h("Data", id="data")
    doc.p(repr(panel))
    doc.p(f"source: {panel.meta.get('source', 'user data')}; exclusions: {panel.drop_report()}")
    doc.raw(
        _table(
            preference_summary(panel),
            "Observations per regime: share of tariffs at MFN and the distribution of the "
            "preference (applied minus MFN tariff, pp; 0 = no preference, negative = a "
            "preference granted).",
        )
    )


def _convergence_section(doc: _Doc, idata: Any) -> list[str]:
    from ..structural.diagnostics import check_sampling, summarize
    from .plots import plot_trace

    doc.h("Convergence diagnostics", id="convergence")
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
    names = [n for n in ("g_DVA", "g_IP", "g_FVA", "intercept", "sigma") if n in post]
    doc.fig(
        "trace",
        lambda: plot_trace(idata, names),
        "Trace plots of the key parameters: left, the posterior density of each chain; "
        "right, rank plots (histograms of each chain's draws ranked among all chains). "
        "Converged chains overlap on the left and give flat, uniform rank bars on the "
        "right; bars that rise or fall show a chain stuck in one part of the posterior.",
    )
    full = summarize(idata)
    summ = full[
        [c for c in ("mean", "sd", "5%", "95%", "ess_bulk", "ess_tail", "r_hat") if c in full]
    ]
    bad = [
        "fail" if not (r["r_hat"] <= 1.01 or np.isnan(r["r_hat"])) or r["ess_bulk"] < 400 else ""
        for _, r in summ.iterrows()
    ]
    doc.raw(
        _table(
            summ,
            "Posterior summary of every key variable: mean, sd, 5% and 95% quantiles "
            "(the 90% interval), bulk and tail effective sample sizes (bulk should be "
            ">= 400) and R-hat (should be <= 1.01; dash: one chain). Rows breaking either "
            "rule are marked. MCSE and HDI: StructuralFit.summary().",
            labels={"r_hat": "R-hat", "ess_bulk": "bulk ESS", "ess_tail": "tail ESS"},
            row_class=bad,
        )
    )
    return msgs


def _compare_section(
    doc: _Doc, idata: Any, panel: Panel, truth: Mapping | None, estimators: Sequence[str]
) -> pd.DataFrame:
    from .compare import coefficient_table, to_html, wide_table
    from .plots import plot_coefficients

    doc.h("Bayesian vs reduced form", id="compare")
    if not estimators and truth is None:
        doc.p("reduced-form columns skipped")
    long, notes = coefficient_table(idata, panel, estimators=estimators, truth=truth)
    caption = (
        "The coefficients of the tariff equation: reduced-form estimates (standard error "
        "clustered by importer-exporter pair) next to the structural posterior (mean "
        "[90% interval])"
        + (" and the true values of the simulation" if truth is not None else "")
        + ". Where a reduced-form estimate lies far outside the posterior interval, the "
        "structural model and the reduced form disagree on that coefficient; a dash: not "
        "identified by that estimator. Notes below the table list sample differences and "
        "restrictions."
    )
    doc.raw(
        to_html(wide_table(long), notes).replace(
            "<thead>", f"<caption>{html.escape(caption)}</caption><thead>", 1
        )
    )
    doc.fig(
        "coefficients",
        lambda: plot_coefficients(long),
        "Each coefficient with its 90% interval by estimator (posterior: equal-tailed "
        "interval; reduced form: estimate +/- 1.645 SE). Overlapping intervals mean the "
        "structural model and the reduced form agree on that coefficient.",
    )
    _median_paragraphs(doc, long)
    return long


def _median_paragraphs(doc: _Doc, long: pd.DataFrame) -> None:
    """Posterior medians against the FE Tobit's 90% intervals, with the cause of a conflict."""
    from .compare import median_check

    if "Tobit" not in set(long["column"]):
        return
    mc = median_check(long, "Tobit")
    if not len(mc):
        return
    k = int(mc["inside"].sum())
    doc.p(
        f"Posterior medians inside the fixed-effects Tobit's 90% interval: {k} of {len(mc)} "
        "coefficients (overlapping intervals prove little; a median outside the interval is "
        "a disagreement).",
        "ok" if k == len(mc) else "warn",
    )
    for row, r in mc[~mc["inside"]].iterrows():
        prior = r["prior_median"]
        pulled = np.isfinite(prior) and (
            (r["side"] == "below" and prior < r["median"])
            or (r["side"] == "above" and prior > r["median"])
        )
        cause = (
            f" Its prior median is {prior:.2f}, on the same side: the prior pulls the posterior "
            "away from what the within-cell variation says (see the identification verdicts "
            'in <a href="#prior">the prior section</a>).'
            if pulled
            else (
                f" Its prior median is {prior:.2f}: not the prior's pull; the structural "
                "restrictions (censoring at the recording threshold, pooled effects, one error "
                "model) fit these observations differently from the Tobit."
                if np.isfinite(prior)
                else ""
            )
        )
        doc.raw(
            f'<p class="warn">{html.escape(str(row))}: posterior median {r["median"]:.2f} lies '
            f"{r['side']} the Tobit's 90% interval [{r['lo']:.2f}, {r['hi']:.2f}].{cause}</p>"
        )


def _ppc_table(summary: pd.DataFrame) -> str:
    """The PPC summary for reading: one row per check, pass/fail as text, failures marked."""
    cols = ["check", "n_stats", "n_inside", "share_inside", "min_p_two_sided"]
    t = summary[cols].copy()
    t["verdict"] = ["pass" if v else "fail" for v in summary["passed"]]
    return _table(
        t.reset_index(drop=True),
        "One row per posterior predictive check: how many of its statistics the model "
        "replicates (observed value inside the 90% predictive interval), the smallest "
        "two-sided p-value, and the verdict. A check passes when about 90% of its "
        "statistics are inside (binomial slack) and no p-value is extreme; failing "
        "checks are marked: the model misses that feature of the data.",
        labels={
            "check": "check",
            "n_stats": "statistics",
            "n_inside": "inside 90% interval",
            "share_inside": "share inside",
            "min_p_two_sided": "smallest two-sided p",
        },
        row_class=["" if v else "fail" for v in summary["passed"]],
        cell_class={"check": "txt", "verdict": "verdict"},
    )


def _inside_rows(df: pd.DataFrame) -> list[str] | None:
    """Mark rows whose observed statistic lies outside its predictive interval."""
    if "inside" not in df.columns:
        return None
    return ["" if bool(v) else "fail" for v in df["inside"]]


def _ppc_section(doc: _Doc, ip: Any, panel: Panel, seed: int) -> pd.DataFrame:
    from .. import checks
    from . import plots

    doc.h("Posterior predictive checks", id="ppc")
    doc.p(
        "Replications draw t*, add the error, apply the lower bound and record the tariff as "
        "the panel does: at MFN from the panel's threshold on (mfn_threshold; MFN itself "
        "when the panel has none). "
        "p-values are mid-p P(T(y_rep) > T(y)); 'inside': observed inside the 90% predictive interval."
    )
    summary = checks.ppc_summary(ip, panel, seed=seed)
    doc.raw(_ppc_table(summary))
    outside = "Rows with the observed value outside the 90% predictive interval are marked."
    doc.h("Distribution of preferences (Figure 1)", 3, id="ppc-distribution")
    doc.fig(
        "ppc_preference_ecdf",
        lambda: plots.plot_preference_ecdf(ip.idata, panel),
        "Empirical CDF of the observed preferences (applied minus MFN tariff), all and by "
        "regime, against replicated data sets. The observed curve should run inside the "
        "cloud of replications; a gap shows where the model puts too much or too little "
        "mass.",
    )
    doc.fig(
        "ppc_preference_hist",
        lambda: plots.plot_preference_histogram(ip.idata, panel),
        "Histogram (1 pp bins) of the preferences granted (below zero; paper's Figure 1) "
        "with the 90% predictive band of each bin: bars outside their band are sizes of "
        "preference the model over- or under-predicts.",
    )
    dist = checks.ppc_preference_distribution(ip, panel, "regime")
    doc.raw(
        _table(
            dist,
            "Statistics of the preference distribution by regime: observed value, the 90% "
            "predictive interval and the mid-p value. " + outside,
            row_class=_inside_rows(dist),
        )
    )
    doc.h("Mass at MFN", 3, id="ppc-mass")
    mass = {by: checks.ppc_mass_at_mfn(ip, panel, by) for by in ("importer", "industry", "year")}
    doc.fig(
        "ppc_mass_at_mfn",
        lambda: plots.plot_mass_at_mfn(mass),
        "Share of tariffs at MFN by importer, industry and year: observed (dot) against "
        "the 90% predictive interval (bar). Dots outside their interval (red) are groups "
        "the model does not reproduce.",
    )
    mtab = pd.concat([checks.ppc_mass_at_mfn(ip, panel, None), *mass.values()], ignore_index=True)
    doc.raw(
        _table(
            mtab,
            "Share of tariffs at MFN, overall and by group: observed, the 90% predictive "
            "interval and the mid-p value. " + outside,
            row_class=_inside_rows(mtab),
        )
    )
    doc.h("Mean and s.d. of preferences vs MFN by industry (Figure B1)", 3, id="ppc-moments")
    mom = checks.ppc_industry_moments(ip, panel)
    doc.fig(
        "ppc_industry_moments",
        lambda: plots.plot_industry_moments(mom),
        "Mean and standard deviation of the preference in each industry against the "
        "industry's mean MFN tariff (paper's Figure B1): observed against the 90% "
        "predictive interval of the replications.",
    )
    doc.h("Preferences vs ln DVA (Figure 2)", 3, id="ppc-dva")
    dva = checks.ppc_dva_bands(ip, panel, seed=seed)
    doc.fig(
        "ppc_dva_bands",
        lambda: plots.plot_dva_bands(ip.idata, panel, dva),
        "Mean preference by bin of the log domestic-value-added ratio (paper's Figure 2) "
        "with the predictive band. The model captures the DVA channel when the observed "
        "means follow the band, including its slope.",
    )
    doc.raw(
        _table(
            dva,
            "Preference vs ln DVA: bin means, the slope and the pointwise coverage, each "
            "with its 90% predictive interval. " + outside,
            row_class=_inside_rows(dva),
        )
    )
    doc.h("Randomized LOO-PIT", 3, id="loo-pit")
    doc.fig(
        "loo_pit",
        lambda: plots.plot_loo_pit(checks.loo_pit_randomized(ip, panel, seed=seed)),
        "Randomized leave-one-out probability integral transform: the ECDF of the values "
        "minus the uniform CDF, with simultaneous confidence bands. A calibrated model stays "
        "inside the band around zero; an S shape means predictive distributions too "
        "narrow or too wide, a curve on one side a biased centre.",
    )
    return summary


def _loo_section(doc: _Doc, idata: Any, fits: Mapping[str, Any] | None) -> None:
    import arviz as az

    from .. import checks
    from . import plots

    doc.h("PSIS-LOO", id="loo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(idata, pointwise=True)
    doc.p(
        "Pareto-smoothed importance-sampling leave-one-out cross-validation: elpd_loo is the "
        "expected log predictive density of unseen observations (higher is better), p_loo "
        "the effective number of parameters; Pareto k > 0.7 flags observations whose "
        "estimate is unreliable."
    )
    doc.raw(f"<pre>{html.escape(str(loo))}</pre>")
    high = checks.pareto_k_table(idata)
    useful = checks.informative(idata)
    n_inf, n_flat = int(useful.sum()), int((~useful).sum())
    doc.p(
        f"{len(high)} of {n_inf} informative observations ({100 * len(high) / max(n_inf, 1):.2f}%) "
        "with Pareto k > 0.7"
        + (" (listed below)" if len(high) else "")
        + (
            f". ArviZ's table above also counts the {n_flat} observation(s) whose MFN is at "
            "or below the lower bound: their log-likelihood is identically 0 (they say "
            "nothing about the model and add 0 to elpd_loo), and ArviZ gives them k = inf"
            if n_flat
            else ""
        )
        + ". fit.loo(moment_match=True) re-estimates the high-k ones by "
        "moment matching.",
        "warn" if len(high) else "ok",
    )
    if len(high):
        doc.raw(
            _table(
                high.head(20),
                "Observations with Pareto k > 0.7 (at most 20): their keys and censoring "
                "kind. Influential observations: the model fits them poorly.",
            )
        )
    if fits:
        try:
            comp = checks.loo_compare(fits)
        except StructestError as exc:
            doc.p(str(exc), "warn")
            return
        doc.raw(
            _table(
                comp,
                "Models compared by PSIS-LOO, best first: elpd difference to the best "
                "(with its standard error; a difference within about 2 SE is no "
                "evidence) and the stacking weight.",
            )
        )
        doc.fig(
            "loo_compare",
            lambda: plots.plot_loo(comp),
            "elpd_loo of each model (higher predicts better) with its standard error, and "
            "each model's difference to the best with the standard error of that "
            "difference: a difference within about 2 of its SEs is no evidence that one "
            "model predicts better.",
        )


def _prior_section(doc: _Doc, idata: Any, panel: Panel, seed: int) -> None:
    from .. import checks
    from ..structural.diagnostics import identification, key_variables
    from ..structural.io import fit_spec
    from . import plots

    doc.h("Prior vs posterior", id="prior")
    if "prior" in idata.groups():
        ident = identification(idata)
        doc.p(
            "What the data identify. contraction = 1 - posterior variance / prior variance; "
            "sensitivities: power-scaling "
            "(arviz.psens; >= 0.05 counts as sensitive). 'driven by priors': the posterior "
            "repeats its prior; 'prior-data conflict': prior and likelihood pull apart."
        )
        doc.raw(
            _table(
                ident,
                "Identification of each quantity: contraction near 1 means the data, not "
                "the prior, determine the posterior; the verdict column sums it up. Rows "
                "not 'identified by data' are marked.",
                row_class=[
                    "" if v == "identified by data" else "fail"
                    for v in ident.get("verdict", pd.Series("identified by data", ident.index))
                ],
            )
        )
        names = [n for n in key_variables(idata) if n in idata.prior][:12]
        doc.fig(
            "prior_posterior",
            lambda: plots.plot_prior_posterior(idata, names),
            "Prior and posterior density of each key quantity (central 99%). A posterior much "
            "narrower than its prior is identified by the data; one that repeats the prior "
            "is not.",
        )
    else:
        doc.p("the fit has no prior group", "warn")
    doc.h("Prior predictive check", 3, id="prior-predictive")
    doc.p(
        "Share of prior-predictive tariffs in the plausible range [0, 50] pp: latent t* + e "
        "(before censoring) and applied (after the lower bound and MFN cap)."
    )
    doc.raw(
        _table(
            checks.prior_predictive_check(panel, fit_spec(idata), n=300, seed=seed),
            "Tariffs simulated from the priors alone: most of them should be plausible "
            "(inside [0, 50] pp); a small share means the priors allow absurd tariffs.",
        )
    )


def _reconcile_section(doc: _Doc, f: Any) -> dict[str, Any] | None:
    """The +0.5 log FVA counterfactual inside RTAs beside the paper (None without RTAs)."""
    from .reconcile import GROWTH, reconcile_fva

    if "rta" not in f.panel.df.columns or not (np.asarray(f.panel.df["rta"]) == 1).any():
        return None
    doc.h("Counterfactual beside the paper: +0.5 log FVA inside RTAs", id="reconcile")
    table, notes = reconcile_fva(f, growth=GROWTH)
    doc.p(
        "The paper's headline exercise: foreign value added in the importer's final goods "
        f"grows by {GROWTH:g} log points; how much lower is the tariff inside RTAs? Each row "
        "is one step from the paper's number to this model's answer, with the factor that "
        "separates it from the row above (change in pp, averaged over observations inside "
        "RTAs; reduced forms: estimate and 90% interval from its SE; posteriors: median and "
        "90% interval over draws; 'vs paper': ratio to the paper's number)."
    )
    doc.raw(
        _table(
            table.set_index("step"),
            "From the paper to this model, step by step (pp).",
            2,
            labels={"nobs": "observations", "vs_paper": "vs paper"},
        )
    )
    for n in notes:
        doc.p(n, "warn")
    post = table[table["step"].str.startswith("posterior")]
    paper = table.iloc[0]
    return {
        "growth": GROWTH,
        "paper": float(paper["estimate"]),
        "optimal": post.iloc[0][["estimate", "lo", "hi"]].astype(float).tolist(),
        "applied": post.iloc[1][["estimate", "lo", "hi"]].astype(float).tolist(),
    }


def _headline(f: Any, problems: list[str]) -> dict[str, Any]:
    """Convergence and key posteriors, as ``structest report`` prints them.

    From ``f.summary()`` (as :func:`structest.report.cli.echo_verdict`): divergences,
    the largest R-hat, the smallest bulk ESS, and for each of :data:`HEADLINE` the mean,
    the 90% interval and the identification verdict (where the fit has prior draws).
    """
    table = f.summary()
    key = []
    for n in HEADLINE:
        if n not in table.index:
            continue
        r = table.loc[n]
        key.append(
            {
                "name": n,
                "mean": float(r["mean"]),
                "lo": float(r["5%"]),
                "hi": float(r["95%"]),
                "verdict": str(r["verdict"]) if "verdict" in table.columns else None,
            }
        )
    return {
        "problems": list(problems),
        "divergences": int(np.asarray(f.idata.sample_stats["diverging"]).sum()),
        "max_rhat": float(table["r_hat"].max()),
        "min_ess": float(table["ess_bulk"].min()),
        "key": key,
    }


def _agreement(long: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Per reduced-form estimator: coefficients whose 90% interval overlaps the posterior's.

    Rows where the posterior is restricted (an interval of zero width) or the estimator
    has no estimate are left out.
    """
    post = long[long["column"] == "posterior"].set_index("row")
    post = post[post["hi"] > post["lo"]]
    out: dict[str, tuple[int, int]] = {}
    for col, d in long[~long["column"].isin(["posterior", "truth"])].groupby("column", sort=False):
        d = d.set_index("row")
        rows = [r for r in d.index if r in post.index and np.isfinite(d.loc[r, "estimate"])]
        agree = sum(
            bool(d.loc[r, "lo"] <= post.loc[r, "hi"] and post.loc[r, "lo"] <= d.loc[r, "hi"])
            for r in rows
        )
        if rows:
            out[str(col)] = (int(agree), len(rows))
    return out


def _tobit_medians(long: pd.DataFrame) -> tuple[int, int, list[str]] | None:
    """(posterior medians inside the FE Tobit's 90% interval, coefficients, rows outside)."""
    from .compare import median_check

    if not len(long) or "Tobit" not in set(long["column"]):
        return None
    mc = median_check(long, "Tobit")
    if not len(mc):
        return None
    return int(mc["inside"].sum()), len(mc), [str(r) for r in mc.index[~mc["inside"]]]


def _verdict_box(v: Mapping[str, Any]) -> str:
    """The box at the top of the report: the numbers ``structest report`` prints."""
    problems = v["problems"]
    ppc_ok = v["ppc_inside"] >= 0.8 * v["ppc_total"]
    good = not problems and ppc_ok
    state = "OK" if not problems else f"{len(problems)} problem(s)"
    rhat = "—" if not np.isfinite(v["max_rhat"]) else f"{v['max_rhat']:.3f}"
    cls = "ok" if not problems else "warn"
    parts = [
        f'<section id="verdict" class="{"good" if good else "bad"}"><h2>Verdict</h2>',
        f'<p class="{cls}"><b>Convergence: {html.escape(state)}</b> (divergences '
        f"{v['divergences']}, max R-hat {rhat}, min bulk ESS {v['min_ess']:.0f})"
        + (' &mdash; see <a href="#convergence">convergence diagnostics</a>' if problems else "")
        + "</p>",
    ]
    if v["key"]:
        rows = "".join(
            f'<tr><th class="txt">{html.escape(k["name"])}</th><td>{k["mean"]:.3f}</td>'
            f"<td>[{k['lo']:.3f}, {k['hi']:.3f}]</td>"
            + (
                f'<td class="txt {"ok" if k["verdict"] == "identified by data" else "warn"}">'
                f"{html.escape(k['verdict'])}</td>"
                if k["verdict"] is not None
                else ""
            )
            + "</tr>"
            for k in v["key"]
        )
        ident = '<th class="txt">identification</th>' if v["key"][0]["verdict"] else ""
        parts.append(
            '<table class="tbl"><caption>Key posteriors: mean and 90% interval (5% to 95% '
            "quantile); identification: whether the data or the prior determine the "
            '<a href="#prior">posterior</a>.</caption><thead><tr><th class="txt">quantity'
            f"</th><th>mean</th><th>90% interval</th>{ident}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    k, n = v["ppc_inside"], v["ppc_total"]
    parts.append(
        f'<p class="{"ok" if ppc_ok else "warn"}"><b>Posterior predictive checks:</b> {k} of '
        f"{n} statistics inside their 90% intervals, {v['checks_passed']} of "
        f"{v['checks_total']} checks passed"
        + ("" if ppc_ok else " (the model misses the others)")
        + ' &mdash; see <a href="#ppc">the checks</a></p>'
    )
    cf = v.get("counterfactual")
    if cf:
        (o, olo, ohi), (a, alo, ahi) = cf["optimal"], cf["applied"]
        parts.append(
            f"<p><b>Counterfactual:</b> FVA +{cf['growth']:g} log points inside RTAs moves the "
            f"optimal tariff by {o:.2f} pp [{olo:.2f}, {ohi:.2f}] and the applied tariff by "
            f"{a:.2f} pp [{alo:.2f}, {ahi:.2f}] (posterior median, 90% interval; the paper: "
            f'{cf["paper"]:.2f} pp) &mdash; see <a href="#reconcile">the steps between '
            "them</a></p>"
        )
    med = v.get("tobit_medians")
    if med:
        k, n, outside = med
        parts.append(
            f'<p class="{"ok" if k == n else "warn"}"><b>Against the FE Tobit:</b> posterior '
            f"median inside its 90% interval for {k} of {n} coefficients"
            + (f" (outside: {html.escape(', '.join(outside))})" if outside else "")
            + ' &mdash; see <a href="#compare">the causes</a></p>'
        )
    agree = v.get("reduced_agreement") or {}
    if agree:
        txt = "; ".join(f"{html.escape(c)} {a} of {t}" for c, (a, t) in agree.items())
        parts.append(
            "<p><b>Reduced form:</b> coefficients whose 90% interval overlaps the "
            f'posterior\'s: {txt} &mdash; see <a href="#compare">the table</a></p>'
        )
    parts.append("</section>")
    return "".join(parts)


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
        A dict to fill with the numbers of the report's verdict box, for a terminal
        summary: ``ppc_inside`` / ``ppc_total`` (PPC statistics inside their 90%
        predictive intervals), ``checks_passed`` / ``checks_total`` (checks passed),
        ``problems`` (the sampler's problems, :meth:`StructuralFit.diagnostics`),
        ``divergences``, ``max_rhat``, ``min_ess``, ``key`` (one dict per quantity of
        :data:`HEADLINE`: ``name, mean, lo, hi, verdict``; 90% interval) and
        ``reduced_agreement`` (estimator -> (coefficients whose 90% interval overlaps
        the posterior's, coefficients compared)), ``tobit_medians`` ((posterior medians
        inside the FE Tobit's 90% interval, coefficients compared, rows outside) or None)
        and ``counterfactual`` (the +0.5 log FVA
        exercise inside RTAs: ``paper``, ``optimal`` and ``applied`` as ``[median, lo,
        hi]`` in pp; None when no observation is inside an RTA).
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
    # the verdict first: the sections are rendered below it, the long tables last
    step = _Steps(7)
    step("reduced forms beside the posterior" if estimators else "coefficient table")
    long = _compare_section(doc, f, panel, truth, estimators)
    step("posterior predictive checks")
    ip = checks.with_posterior_predictive(f, seed=seed)
    ppc = _ppc_section(doc, ip, panel, seed)
    step("counterfactual beside the paper")
    cf = _reconcile_section(doc, f)
    step("prior predictive check")
    _prior_section(doc, idata, panel, seed)
    allfits = None
    if fits:
        allfits = {k: getattr(v, "idata", v) for k, v in fits.items()}
        if not any(v is idata for v in allfits.values()):
            allfits = {spec.name: idata, **allfits}
    step("PSIS-LOO" + (f" ({len(allfits)} fits)" if allfits else ""))
    _loo_section(doc, idata, allfits)
    step("convergence and data")
    problems = _convergence_section(doc, idata)
    _data_section(doc, panel)
    step("verdict and page")
    doc.h("Model specification", id="spec")
    doc.raw(f"<pre>{html.escape(spec.to_toml())}</pre>")
    found: dict[str, Any] = {
        "ppc_inside": int(ppc["n_inside"].sum()),
        "ppc_total": int(ppc["n_stats"].sum()),
        "checks_passed": int(ppc["passed"].sum()),
        "checks_total": len(ppc),
        **_headline(f, problems),
        "reduced_agreement": _agreement(long),
        "tobit_medians": _tobit_medians(long),
        "counterfactual": cf,
    }
    if verdict is not None:
        verdict.update(found)
    top = [
        f"<p>model '{html.escape(spec.name)}': {html.escape(spec.description)}</p>",
        _verdict_box(found),
        doc.contents(),
    ]
    page = doc.render(title or f"structest report: {spec.name}", top)
    return atomic_write_bytes(out / "index.html", page.encode("utf-8"))

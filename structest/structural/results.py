"""The result of a structural fit: :class:`StructuralFit`.

A fit holds the ArviZ ``InferenceData`` (:attr:`StructuralFit.idata`, the escape hatch to
ArviZ), the :class:`~structest.structural.spec.ModelSpec`, the design and the panel it was
fitted to, identified by a fingerprint (a hash of the observation keys and tariffs) that
is stored in the NetCDF attributes. Functions of the later steps (checks,
counterfactuals, the report) take a fit, or an ``InferenceData`` written by structest,
through :func:`as_fit`, which checks once that a panel passed with it is the fitted one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputFileError, PanelError, StructestError
from ..panel import Panel
from .design import Design, build_design
from .io import PANEL_GROUP, add_log_likelihood, fit_spec, load_idata, save_idata, stored_panel
from .posterior import applied_draws, tstar_draws
from .spec import ModelSpec


@dataclass(frozen=True)
class StructuralFit:
    """A fitted structural model.

    Attributes
    ----------
    idata
        ``arviz.InferenceData`` (groups documented in :mod:`structest.structural.io`).
    spec
        The model specification.
    panel
        The panel the model was fitted to.
    design
        The likelihood's arrays and labels on that panel.
    """

    idata: Any
    spec: ModelSpec
    panel: Panel
    design: Design

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_idata(cls, idata: Any, panel: Panel | None = None) -> StructuralFit:
        """Wrap an InferenceData written by structest.

        Parameters
        ----------
        idata
            From :func:`structest.fit` (``.idata``) or a saved fit.
        panel
            The panel it was fitted to; None: the panel stored in the fit. A panel whose
            keys or tariffs differ from the fitted ones raises (never a silent mismatch).
        """
        spec = fit_spec(idata)
        need = [*spec.scalar_params, *spec.vector_params, *(f"fe_{e}" for e in spec.effects)]
        lacking = [k for k in need if k not in idata.posterior]
        if lacking:
            raise InputFileError(
                f"this fit's posterior lacks the variable(s) {lacking[:6]} of model "
                f"'{spec.name}' (incomplete or edited)"
            )
        if panel is not None and not isinstance(panel, Panel):
            raise StructestError(f"expected a structest Panel, got {type(panel).__name__}")
        if panel is not None:
            _check_same(idata, panel)
        stored = stored_panel(idata) if PANEL_GROUP in idata.groups() else None
        if panel is None:
            panel = stored if stored is not None else stored_panel(idata)  # (raises)
        # the design is the fitted panel's: the stored one when the file carries it
        design = build_design(stored if stored is not None else panel, spec)
        if "log_likelihood" not in idata.groups():  # saved with log_likelihood=False
            add_log_likelihood(idata, design)
        for e in spec.effects:
            if list(design.levels[e]) != [str(v) for v in idata.posterior[e].values]:
                raise StructestError(
                    f"the levels of effect '{e}' on this panel differ from the fit's; pass the "
                    "panel the model was fitted to"
                )
        return cls(idata=idata, spec=spec, panel=panel, design=design)

    @classmethod
    def load(cls, path: str | Path, panel: Panel | None = None) -> StructuralFit:
        """Read a fit saved with :meth:`save` (or ``structest fit --out``).

        Without ``panel`` the fit uses the panel stored in the file (the one it was made
        on); with one, its fingerprint must match.

        Raises
        ------
        InputFileError
            The file is missing, a directory, not NetCDF, truncated, not a structest fit,
            or its contents are incomplete (one line naming the file).
        StructestError
            ``panel`` is not the panel the fit was made on.
        """
        idata = load_idata(path)
        try:
            return cls.from_idata(idata, panel)
        except InputFileError as exc:
            raise InputFileError(f"fit file {path}: {exc}") from None
        except PanelError as exc:
            raise InputFileError(
                f"fit file {path}: its stored panel is unusable: {exc.problems[0]}"
            ) from None
        except StructestError:
            raise
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
            text = str(exc).strip().splitlines()
            raise InputFileError(
                f"fit file {path} is incomplete or damaged: {type(exc).__name__} "
                f"{text[0] if text else ''}".rstrip()
            ) from None

    def save(
        self,
        path: str | Path,
        *,
        compress: bool = True,
        float32: bool = False,
        log_likelihood: bool = True,
    ) -> Path:
        """Write the fit (InferenceData with its panel and spec) to NetCDF atomically.

        Parameters
        ----------
        path
            The ``.nc`` file.
        compress
            zlib with byte shuffle (default on).
        float32
            Store the draws and the pointwise log-likelihood in float32 (read back as
            float64; about 7 significant digits); the data keep full precision.
        log_likelihood
            False: leave the pointwise log-likelihood out; :meth:`load` computes it
            again from the stored posterior and panel (LOO, LOO-PIT, identification).

        Measured sizes, 1-chain x 200-draw fit of ``bbj`` on a 240-obs synthetic panel
        (116 posterior values per draw): bytes of pointwise log-likelihood per draw and
        observation: 8.9 uncompressed, 8.2 default (zlib + shuffle: random doubles barely
        compress), 4.5 ``float32``, 0 ``log_likelihood=False``; the whole file per draw:
        5.5 kB uncompressed, 5.2 kB default, 3.9 kB float32, 3.3 kB without the
        log-likelihood, 2.8 kB both (a fixed ~0.5 MB is the stored panel and data).
        Scaled to the default main job (3071 obs, 4 x 1000 draws, ~116 MB before):
        about 107 MB default, 58 MB float32, 17 MB without log-likelihood, 9 MB both.

        Raises
        ------
        OutputError
            ``path`` is an existing folder, or an existing non-empty file that is not a
            NetCDF file (it is never replaced).
        OptionError
            ``compress``, ``float32`` or ``log_likelihood`` is not a bool.
        """
        return save_idata(
            self.idata,
            path,
            what="StructuralFit.save",
            compress=compress,
            float32=float32,
            log_likelihood=log_likelihood,
        )

    # ------------------------------------------------------------------ views
    @property
    def posterior(self) -> xr.Dataset:
        """``idata.posterior``."""
        return self.idata.posterior

    @property
    def fingerprint(self) -> str:
        """Hash of the fitted panel's keys and tariffs."""
        return str(self.idata.posterior.attrs.get("panel_fingerprint", self.panel.fingerprint()))

    def __repr__(self) -> str:
        post = self.posterior
        return (
            f"StructuralFit(model={self.spec.name!r}, {self.design.n} obs, "
            f"{post.sizes['chain']} chains x {post.sizes['draw']} draws)"
        )

    def summary(self, var_names: list[str] | None = None, *, hdi_prob: float = 0.9) -> pd.DataFrame:
        """``arviz.summary`` of the key parameters and coefficients, with what identifies each.

        Columns: ``mean, sd, hdi_<lo>%, hdi_<hi>%`` (highest-density interval,
        ``hdi_prob``), ``<lo>%, <hi>%`` (equal-tailed interval), ``mcse_mean, mcse_sd,
        ess_bulk, ess_tail, r_hat`` (:func:`~structest.structural.diagnostics.summarize`),
        then, when the fit has prior draws, ``contraction, prior_sensitivity,
        likelihood_sensitivity, verdict`` (see :meth:`identification`).
        """
        from .diagnostics import summarize

        table = summarize(self.idata, var_names, hdi_prob=hdi_prob)
        if "prior" in self.idata.groups():
            names = [n for n in table.index if n in self.idata.prior]
            if names:
                ident = self.identification(names)
                cols = ["contraction", "prior_sensitivity", "likelihood_sensitivity", "verdict"]
                table = table.join(ident[cols])
        return table

    def identification(self, var_names: list[str] | None = None) -> pd.DataFrame:
        """Contraction, prior/likelihood power-scaling sensitivity and a verdict per quantity
        (:func:`~structest.structural.diagnostics.identification`)."""
        from .diagnostics import identification

        return identification(self.with_log_likelihood().idata, var_names)

    def diagnostics(self) -> list[str]:
        """Sampling problems (divergences, R-hat > 1.01, bulk ESS < 400); empty when clean."""
        from .diagnostics import check_sampling

        return check_sampling(self.idata)

    def contraction(self, var_names: list[str] | None = None) -> pd.DataFrame:
        """Prior-to-posterior contraction per scalar parameter and implied coefficient."""
        from .diagnostics import contraction

        return contraction(self.idata, var_names)

    # ------------------------------------------------------------------ predictions
    def design_for(self, panel: Panel) -> Design:
        """The likelihood's arrays on another panel, with this fit's effect levels and groups.

        Raises :class:`~structest.errors.SpecError` for labels the fit has not seen.
        """
        return build_design(
            panel, self.spec, levels=dict(self.design.levels), groups=dict(self.design.groups)
        )

    def predict(
        self,
        panel: Panel | None = None,
        *,
        applied: bool = False,
        noise: bool = True,
        seed: int | np.random.Generator | None = 0,
    ) -> xr.DataArray:
        """Posterior predictions on ``panel`` (default: the fitted one).

        ``applied=False``: latent t* (pp, no noise); ``applied=True``: ``min(max(t* + e,
        lower), MFN)`` with the error drawn unless ``noise=False``.
        """
        ts = predict_tstar(self, panel)
        if not applied:
            return ts
        pan = self.panel if panel is None else panel
        mfn = pan.df["mfn"].to_numpy(float)
        arrays = self.design_for(pan).arrays
        vals = applied_draws(ts.values, self.posterior, self.spec, mfn, seed, noise, arrays)
        return ts.copy(data=vals).rename("applied")

    # ------------------------------------------------------------------ later steps
    def ppc(self, *, prob: float = 0.9, seed: int = 0) -> pd.DataFrame:
        """Posterior predictive checks, one row per check (:func:`structest.checks.ppc_summary`)."""
        from ..checks import ppc_summary

        self.with_log_likelihood()  # the randomized LOO-PIT needs it
        return ppc_summary(self, prob=prob, seed=seed)

    def loo(self, *, moment_match: bool = False, **kwargs: Any) -> Any:
        """PSIS-LOO of the fit (``arviz.loo`` on :attr:`idata`).

        ``moment_match=True``: moment matching for the observations with Pareto k > 0.7
        (:func:`structest.checks.loo_moment_match`, pointwise; ``kwargs`` go to it).
        """
        import arviz as az

        if moment_match:
            from ..checks.moment_match import loo_moment_match

            return loo_moment_match(self, **kwargs)
        return az.loo(self.with_log_likelihood().idata, **kwargs)

    def with_log_likelihood(self) -> StructuralFit:
        """The fit itself, its pointwise log-likelihood computed now (in place) when it
        was fitted with ``log_likelihood=False``."""
        if "log_likelihood" not in self.idata.groups():
            add_log_likelihood(self.idata, self.design)
        return self

    def counterfactual(self, **scenario: Any) -> xr.Dataset:
        """A counterfactual on the fitted panel (:func:`structest.counterfactual`)."""
        from ..counterfactuals import counterfactual

        return counterfactual(self, **scenario)


def _check_same(idata: Any, panel: Panel) -> None:
    """Raise when ``panel`` is not the panel ``idata`` was fitted to."""
    want = idata.posterior.attrs.get("panel_fingerprint")
    if want is not None:
        if panel.fingerprint() != want:
            n_fit = int(idata.posterior.attrs.get("panel_n_obs", -1))
            raise StructestError(
                f"the panel ({len(panel)} obs) is not the one this model was fitted to "
                f"({n_fit} obs): their observations (keys or tariffs) differ; pass the fitted "
                "panel or none (a fit carries its own)"
            )
        return
    obs = np.asarray(idata.observed_data["tariff"].values, float)
    if obs.shape[0] != len(panel) or not np.allclose(
        obs, panel.df["tariff"].to_numpy(float), atol=1e-8
    ):
        raise StructestError(
            f"the fit has {obs.shape[0]} observations whose tariffs differ from the panel's "
            f"({len(panel)} obs); pass the panel the model was fitted to"
        )


def as_fit(obj: Any, panel: Panel | None = None) -> StructuralFit:
    """A :class:`StructuralFit` from a fit, an InferenceData of structest or a saved file.

    ``panel`` (optional) must match the fitted panel's keys and tariffs (the fingerprint);
    it then replaces the fit's panel for statistics that read panel columns (e.g. the
    original MFN rates against a fit that ignored censoring).
    """
    if panel is not None and not isinstance(panel, Panel):
        raise StructestError(f"expected a structest Panel, got {type(panel).__name__}")
    if isinstance(obj, StructuralFit):
        if panel is None or panel is obj.panel:
            return obj
        _check_same(obj.idata, panel)
        return replace(obj, panel=panel)  # the design stays the fitted one
    if isinstance(obj, (str, Path)):
        return StructuralFit.load(obj, panel)
    if hasattr(obj, "posterior"):
        return StructuralFit.from_idata(obj, panel)
    raise StructestError(
        f"expected a StructuralFit, an InferenceData from structest.fit or a path to a saved "
        f"fit, got {type(obj).__name__}"
    )


def fit_for_baseline(obj: Any, panel: Panel | None) -> StructuralFit:
    """:func:`as_fit` for functions whose ``panel`` is a baseline that may differ from the
    fitted panel: the fit's own stored panel is used, and ``panel`` stands in for it only
    for an InferenceData that carries none (files written before fits stored their panel)."""
    lacks = hasattr(obj, "groups") and not isinstance(obj, StructuralFit)
    if lacks and PANEL_GROUP not in obj.groups() and panel is not None:
        return as_fit(obj, panel)
    return as_fit(obj)


def _obs_coords(panel: Panel) -> dict[str, Any]:
    out: dict[str, Any] = {"obs": np.arange(len(panel))}
    for k, v in panel.obs_coords().items():
        out[k] = ("obs", np.asarray(v).astype(np.int64 if k == "year" else str))
    return out


def predict_tstar(fit: Any, panel: Panel | None = None) -> xr.DataArray:
    """Latent optimal tariff t* (pp, no noise) for every posterior draw.

    Parameters
    ----------
    fit
        A :class:`StructuralFit` (or an InferenceData of structest with its panel stored).
    panel
        Observations to predict (default: the fitted panel); it may differ from the fitted
        one in DVA/FVA/FG/imports/RTA/MFN, but its effect labels (e.g. ``imp_ind_year``)
        must exist in the fit.

    Returns
    -------
    xarray.DataArray
        ``tstar`` with dims ``(chain, draw, obs)`` and obs coords importer, exporter,
        industry, year.
    """
    f = fit_for_baseline(fit, panel)
    pan = f.panel if panel is None else panel
    design = f.design if panel is None else f.design_for(pan)
    post = f.posterior
    vals = tstar_draws(post, f.spec, design.arrays)
    return xr.DataArray(
        vals,
        dims=("chain", "draw", "obs"),
        coords={"chain": post["chain"].values, "draw": post["draw"].values, **_obs_coords(pan)},
        name="tstar",
    )


def predict_applied(
    fit: Any,
    panel: Panel | None = None,
    seed: int | np.random.Generator | None = 0,
    noise: bool = True,
) -> xr.DataArray:
    """Posterior-predictive applied tariffs ``min(max(t* + e, lower), mfn)`` on ``panel``.

    See :func:`predict_tstar`; the panel's ``mfn`` is the cap, ``noise=False`` drops the
    error draw.
    """
    f = fit_for_baseline(fit, panel)
    return f.predict(panel, applied=True, noise=noise, seed=seed)

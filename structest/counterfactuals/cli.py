"""``structest counterfactual``: posterior counterfactuals from a saved fit.

Example::

    structest counterfactual --fit fit.nc --fva-growth 0.5 --out cf.nc --figures figs/
    structest counterfactual --fit fit.nc --fva-growth wiod:1995-2007 --rta-add USA-CHN
    structest counterfactual --fit fit.nc --mfn-scale 0.5 --by importer
    structest counterfactual --fit fit.nc --scenario scenario.toml

The options (scenario values, ``--by``, ranges) are checked when parsed, the files and
outputs (``--out`` may not be ``--fit``, ``--data`` or ``--scenario``) before any work.
The summary tables and the written paths go to stdout; progress lines and the scenario's
notes to stderr through :mod:`logging` (hidden by ``structest -q``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import tomllib
import warnings
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from .._io import (
    check_distinct,
    check_input_file,
    check_netcdf_input,
    check_output,
    cleanup_new_dirs,
    float_option,
    reading,
    writing,
)
from ..errors import InputFileError, OptionError, OutputError, SpecError

_log = logging.getLogger(__name__)
_progress = logging.getLogger("structest.progress.counterfactual")

#: groupings of the printed table (the default ``by`` of :func:`structest.counterfactual`)
#: (the same as ``compute.BY_CHOICES``, written out so that ``--help`` does not import JAX;
#: ``tests/test_cli.py`` checks that the two agree)
By = Enum("By", {b: b for b in ("importer", "industry", "exporter", "year", "rta")}, type=str)

#: groupings drawn by ``--figures`` (see :func:`save_figures`)
FIGURE_BY = ("importer", "industry")

#: largest seed (NumPy and JAX take 32-bit seeds)
MAX_SEED = 2**32 - 1


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise SpecError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise SpecError(f"{what}: {text!r} is not a finite number")
    return v


def parse_growth(text: str | None, option: str) -> Any:
    """CLI growth value: ``0.5``, ``wiod:1995-2007`` or ``USA=0.5,c3=0.2,USA/c3=0.1``.

    ``KEY=VALUE`` keys are importer or industry codes, or ``IMPORTER/INDUSTRY``.

    Raises
    ------
    SpecError
        Not one of these forms, a value that is not a finite number, an empty or repeated
        key.
    """
    if text is None or text.strip() == "":
        return 0.0
    t = text.strip()
    if t.lower().startswith("wiod:"):
        return t
    if "=" not in t:
        try:
            return _number(t, option)
        except SpecError:
            raise SpecError(
                f"{option}: expected a finite number, 'wiod:START-END' or KEY=VALUE,..., "
                f"got {text!r}"
            ) from None
    out: dict[Any, float] = {}
    for item in t.split(","):
        if "=" not in item:
            raise SpecError(f"{option}: item {item!r} is not KEY=VALUE")
        k, v = (x.strip() for x in item.split("=", 1))
        parts = [x.strip() for x in k.split("/")]
        if not k or not all(parts) or len(parts) > 2:
            raise SpecError(
                f"{option}: bad key {k!r} in {item!r} (IMPORTER, INDUSTRY or IMPORTER/INDUSTRY)"
            )
        key: Any = tuple(parts) if len(parts) == 2 else k
        if key in out:
            raise SpecError(f"{option}: key {k!r} given twice")
        out[key] = _number(v, f"{option}: value for {k!r}")
    return out


def parse_pairs(text: str | None, option: str = "--rta-add") -> list[str]:
    """``"USA-CHN,MEX-CAN"`` -> ``["USA-CHN", "MEX-CAN"]``.

    Raises
    ------
    SpecError
        An item that is not ``IMPORTER-EXPORTER`` with two different codes.
    """
    if not text:
        return []
    out = []
    for p in (p.strip() for p in text.split(",")):
        if not p:
            continue
        parts = [x.strip() for x in p.split("-")]
        if len(parts) != 2 or not all(parts):
            raise SpecError(f"{option}: {p!r} is not a pair IMPORTER-EXPORTER (e.g. USA-CHN)")
        if parts[0] == parts[1]:
            raise SpecError(f"{option}: {p!r} pairs a country with itself")
        out.append(f"{parts[0]}-{parts[1]}")
    return out


def _option(option: str, parse: Callable[[str | None, str], Any]) -> Callable[[Any], Any]:
    """A typer callback: parse the text when the command line is read (errors: exit 2)."""

    def callback(value: str | None) -> Any:
        if value is None:
            return None
        try:
            return parse(value, option)
        except SpecError as exc:
            raise typer.BadParameter(str(exc).removeprefix(f"{option}: ")) from None

    return callback


def _no_wiod(text: str | None, option: str) -> Any:
    v = parse_growth(text, option)
    if isinstance(v, str):
        raise SpecError(f"{option}: wiod: growth exists for FVA, DVA and FG only, got {text!r}")
    return v


def _scenario_keys(value: Any, key: str) -> Any:
    """Scenario file values: table keys ``"IMP/IND"`` become ``(IMP, IND)`` tuples."""
    if isinstance(value, dict) and key != "rta":
        return {tuple(k.split("/")) if "/" in k else k: v for k, v in value.items()}
    return value


#: largest scenario file read (bytes): a scenario is a few lines
MAX_SCENARIO_BYTES = 10 * 2**20


def _check_regular(path: Path, option: str) -> None:
    """Refuse, before opening it, an input that is not a regular file (FIFO, device,
    folder: :func:`structest._io.check_input_file`) or is too large for a scenario."""
    check_input_file(path, option)
    size = os.stat(path).st_size
    if size > MAX_SCENARIO_BYTES:
        raise InputFileError(
            f"{option} {path}: {size} bytes is too large for a scenario file "
            f"(at most {MAX_SCENARIO_BYTES} bytes)"
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` hook: a key given twice in one object is an error (as in TOML)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def read_scenario(path: Path) -> dict[str, Any]:
    """The scenario in a TOML or JSON file (keys: the fields of :class:`Scenario`).

    The fields are given at the top level or all inside one ``[scenario]`` table (not
    both). A UTF-8 byte-order mark is accepted.

    Raises
    ------
    InputFileError
        Not a regular file, unreadable, not TOML/JSON (a key given twice included), or not
        a table of scenario fields.
    """
    path = Path(path)
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    _check_regular(path, "--scenario")
    with reading("--scenario", path):
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SCENARIO_BYTES + 1)
        if len(raw) > MAX_SCENARIO_BYTES:
            raise InputFileError(f"--scenario {path}: too large for a scenario file")
        text = raw.decode("utf-8-sig")
    try:
        if kind == "JSON":
            d = json.loads(text, object_pairs_hook=_no_duplicates)
        else:
            d = tomllib.loads(text)
    except _DuplicateKey as exc:
        raise InputFileError(
            f"--scenario {path}: invalid JSON: key {exc.key!r} given twice"
        ) from None
    except RecursionError:
        raise InputFileError(f"--scenario {path}: invalid {kind}: nested too deeply") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        msg = " ".join(str(exc).split())[:200]
        raise InputFileError(f"--scenario {path}: invalid {kind}: {msg}") from None
    if not isinstance(d, dict):
        raise InputFileError(f"--scenario {path}: expected a table of scenario fields")
    if "scenario" in d:
        if not isinstance(d["scenario"], dict):
            raise InputFileError(
                f"--scenario {path}: 'scenario' must be a table of scenario fields, got "
                f"{type(d['scenario']).__name__}"
            )
        others = sorted(k for k in d if k != "scenario")
        if others:
            raise InputFileError(
                f"--scenario {path}: give the fields either at the top level or in the "
                f"[scenario] table, not both (top-level keys {others})"
            )
        d = d["scenario"]
    return {k: _scenario_keys(v, k) for k, v in d.items()}


def figure_names() -> list[str]:
    """The files ``--figures`` writes into its folder."""
    return [f"cf_{b}.png" for b in FIGURE_BY] + [f"cf_share_mfn_{b}.png" for b in FIGURE_BY]


def _check_out_not_a_figure(out: Path, figures: Path) -> None:
    """Refuse an ``--out`` that a figure of ``--figures`` would overwrite.

    Raises
    ------
    OutputError
        ``--out`` is (or resolves to) one of the figure files in the ``--figures`` folder.
    """
    target = Path(out).expanduser().absolute().resolve()
    folder = Path(figures).expanduser().absolute().resolve()
    for name in figure_names():
        if (folder / name).resolve() == target:
            raise OutputError(
                f"--out {out} is the figure {name} that --figures {figures} writes; "
                "choose another --out name or folder"
            )


def register(app: typer.Typer) -> None:
    """Attach the ``counterfactual`` command to the main app."""
    growth = "0.5, wiod:1995-2007, or USA=0.5,c3=0.2,USA/c3=0.1 (finite log changes)"

    @app.command("counterfactual")
    def counterfactual_cmd(
        fit: Path = typer.Option(
            ...,
            "--fit",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A fit saved by `structest fit --out` / save_fit.",
        ),
        data: Path = typer.Option(
            None,
            "--data",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Baseline panel (.parquet/.csv) whose effect labels exist in the fit "
            "(default: the panel the fit was made on, stored in the fit).",
        ),
        scenario: Path = typer.Option(
            None,
            "--scenario",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Scenario file (TOML or JSON) with keys fva_growth, dva_growth, "
            "imports_growth, fg_growth, rta, mfn, rta_symmetric, name; instead of the "
            "scenario options below.",
        ),
        fva_growth: str = typer.Option(
            None,
            callback=_option("--fva-growth", parse_growth),
            help=f"Log change of FVA: {growth}.",
        ),
        dva_growth: str = typer.Option(
            None,
            callback=_option("--dva-growth", parse_growth),
            help="Log change of DVA (same forms).",
        ),
        imports_growth: str = typer.Option(
            None,
            callback=_option("--imports-growth", _no_wiod),
            help="Log change of imports (same forms, no wiod:).",
        ),
        fg_growth: str = typer.Option(
            None,
            callback=_option("--fg-growth", parse_growth),
            help="Log change of final-goods output (same forms).",
        ),
        rta_add: str = typer.Option(
            None,
            callback=_option("--rta-add", parse_pairs),
            help="Pairs switched into an RTA: USA-CHN,MEX-JPN.",
        ),
        rta_remove: str = typer.Option(
            None,
            callback=_option("--rta-remove", parse_pairs),
            help="Pairs switched out of an RTA: USA-MEX.",
        ),
        one_way: bool = typer.Option(
            False,
            "--one-way",
            help="Switch only importer-exporter as written (default: both directions).",
        ),
        mfn_scale: float = typer.Option(
            None,
            callback=float_option(low=0.0),
            help="Multiply every MFN rate by this factor (finite, >= 0).",
        ),
        noise: bool = typer.Option(
            False,
            "--noise/--no-noise",
            help="Add errors to applied tariffs (common to both states).",
        ),
        seed: int = typer.Option(
            0, min=0, max=MAX_SEED, help="Seed of the errors (--noise), >= 0."
        ),
        interval: float = typer.Option(
            0.9,
            callback=float_option(low=0.0, high=1.0, low_open=True, high_open=True),
            help="Probability of the reported intervals, in (0, 1).",
        ),
        thin: int = typer.Option(1, min=1, help="Keep every n-th posterior draw (>= 1)."),
        by: By = typer.Option(By.importer, help="Grouping of the printed table."),
        out: Path = typer.Option(
            None,
            "--out",
            help="Write the result as NetCDF (atomically; not --fit/--data/--scenario).",
        ),
        figures: Path = typer.Option(
            None, "--figures", help="Write interval plots (png) to this folder."
        ),
    ) -> None:
        """Counterfactual optimal and applied tariffs for every posterior draw."""
        from .._devices import default_host_devices

        # every check before any work: scenario, environment, outputs
        rta: dict[str, int] = {p: 1 for p in rta_add or []}
        for p in rta_remove or []:
            rev = "-".join(reversed(p.split("-")))
            if p in rta:
                raise OptionError(f"pair {p!r} is in both --rta-add and --rta-remove")
            if not one_way and rev in rta:
                raise OptionError(
                    f"pair {p!r} is in --rta-remove and its reverse {rev!r} in --rta-add: "
                    "without --one-way both directions switch, so they contradict"
                )
            rta[p] = 0
        fields = {
            "fva_growth": 0.0 if fva_growth is None else fva_growth,
            "dva_growth": 0.0 if dva_growth is None else dva_growth,
            "imports_growth": 0.0 if imports_growth is None else imports_growth,
            "fg_growth": 0.0 if fg_growth is None else fg_growth,
            "rta": rta or None,
            "mfn": mfn_scale,
            "rta_symmetric": not one_way,
        }
        if scenario is not None:
            named = {
                "--fva-growth": fva_growth,
                "--dva-growth": dva_growth,
                "--imports-growth": imports_growth,
                "--fg-growth": fg_growth,
                "--rta-add": rta_add,
                "--rta-remove": rta_remove,
                "--mfn-scale": mfn_scale,
                "--one-way": one_way or None,
            }
            given = [k for k, v in named.items() if v is not None]
            if given:
                raise OptionError(
                    f"give the scenario in --scenario {scenario} or with {', '.join(given)}, not both"
                )
            fields = read_scenario(scenario)
        default_host_devices()
        check_netcdf_input(fit, "--fit")
        inputs = [("--fit", fit), ("--data", data), ("--scenario", scenario)]
        if out is not None:
            out = check_output(out, inputs=inputs, kind="file", fmt="netcdf")
        if figures is not None:
            names = figure_names()
            figures = check_output(
                figures,
                inputs=inputs,
                kind="dir",
                what="--figures",
                contents=dict.fromkeys(names, ""),
            )
        check_distinct(("--out", out), ("--figures", figures))
        if out is not None and figures is not None:
            _check_out_not_a_figure(out, figures)

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

        scen = Scenario.from_dict(fields)
        # without --data: the panel stored in the fit (the one it was made on)
        baseline = None
        if data is not None:
            with reading("--data", data):
                baseline = Panel.from_file(data)
        with reading("--fit", fit):
            fitted = load_idata(fit)  # counterfactual() rebuilds the fit (and its stored panel)
        _progress.info("computing the counterfactual from %s", fit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the notes are logged below
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
        for key in ("scenario_notes", "identification_notes"):
            for note in filter(None, str(ds.attrs.get(key, "")).split(" | ")):
                _log.warning("%s", note, extra={"prefix": "note"})
        typer.echo("")
        typer.echo(format_summary(ds))
        typer.echo("")
        typer.echo(format_summary(ds, by.value))
        if out is not None:
            with writing("--out", out):
                typer.echo(f"\nwrote {save_counterfactual(ds, out)}")
        if figures is not None:
            with cleanup_new_dirs(figures), writing("--figures", figures):
                _progress.info("drawing the figures into %s", figures)
                paths = save_figures(ds, figures, by=FIGURE_BY)
            for p in paths:
                typer.echo(f"wrote {p}")

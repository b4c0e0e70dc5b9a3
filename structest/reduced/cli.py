"""``structest reduced-form``: fit a named specification (or a whole table of the paper)
and print a paper-style table.

``--spec NAME`` fits one spec (a formula, a name of :data:`SPECS`, or a column of the
paper such as ``table5_col3``: then the paper's numbers are printed beside structest's);
``--table T`` fits every column of the paper's table ``T`` that the bundled data support
and prints structest's estimates beside the paper's, with the counts of same signs and of
estimates within two paper standard errors. The choices (``--estimator``, ``--sample``,
``--format``, ``--table``) and ``--lower`` are checked when the command line is parsed,
``--data`` before any work.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from .._io import check_output, float_option, reading
from ..errors import OptionError
from . import ESTIMATORS
from .formula import SAMPLES, SPECS, parse
from .paper import TABLES

# choices as Enums (typer lists them in --help and refuses others when parsing)
Estimator = Enum("Estimator", {e: e for e in ESTIMATORS}, type=str)
Sample = Enum("Sample", {s: s for s in SAMPLES}, type=str)
Format = Enum("Format", {"markdown": "markdown", "latex": "latex"}, type=str)
Table = Enum("Table", {t: t for t in TABLES}, type=str)

#: estimators that take ``--lower``
CENSORED = ("tobit", "tobit_iv")
#: the spec fitted when neither ``--spec`` nor ``--table`` is given
DEFAULT_SPEC = "eq16"


_SPEC_HELP = (
    f"Named spec ({', '.join(SPECS)}), a column of the paper (table<T>_col<C>, "
    "e.g. table5_col3) or a formula. Repeat for one column per spec. "
    f"Default: {DEFAULT_SPEC}."
)


def _load_main_panel(data: Path | None) -> object:
    from ..panel import Panel

    if data is None:
        from ..data.load import load_panel

        with reading("bundled panel", "data/panel.parquet"):
            return load_panel()
    with reading("--data", data):
        return Panel.from_file(data)


def _load_ttb_panel(data: Path | None) -> object:
    """The TTB coverage panel (``--data`` or the bundled one), loaded lazily."""
    from ..data import load

    loader = getattr(load, "load_ttb_panel", None)
    if loader is None:
        raise OptionError(
            "Table 7 needs the TTB coverage panel, but structest.data.load.load_ttb_panel is "
            "not available in this installation"
        )
    with reading("--data" if data is not None else "bundled TTB panel", data or "data/"):
        return loader(data) if data is not None else loader()


def register(app: typer.Typer) -> None:
    """Add the ``reduced-form`` command to the structest CLI."""

    @app.command("reduced-form")
    def reduced_form(
        spec: list[str] | None = typer.Option(
            None,
            "--spec",
            help=_SPEC_HELP,
        ),
        table: Table | None = typer.Option(
            None,
            "--table",
            case_sensitive=False,
            help="Fit every supported column of this table of the paper and print the paper's "
            "numbers beside structest's (exclusive with --spec).",
        ),
        estimator: list[Estimator] | None = typer.Option(
            None,
            "--estimator",
            help="The estimator (default: the spec's; a formula: ols). Give it once for "
            "every --spec, or once per --spec (in order).",
        ),
        cluster: str | None = typer.Option(
            None,
            "--cluster",
            help="Cluster standard errors by this column, or 'none' for "
            "heteroskedasticity-robust ones (default: the spec's, usually pair).",
        ),
        out: Path | None = typer.Option(
            None,
            "--out",
            help="Write the table to this file (atomically); the extension picks the "
            "format: .tex, .html, .docx or .md.",
        ),
        data: Path | None = typer.Option(
            None,
            "--data",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Panel file (.parquet/.csv); default: bundled panel (Table 7: the TTB panel).",
        ),
        sample: Sample | None = typer.Option(
            None, "--sample", help="Sample rule (default: the spec's; a formula: all)."
        ),
        fmt: Format = typer.Option(Format.markdown, "--format", help="Table format."),
        lower: float | None = typer.Option(
            None,
            "--lower",
            callback=float_option(),
            help="Tobit (tobit, tobit_iv): also left-censor at this value (e.g. 0).",
        ),
    ) -> None:
        """Estimate a reduced-form specification (BBJ 2016 eq. 16/17/19, a column or a whole
        table of the paper) and print the table."""
        fmt_value = fmt.value
        if table is not None:
            if spec is not None:
                raise OptionError(
                    "--spec and --table are exclusive: --spec fits one spec, --table every "
                    "column of a table of the paper"
                )
            given = [
                name
                for name, value in (
                    ("--estimator", estimator),
                    ("--sample", sample),
                    ("--lower", lower),
                    ("--cluster", cluster),
                    ("--out", out),
                )
                if value is not None
            ]
            if given:
                raise OptionError(
                    f"{', '.join(given)} cannot be combined with --table: each column of the "
                    "paper is fitted with its own estimator and sample (use --spec "
                    "table<T>_col<C> to change them for one column)"
                )
            _run_table(table.value, data, fmt_value)
            return
        specs = list(spec) if spec else [DEFAULT_SPEC]
        ests = [e.value for e in estimator] if estimator else []
        if len(ests) > 1 and len(ests) != len(specs):
            raise OptionError(
                f"--estimator given {len(ests)} times for {len(specs)} --spec: give it once "
                "(for every spec) or once per --spec"
            )
        per_spec: list[str | None] = ests * len(specs) if len(ests) == 1 else list(ests)
        if not per_spec:
            per_spec = [None] * len(specs)
        cluster_value = _cluster_option(cluster)
        out_fmt = None
        if out is not None:
            out_fmt = _out_format(out)
            out = check_output(out, inputs=[("--data", data)], kind="file")
        if len(specs) == 1 and out is None and cluster is None:
            _run_spec(
                specs[0],
                per_spec[0],
                None if sample is None else sample.value,
                data,
                fmt_value,
                lower,
            )
            return
        _run_specs(
            specs,
            per_spec,
            None if sample is None else sample.value,
            data,
            fmt_value,
            lower,
            cluster_value,
            out,
            out_fmt,
        )


#: ``--out`` extension -> format
OUT_FORMATS = {".tex": "latex", ".html": "html", ".htm": "html", ".docx": "docx", ".md": "markdown"}
#: marker of "the spec's own cluster"
_SPEC_CLUSTER = object()


def _given(
    estimator: str | None,
    sample: str | None,
    lower: float | None,
    cluster: object = _SPEC_CLUSTER,
) -> dict[str, object]:
    """The options the user gave (a named spec's own defaults fill the rest); ``cluster``
    None means heteroskedasticity-robust and is passed on."""
    given = {"estimator": estimator, "sample": sample, "lower": lower}
    kwargs: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if cluster is not _SPEC_CLUSTER:
        kwargs["cluster"] = cluster
    return kwargs


def _out_format(out: Path) -> str:
    """The table format of ``--out`` from its extension (one-line refusal otherwise)."""
    ext = out.suffix.lower()
    if ext not in OUT_FORMATS:
        raise OptionError(
            f"--out {out}: unknown extension {ext or '(none)'!r}; use .tex, .html, .docx or .md"
        )
    return OUT_FORMATS[ext]


def _cluster_option(cluster: str | None) -> object:
    """``--cluster``: None (not given: the spec's), ``"none"`` (robust) or a column."""
    if cluster is None:
        return _SPEC_CLUSTER
    c = cluster.strip()
    if not c:
        raise OptionError("--cluster: empty; give a column name or 'none'")
    if c.lower() == "none":
        return None
    if not c.replace("_", "").isalnum():
        raise OptionError(f"--cluster {cluster!r}: not a column name (letters, digits, _)")
    return c


def _run_specs(
    specs: list[str],
    estimators: list[str | None],
    sample: str | None,
    data: Path | None,
    fmt: str,
    lower: float | None,
    cluster: object,
    out: Path | None,
    out_fmt: str | None,
) -> None:
    """Fit each spec (one column each) and print or write one table."""
    from .. import _io
    from . import fit_reduced_form, tables
    from .paper import PAPER_SPECS

    for sp, est in zip(specs, estimators, strict=True):
        paper = PAPER_SPECS.get(sp)
        shown = est or (paper.estimator if paper else "ols")
        if lower is not None and shown not in CENSORED:
            raise OptionError(
                f"--lower applies to --estimator {' or '.join(CENSORED)} only, not {shown!r} "
                f"(--spec {sp})"
            )
        parse(sp)
        if paper is not None and not paper.supported:
            raise OptionError(f"{sp} is not supported by the bundled data: {paper.why_not}")
    need_ttb = [PAPER_SPECS.get(sp) is not None and PAPER_SPECS[sp].data == "ttb" for sp in specs]
    if any(need_ttb) and not all(need_ttb):
        raise OptionError(
            "--spec mixes Table 7 (TTB panel) columns with others; fit them in separate tables"
        )
    panel = _load_ttb_panel(data) if all(need_ttb) else _load_main_panel(data)
    fits = []
    for sp, est in zip(specs, estimators, strict=True):
        fits.append(fit_reduced_form(panel, sp, **_given(est, sample, lower, cluster)))
    heads = [
        f"{tables.ESTIMATOR_NAMES.get(r.estimator, r.estimator)}: {sp}"
        for r, sp in zip(fits, specs, strict=True)
    ]
    title = "structest reduced form"
    if out is None:
        typer.echo(tables.regression_table(fits, to=fmt, column_names=heads, title=title))
    elif out_fmt == "docx":
        et = tables.regression_table(fits, to="maketables", column_names=heads, title=title)
        _io.atomic_write(out, lambda tmp: et._output_docx().save(tmp))
        typer.echo(str(out))
    else:
        text = tables.regression_table(fits, to=out_fmt, column_names=heads, title=title)
        if out_fmt == "html":
            text = (
                "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>structest table"
                f"</title></head><body>\n{text}\n</body></html>\n"
            )
        _io.atomic_write(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        typer.echo(str(out))
    for r, sp in zip(fits, specs, strict=True):
        for why, n in getattr(r, "dropped", ()):
            typer.echo(f"{sp}: dropped {n} obs: {why}")


def _run_spec(
    spec: str,
    estimator: str | None,
    sample: str | None,
    data: Path | None,
    fmt: str,
    lower: float | None,
) -> None:
    from . import fit_reduced_form, tables
    from .paper import PAPER_SPECS, compare_to_paper
    from .results import Results

    paper = PAPER_SPECS.get(spec)
    shown_est = estimator or (paper.estimator if paper else "ols")
    if lower is not None and shown_est not in CENSORED:
        raise OptionError(
            f"--lower applies to --estimator {' or '.join(CENSORED)} only, not {shown_est!r}"
        )
    parse(spec)  # a bad formula fails before the data are read
    if paper is not None and not paper.supported:
        raise OptionError(f"{spec} is not supported by the bundled data: {paper.why_not}")
    if paper is not None and paper.data == "ttb":
        panel = _load_ttb_panel(data)
    else:
        panel = _load_main_panel(data)
    res = fit_reduced_form(panel, spec, **_given(estimator, sample, lower))
    used_sample = getattr(res, "sample", sample or "all")
    used_est = getattr(res, "estimator", shown_est)
    typer.echo(
        tables.regression_table([res], to=fmt, title=f"{spec} ({used_est}, sample {used_sample})")
    )
    for why, n in getattr(res, "dropped", ()):
        typer.echo(f"dropped {n} obs: {why}")
    for note in getattr(res, "notes", ()):
        typer.echo(f"note: {note}")
    if paper is not None and isinstance(res, Results):
        cmp = compare_to_paper([res])
        cmp = cmp[cmp["spec"] == spec]
        typer.echo("")
        typer.echo(
            tables.paper_comparison_table(
                cmp, to=fmt, title=f"{spec} beside the paper ({paper.title})"
            )
        )


def _run_table(table: str, data: Path | None, fmt: str) -> None:
    from . import tables
    from .paper import TABLE_TITLES, compare_to_paper, fit_table, table_specs

    specs = table_specs(table)
    if all(s.data == "ttb" for s in specs):
        panel, ttb = None, _load_ttb_panel(data)
    else:
        panel, ttb = _load_main_panel(data), None
    fits = fit_table(panel, table, ttb_panel=ttb, on_error="skip")
    cmp = compare_to_paper(fits, tables=[table])
    typer.echo(
        tables.paper_comparison_table(
            cmp, to=fmt, title=f"Table {table}: {TABLE_TITLES[table]} (structest beside the paper)"
        )
    )
    from ..panel import Panel

    base = set(panel.dropped) if isinstance(panel, Panel) else set()
    if base:
        n = sum(c for _, c in base)
        typer.echo(f"panel: {n} obs excluded when it was built (see `structest data describe`)")
    for res in fits:
        for why, n in res.dropped:
            if (why, n) not in base:
                typer.echo(f"{res.spec}: dropped {n} obs: {why}")
    items: dict[str, list[int]] = {}
    for s in specs:
        for item in s.departures:
            items.setdefault(item, []).append(s.column)
    typer.echo("departures from the paper (columns):")
    for item, cols in items.items():
        shown = "all" if len(cols) == len(specs) else ", ".join(map(str, cols))
        typer.echo(f"- ({shown}) {item}")

"""Run a sweep's reps as Dask tasks and store each result as it arrives.

:func:`run_sweep` builds the reps of a kind (coverage, SBC, prior grid, scenarios),
skips those already in the output folder (:class:`~structest.sweeps.store.SweepStore`),
submits the rest to a Dask scheduler (a :class:`dask.distributed.LocalCluster` of
processes by default, or any scheduler address), and writes each rep's table as soon as
its task finishes. A task whose worker dies is run again elsewhere by the scheduler (up
to ``distributed.scheduler.allowed-failures`` times); one that raises an unexpected error
is retried ``retries`` times; a :class:`~structest.errors.StructestError` of the task
(a rep that cannot be done) is stored as a failed rep.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._logging import progress as progress_line
from ..errors import OptionError, StructestError
from ..structural.spec import DEFAULT_MODEL
from . import tasks as T
from .store import SweepStore, check_rep_id, rep_ids

#: kinds of sweep
KINDS = ("coverage", "sbc", "priors", "scenarios")
#: largest number of local workers and of reps (beyond: a typo)
MAX_WORKERS = 1024
MAX_REPS = 1_000_000
#: environment of a worker process: one XLA host device, no progress bars, one thread
WORKER_ENV = {
    "STRUCTEST_HOST_DEVICES": "1",
    "CI": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
#: seconds to wait for a scheduler at an address to answer
CONNECT_TIMEOUT = 10
#: a scheduler address: ``[protocol://]host:port``
_ADDRESS = re.compile(
    r"^(?:(?P<proto>tcp|tls|ucx|ws|wss)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r":(?P<port>\d{1,5})$"
)

_log = logging.getLogger(__name__)


# ----------------------------------------------------------------------- options
def check_scheduler(scheduler: Any) -> str:
    """``"local"`` or a scheduler address ``[tcp|tls|ucx|ws|wss://]host:port``.

    Raises
    ------
    OptionError
        Anything else (one line with the accepted forms).
    """
    if not isinstance(scheduler, str):
        raise OptionError(
            f"--scheduler must be 'local' or an address like tcp://host:8786, got "
            f"{type(scheduler).__name__} {scheduler!r}"
        )
    s = scheduler.strip()
    if s == "local":
        return s
    m = _ADDRESS.match(s)
    if not m or not 1 <= int(m.group("port")) <= 65535:
        raise OptionError(
            f"--scheduler {scheduler!r}: expected 'local' or a Dask scheduler address "
            "[tcp://]HOST:PORT (port 1-65535), e.g. tcp://10.0.0.5:8786"
        )
    return s if m.group("proto") else f"tcp://{s}"


def check_count(value: Any, name: str, low: int, high: int) -> int:
    """An integer option in ``[low, high]`` or a one-line OptionError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise OptionError(
            f"{name} must be an integer in [{low}, {high}], got {type(value).__name__} {value!r}"
        )
    if not low <= value <= high:
        raise OptionError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def check_level(value: Any, name: str = "--level") -> float:
    """A probability in (0, 1) or a one-line OptionError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise OptionError(f"{name} must be a number in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise OptionError(f"{name} must lie in (0, 1), got {value!r}")
    return float(value)


def rep_seeds(seed: int, index: int) -> tuple[int, int]:
    """Independent 32-bit seeds of rep ``index``'s world and fit, from the sweep's ``seed``."""
    a, b = np.random.SeedSequence([int(seed), int(index)]).generate_state(2)
    return int(a), int(b)


# ----------------------------------------------------------------------- the worker side
def worker_setup() -> None:
    """In a worker process: one XLA host device and no progress bars (before JAX starts)."""
    for k, v in WORKER_ENV.items():
        if k in ("STRUCTEST_HOST_DEVICES", "CI"):
            os.environ[k] = v
        else:
            os.environ.setdefault(k, v)
    if "jax" in sys.modules:  # too late to change a started JAX: keep its count
        from .._devices import set_host_devices

        set_host_devices(1, strict=False)


def execute(task: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Run one task where it is scheduled; its table or its one-line user error.

    Returns
    -------
    dict
        ``status`` (``"ok"``/``"failed"``), ``table`` (a DataFrame or None), ``error``,
        ``seconds``, ``worker`` (``host:pid``), ``warnings`` (how many were raised).
    """
    worker_setup()
    t0 = time.perf_counter()
    where = f"{socket.gethostname()}:{os.getpid()}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            table = task(**kwargs)
        except StructestError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return {"status": "failed", "table": None, "seconds": time.perf_counter() - t0,
                    "error": f"{type(exc).__name__}: {first}", "worker": where,
                    "warnings": len(caught)}  # fmt: skip
    return {"status": "ok", "table": pd.DataFrame(table), "error": "",
            "seconds": time.perf_counter() - t0, "worker": where, "warnings": len(caught)}  # fmt: skip


# ----------------------------------------------------------------------- results
@dataclass
class SweepResult:
    """What a sweep did and found.

    Attributes
    ----------
    kind, out
        The sweep and its folder.
    table
        Rows of every finished rep in the folder (this run's and earlier ones).
    summary
        The kind's summary table (:func:`summarise`).
    ran, skipped
        Reps run now; reps found finished on disk and not run again.
    failed
        Reps stored as failed (rep -> one-line error), this run's and earlier ones.
    lost
        Reps whose task did not finish (worker deaths beyond the retries, unexpected
        errors): not stored, so a re-run does them (rep -> one-line error).
    seconds
        Wall time of this run.
    """

    kind: str
    out: Path
    table: pd.DataFrame
    summary: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    level: float = 0.9

    def format(self) -> str:
        """The summary as text (the command line prints it)."""
        head = (
            f"sweep {self.kind}: {len(self.ran)} rep(s) run in {self.seconds:.0f} s, "
            f"{len(self.skipped)} found in {self.out}, {len(self.failed)} failed, "
            f"{len(self.lost)} lost"
        )
        lines = [head]
        if not self.summary.empty:
            lines.append(format_summary(self.kind, self.summary, self.level))
        for rep, err in sorted(self.failed.items()):
            lines.append(f"failed {rep}: {err}")
        for rep, err in sorted(self.lost.items()):
            lines.append(f"lost {rep} (run the sweep again to redo it): {err}")
        return "\n".join(lines)


def summarise(kind: str, table: pd.DataFrame, level: float = 0.9) -> pd.DataFrame:
    """The summary of a sweep's rows.

    coverage: per parameter ``coverage, reps, se`` (binomial s.e. at the nominal
    ``level``, sqrt(level (1 - level) / reps)) and ``divergent_reps``; sbc: per parameter
    the rank-uniformity test (:func:`~structest.sweeps.sbc.sbc_summary`); priors: one row per
    grid point and parameter (mean, interval); scenarios: one row per scenario and
    quantity (mean, interval).
    """
    if table.empty:
        return pd.DataFrame()
    if kind == "coverage":
        g = table.groupby("param", sort=False)
        out = (
            g["covered"]
            .agg(["mean", "count"])
            .rename(columns={"mean": "coverage", "count": "reps"})
        )
        out["se"] = np.sqrt(level * (1.0 - level) / out["reps"])
        out["divergent_reps"] = g["divergences"].apply(lambda s: int((s > 0).sum()))
        return out
    if kind == "sbc":
        from .sbc import sbc_summary

        return sbc_summary(table)
    if kind == "priors":
        return table.set_index(["point", "param"])[["mean", "sd", "lo", "hi", "divergences"]]
    if kind == "scenarios":
        return table.set_index(["scenario", "quantity"])[["mean", "median", "lo", "hi"]]
    return table


def format_summary(kind: str, summary: pd.DataFrame, level: float = 0.9) -> str:
    """Text of :func:`summarise`'s table."""

    def fmt(v: float) -> str:
        return f"{v:.3f}"

    pct = int(round(100 * level))
    if kind == "coverage":
        return (
            f"{pct}% interval coverage per parameter (se: binomial at {level}):\n"
            + summary.to_string(float_format=fmt)
        )
    if kind == "sbc":
        return "SBC rank uniformity per parameter (chi-square test; small p: miscalibrated):\n" + (
            summary.to_string(float_format=fmt)
        )
    if kind == "priors":
        return f"posterior under each prior point (lo, hi: central {pct}% interval):\n" + (
            summary.to_string(float_format=fmt)
        )
    if kind == "scenarios":
        return f"scenario effects over all observations (lo, hi: central {pct}% interval):\n" + (
            summary.to_string(float_format=fmt)
        )
    return summary.to_string()


# ----------------------------------------------------------------------- the plan
@dataclass
class Plan:
    """The reps of a sweep: id -> (task, keyword arguments), and the shared settings."""

    kind: str
    config: dict[str, Any]
    reps: dict[str, tuple[Callable[..., Any], dict[str, Any]]]
    level: float = 0.9


def prior_label(priors: Mapping[str, Any]) -> str:
    """``eps=lognormal(2.3,0.5) sigma=halfnormal(2)``: a grid point's name."""
    if not priors:
        return "model priors"
    parts = []
    for k in sorted(priors):
        fam, *args = priors[k]
        parts.append(f"{k}={fam}({','.join(f'{float(a):g}' for a in args)})")
    return " ".join(parts)


def _model_key(model: Any) -> str:
    """The model's name and a hash of its full specification (a resumed sweep must match)."""
    import hashlib

    from ..structural.spec import ModelSpec, load_model, validate_spec

    spec = validate_spec(model) if isinstance(model, ModelSpec) else load_model(model)
    digest = hashlib.sha1(spec.to_json().encode()).hexdigest()[:12]
    return f"{spec.name} ({digest})"


def _point_id(i: int, label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_.-")[:60] or "point"
    return check_rep_id(f"p{i:03d}-{slug}")


def plan(
    kind: str,
    *,
    reps: int | None = None,
    model: Any = DEFAULT_MODEL,
    chains: int = 2,
    draws: int = 300,
    tune: int = 300,
    seed: int = 0,
    world: str = "small",
    nu: float = 0.0,
    level: float = 0.9,
    rank_draws: int = 99,
    grid: list[Mapping[str, Any]] | None = None,
    panel: Any = None,
    panel_name: str | None = None,
    fit: str | Path | None = None,
    scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    thin: int = 1,
    task: Callable[..., Any] | None = None,
) -> Plan:
    """The reps of a sweep of ``kind`` (see :func:`run_sweep` for the options).

    Raises
    ------
    OptionError
        An option of the wrong type or out of range, an option given to a kind that does
        not use it, or a missing one (``grid`` for priors, ``fit``/``scenarios`` for
        scenarios).
    """
    if kind not in KINDS:
        raise OptionError(f"sweep: kind must be one of {list(KINDS)}, got {kind!r}")
    from ..structural.sampling import MAX_CHAINS, MAX_DRAWS, MAX_SEED

    chains = check_count(chains, "--chains", 1, MAX_CHAINS)
    draws = check_count(draws, "--draws", 1, MAX_DRAWS)
    tune = check_count(tune, "--tune", 0, MAX_DRAWS)
    seed = check_count(seed, "--seed", 0, MAX_SEED)
    level = check_level(level)
    model_name = _model_key(model) if kind != "scenarios" else None
    fit_opts = {"chains": chains, "draws": draws, "tune": tune}
    if kind in ("coverage", "sbc"):
        if reps is None:
            raise OptionError(f"sweep {kind}: give the number of reps (--reps N)")
        n = check_count(reps, "--reps", 1, MAX_REPS)
        T.world_options(world)
        if (
            isinstance(nu, bool)
            or not isinstance(nu, (int, float))
            or not (nu == 0 or (math.isfinite(nu) and nu > 0))
        ):
            raise OptionError(
                f"--nu must be 0 (the model's errors) or a finite number > 0, got {nu!r}"
            )
        config = {"model": model_name, "world": world, "seed": seed, **fit_opts}
        if kind == "coverage":
            config.update(nu=float(nu), level=level)
            fn = task or T.coverage_rep
            extra = {"nu": float(nu), "level": level}
        else:
            if nu:
                raise OptionError("sweep sbc: --nu does not apply (the world follows the model)")
            rank_draws = check_count(rank_draws, "--rank-draws", 1, MAX_DRAWS)
            if rank_draws > chains * draws:
                raise OptionError(
                    f"--rank-draws {rank_draws} exceeds the posterior's {chains} x {draws} "
                    "draws; give fewer rank draws or more draws"
                )
            config.update(rank_draws=rank_draws)
            fn = task or T.sbc_rep
            extra = {"rank_draws": rank_draws}
        out: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}
        for i, rep in enumerate(rep_ids(n)):
            ws, fs = rep_seeds(seed, i)
            kw = {"model": model, "world": world, "world_seed": ws, "fit_seed": fs,
                  "rep": i, **fit_opts, **extra}  # fmt: skip
            out[rep] = (fn, kw)
        return Plan(kind, config, out, level)
    if reps is not None:
        raise OptionError(f"sweep {kind}: --reps does not apply (one rep per point)")
    if kind == "priors":
        if not grid:
            raise OptionError(
                "sweep priors: give at least one prior point (--prior NAME=FAMILY:ARGS)"
            )
        from ..structural.spec import load_model

        spec = load_model(model)
        for point in grid:  # every override checked before any work
            spec.with_priors(point)
        config = {"model": model_name, "data": panel_name or "bundled panel", "seed": seed,
                  "level": level, **fit_opts}  # fmt: skip
        out = {}
        for i, point in enumerate(grid):
            label = prior_label(point)
            kw = {"priors": dict(point), "model": model, "panel": panel, "fit_seed": seed,
                  "level": level, "point": label, **fit_opts}  # fmt: skip
            out[_point_id(i, label)] = (task or T.prior_point, kw)
        return Plan(kind, config, out, level)
    # scenarios
    if fit is None or not scenarios:
        raise OptionError("sweep scenarios: give --fit FIT.nc and at least one --scenario FILE")
    thin = check_count(thin, "--thin", 1, MAX_DRAWS)
    config = {"fit": str(Path(fit).expanduser().absolute()), "level": level, "thin": thin,
              "seed": seed}  # fmt: skip
    out = {}
    for i, (name, scen) in enumerate(scenarios.items()):
        kw = {"scenario": dict(scen), "fit": str(fit), "interval": level, "thin": thin,
              "fit_seed": seed, "name": name}  # fmt: skip
        out[_point_id(i, name)] = (task or T.scenario_point, kw)
    return Plan(kind, config, out, level)


def _label_rows(kind: str, table: pd.DataFrame, kw: Mapping[str, Any]) -> pd.DataFrame:
    """Add the rep's own key column (grid point, scenario name) to its rows."""
    if kind == "priors":
        return table.assign(point=kw.get("point", ""))
    if kind == "scenarios":
        return table.assign(scenario=kw.get("name", ""))
    return table


# ----------------------------------------------------------------------- the client side
def _dask(name: str) -> Any:
    """``dask.distributed.<name>``, or an OptionError saying how to install it."""
    try:
        import dask.distributed as dd
    except ImportError:
        raise OptionError(
            "sweeps run on Dask, which is not installed: pip install 'structest[sweep]' "
            "(or 'dask[distributed]')"
        ) from None
    return getattr(dd, name)


def _client(scheduler: str, workers: int | None, n_tasks: int) -> tuple[Any, Any]:
    """A connected Dask client and the LocalCluster it owns (None at an address).

    Raises
    ------
    OptionError
        No scheduler answers at the address within :data:`CONNECT_TIMEOUT` s, or fewer
        than ``workers`` workers join it within a minute.
    """
    Client, LocalCluster = _dask("Client"), _dask("LocalCluster")

    if scheduler == "local":
        n = workers if workers is not None else max(1, min(os.cpu_count() or 1, n_tasks))
        with warnings.catch_warnings():  # its HTTP port taken by another cluster: any port
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=dict(WORKER_ENV),
            )
        return Client(cluster), cluster
    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s")
    except (OSError, TimeoutError) as exc:
        msg = " ".join(str(exc).split())[:160]
        raise OptionError(
            f"--scheduler {scheduler}: no Dask scheduler answered within {CONNECT_TIMEOUT} s ({msg})"
        ) from None
    if workers is not None:
        try:
            client.wait_for_workers(workers, timeout=60)
        except TimeoutError:
            have = len(client.scheduler_info().get("workers", {}))
            client.close()
            raise OptionError(
                f"--workers {workers}: the scheduler at {scheduler} has {have} worker(s) after "
                "60 s; start more workers or ask for fewer"
            ) from None
    return client, None


class _Progress:
    """A rich progress bar on a terminal, else progress lines (``structest.progress.sweep``)."""

    def __init__(self, kind: str, total: int, show: bool):
        self.kind, self.total, self.done, self.show = kind, total, 0, show
        self.bar = None
        if show and total and sys.stderr.isatty() and not os.environ.get("CI"):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.bar = Progress(
                f"sweep {kind}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                transient=False,
            )  # fmt: skip
            self.task = self.bar.add_task(kind, total=total)
            self.bar.start()

    def step(self, rep: str, what: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1)
        elif self.show:
            progress_line("sweep", f"sweep {self.kind}: {self.done}/{self.total} {rep} {what}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_plan(
    p: Plan,
    out: str | Path,
    *,
    scheduler: str = "local",
    workers: int | None = None,
    retries: int = 2,
    progress: bool = True,
) -> SweepResult:
    """Run the reps of ``p`` not yet in ``out`` and store each as it finishes."""
    scheduler = check_scheduler(scheduler)
    if workers is not None:
        workers = check_count(workers, "--workers", 1, MAX_WORKERS)
    retries = check_count(retries, "--retries", 0, 100)
    if not isinstance(progress, (bool, np.bool_)):
        raise OptionError(f"progress must be True or False, got {progress!r}")
    store = SweepStore(out, p.kind, p.config)
    store.check()
    t0 = time.perf_counter()
    store.open()
    done = store.finished()
    todo = {rep: job for rep, job in p.reps.items() if rep not in done}
    skipped = [rep for rep in p.reps if rep in done]
    if skipped and progress:
        progress_line(
            "sweep",
            f"sweep {p.kind}: {len(skipped)} rep(s) already in {store.out}, {len(todo)} to run",
        )
    ran: list[str] = []
    lost: dict[str, str] = {}
    if todo:
        ran, lost = _submit_all(p, store, todo, scheduler, workers, retries, progress)
    seconds = time.perf_counter() - t0
    on_disk = store.finished()
    keys = [r for r in p.reps if r in on_disk]
    table = store.table(keys)
    failed = {
        r: str(on_disk[r].get("error", "")) for r in keys if on_disk[r].get("status") == "failed"
    }
    summary = summarise(p.kind, table, p.level) if not table.empty else pd.DataFrame()
    store.update_manifest(
        reps=len(p.reps),
        finished=len(keys),
        failed=len(failed),
        last_run={"ran": len(ran), "lost": len(lost), "seconds": round(seconds, 1),
                  "scheduler": scheduler, "ended": time.strftime("%Y-%m-%dT%H:%M:%S")},
    )  # fmt: skip
    return SweepResult(
        p.kind, store.out, table, summary, ran, skipped, failed, lost, seconds, p.level
    )


def _submit_all(
    p: Plan,
    store: SweepStore,
    todo: Mapping[str, tuple[Callable[..., Any], dict[str, Any]]],
    scheduler: str,
    workers: int | None,
    retries: int,
    progress: bool,
) -> tuple[list[str], dict[str, str]]:
    """Submit ``todo``; write each result as it arrives; (reps stored, reps lost)."""
    as_completed = _dask("as_completed")

    client, cluster = _client(scheduler, workers, len(todo))
    if progress:
        n_workers = len(client.scheduler_info().get("workers", {}))
        where = "a local cluster" if cluster is not None else f"the scheduler at {scheduler}"
        progress_line(
            "sweep",
            f"sweep {p.kind}: {len(todo)} rep(s) on {where} ({n_workers} worker(s)) -> {store.out}",
        )
    bar = _Progress(p.kind, len(todo), progress)
    ran: list[str] = []
    lost: dict[str, str] = {}
    token = uuid.uuid4().hex[:8]
    futures: dict[Any, str] = {}
    try:
        for rep, (fn, kw) in todo.items():
            fut = client.submit(
                execute, fn, kw, key=f"structest-{p.kind}-{token}-{rep}", retries=retries,
                pure=False,
            )  # fmt: skip
            futures[fut] = rep
        for fut in as_completed(list(futures)):
            rep = futures[fut]
            if fut.status != "finished":
                exc = fut.exception()
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                lost[rep] = f"{type(exc).__name__}: {first}"
                _log.warning("sweep %s: %s did not finish: %s", p.kind, rep, lost[rep])
                bar.step(rep, "lost")
                fut.release()
                continue
            res = fut.result()
            fut.release()
            kw = todo[rep][1]
            table = None if res["table"] is None else _label_rows(p.kind, res["table"], kw)
            store.write(rep, table, status=res["status"], error=res["error"],
                        seconds=round(float(res["seconds"]), 3), worker=res["worker"],
                        warnings=int(res["warnings"]))  # fmt: skip
            ran.append(rep)
            what = "ok" if res["status"] == "ok" else f"failed ({res['error']})"
            bar.step(rep, f"{what}, {res['seconds']:.0f} s")
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    return ran, lost


def run_sweep(
    kind: str,
    *,
    out: str | Path,
    scheduler: str = "local",
    workers: int | None = None,
    retries: int = 2,
    progress: bool = True,
    **options: Any,
) -> SweepResult:
    """Run a sweep on Dask and store its reps in ``out`` (resumable).

    Parameters
    ----------
    kind
        ``"coverage"``: ``reps`` worlds drawn from ``model``'s process, each fitted; whether
        the central ``level`` interval covers the truth (:func:`~structest.sweeps.tasks.coverage_rep`).
        ``"sbc"``: ``reps`` truths drawn from the priors; ranks of each among
        ``rank_draws`` posterior draws (:func:`~structest.sweeps.tasks.sbc_rep`).
        ``"priors"``: one fit of ``panel`` (None: bundled) per point of ``grid`` (a list of
        ``priors`` overrides) (:func:`~structest.sweeps.tasks.prior_point`).
        ``"scenarios"``: :func:`structest.counterfactual` of the saved ``fit`` under each of
        ``scenarios`` (name -> scenario fields) (:func:`~structest.sweeps.tasks.scenario_point`).
    out
        The sweep folder (:class:`~structest.sweeps.store.SweepStore`); reps already there
        are not run again.
    scheduler
        ``"local"``: a LocalCluster of ``workers`` processes (default: one per core, at
        most one per rep) with one thread each; or a scheduler address
        (``tcp://host:8786``), whose workers must be able to import structest (and read
        ``fit`` for scenarios); ``workers`` then is how many to wait for.
    retries
        Times a task that raised an unexpected error is run again (a task whose worker
        died is rescheduled by Dask itself).
    progress
        A progress bar on a terminal, else progress lines (``structest.progress.sweep``).
    **options
        ``reps, model, chains, draws, tune, seed, world, nu, level, rank_draws, grid,
        panel, panel_name, fit, scenarios, thin`` (see :func:`plan`), and ``task``: a
        function run instead of the kind's task with the same keyword arguments,
        returning a table (for tests and custom studies; it must be importable by, or
        picklable to, the workers).

    Returns
    -------
    SweepResult
        Its :meth:`~SweepResult.format` is the printed summary.

    Raises
    ------
    OptionError, OutputError, InputFileError, SpecError
        Before any work: bad options, an unusable ``out`` (or one holding another sweep),
        a bad model or prior.
    """
    p = plan(kind, **options)
    return run_plan(
        p, out, scheduler=scheduler, workers=workers, retries=retries, progress=progress
    )

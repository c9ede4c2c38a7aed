"""Running a sweep on Dask ``distributed``: a ``LocalCluster`` (worker processes, one thread each, a memory limit)
by default, or an existing cluster at ``scheduler`` (``dask scheduler`` / dask-jobqueue / dask-kubernetes: any
address a ``distributed.Client`` accepts). Dask schedules; this module only submits jobs and collects rows.

Order of work: check the spec and hash every input (a bad input is refused before anything is written), train the
zoo's missing models (one task each), expand the jobs, drop those whose key has a finished row, submit the rest,
show a progress bar as they finish, and consolidate the table. A job lost with its worker is rescheduled by Dask;
one that kills workers repeatedly (``KilledWorker``) or raises an unexpected exception is recorded as
``internal_error`` and the others go on.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from boundcert.errors import InvalidInput
from certify.sweep.jobs import Job, expand_jobs
from certify.sweep.spec import SweepSpec
from certify.sweep.store import ResultStore
from certify.sweep.worker import base_row, execute

__all__ = ["SweepResult", "run_sweep", "dask_client"]


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What a run did: the jobs of the spec, how many were skipped as finished, how many ran, and the rows of the
    spec's jobs (in spec order)."""

    jobs: tuple[Job, ...]
    skipped: int
    ran: int
    rows: tuple[dict[str, Any], ...]
    out: Path

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2, memory_limit: str = "auto",
                connect_timeout: str = "15s") -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` if given (waiting up to ``connect_timeout``), else on a new
    ``LocalCluster`` of ``workers`` processes (one thread each, ``memory_limit`` per worker, bound to 127.0.0.1, no
    dashboard, no statistical profiler; a worker whose client was killed stops itself after 60 s without its
    scheduler). Each job runs with one thread per pool (:func:`certify.sweep.worker.job_threads`)."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise InvalidInput(f"--scheduler={scheduler!r} cannot be reached ({type(exc).__name__}): start "
                               "`dask scheduler` there, or leave --scheduler out for a local cluster") from None
        with client:
            yield client
        return
    import dask

    # the workers' statistical profiler samples the task thread's stack every 10 ms (CPU the jobs need, on cores
    # that the workers share exactly); the dashboard that would show it is off anyway
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                         host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
                         death_timeout="60s") as cluster, Client(cluster) as client:
        yield client


def _zoo_missing(spec: SweepSpec) -> list[Any]:
    """The zoo's models not trained yet (a model is trained once its sidecar exists)."""
    from certify.sweep.zoo import read_sidecar, zoo_models

    if spec.zoo is None:
        return []
    return [m for m in zoo_models(spec.zoo, spec.root) if not (Path(m.path).is_file() and read_sidecar(m.path))]


def _zoo_paths(spec: SweepSpec) -> list[tuple[str, str, dict[str, Any]]]:
    from certify.sweep.zoo import zoo_models

    return [] if spec.zoo is None else [(m.path, m.arch, m.hparams) for m in zoo_models(spec.zoo, spec.root)]


def _train_zoo(client: Any, todo: list[Any], progress: bool) -> None:
    from distributed import as_completed

    from certify.reports.progress import progress as progress_bar
    from certify.sweep.zoo import train_zoo_model

    futures = client.map(train_zoo_model, todo, pure=False, key=[f"zoo-{Path(m.path).stem}" for m in todo])
    for f in progress_bar(as_completed(futures), total=len(todo), desc="zoo", unit="model", enabled=progress):
        f.result()  # the grid was checked: a failed training is a bug, and surfaces as one


def _run_jobs(client: Any, todo: list[Job], store: ResultStore, progress: bool) -> dict[str, dict[str, Any]]:
    """Submit ``todo``, record a row for each failed task; returns this run's row of every task (a job's as its row
    file records it, a failed task's ``internal_error`` row), by job key."""
    from distributed import as_completed

    from certify.reports.progress import progress as progress_bar

    if not todo:
        return {}
    futures = client.map(execute, todo, out=str(store.out.resolve()), pure=False, key=[f"job-{j.key}" for j in todo])
    by_key = {f.key: j for f, j in zip(futures, todo)}
    rows: dict[str, dict[str, Any]] = {}
    for f in progress_bar(as_completed(futures), total=len(todo), desc="sweep", unit="job", enabled=progress):
        if f.status == "finished":
            row = f.result()
        else:
            why = f"{type(e).__name__}: {' '.join(str(e).split())}" if (e := _exception(f)) else f.status
            row = base_row(by_key[f.key])
            row.update(status="internal_error", worker="", error=why[:500])
            store.write_row(row)
        rows[row["key"]] = row
        f.release()
    return rows


def _exception(future: Any) -> BaseException | None:
    """The exception of a failed future (None for a cancelled one)."""
    return future.exception() if future.status == "error" else None


def run_sweep(spec: SweepSpec, out: str | Path, *, scheduler: str | None = None, workers: int = 2,
              memory_limit: str = "auto", progress: bool = True, retry_errors: bool = False,
              csv: bool = False, connect_timeout: str = "15s") -> SweepResult:
    """Run every job of ``spec`` that has no finished row under ``out``; returns the rows of the spec's jobs.

    Raises:
        InvalidInput: ``workers`` < 1, an unreachable ``scheduler``, an unwritable ``out``, a bad input of the spec
            (a glob that matches nothing, data that do not load).
    """
    if workers < 1:
        raise InvalidInput(f"--workers={workers} must be >= 1")
    store = ResultStore(out)
    zoo = _zoo_missing(spec)
    jobs: list[Job] = [] if zoo else expand_jobs(spec, _zoo_paths(spec))  # bad inputs refused before writing
    done = store.finished(retry_errors)
    todo = [j for j in jobs if j.key not in done]
    fresh: dict[str, dict[str, Any]] = {}
    if zoo or todo:
        with dask_client(scheduler, workers, memory_limit, connect_timeout) as client:
            store.prepare()  # after the scheduler answered: a refused run writes nothing
            if zoo:
                _train_zoo(client, zoo, progress)
                jobs = expand_jobs(spec, _zoo_paths(spec))
                todo = [j for j in jobs if j.key not in done]
            fresh = _run_jobs(client, todo, store, progress)
    keys = [j.key for j in jobs]
    table = store.consolidate(csv=csv, keep=keys, known=fresh)  # this run's rows are not read back one by one
    wanted = set(keys)
    return SweepResult(tuple(jobs), len(jobs) - len(todo), len(fresh),
                       tuple(r for r in table if r["key"] in wanted), Path(out))

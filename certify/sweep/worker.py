"""What a Dask worker runs for one job: the same pipeline as ``certify run`` (:func:`certify.jobs.run.run_job`),
``certify analyze`` (:func:`certify.reports.analyze.analyze_network`), ``certify dynamics``
(:func:`certify.quantities.dynamics.analyze_trajectory`) or the measured generalization gap; then the job's row,
written last (:meth:`ResultStore.write_row`).

A refusal (:class:`boundcert.errors.CertifyError`: bad data, a hypothesis that fails, a model that does not load) is
the job's result: a row with status ``error`` and the one-line message. Any other exception is a bug or a lost
worker; it propagates to the client, which records it as ``internal_error`` (run again next time).
"""

from __future__ import annotations

import contextlib
import json
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

from boundcert import __version__
from boundcert.errors import CertifyError, InvalidInput
from certify.sweep.jobs import Job
from certify.sweep.store import ResultStore

__all__ = ["execute", "base_row", "float_outward", "worker_name", "job_threads", "load_cached"]


def float_outward(text: str, up: bool) -> float:
    """The float nearest to the decimal ``text`` in direction ``up`` (>= it) or down (<= it): exact comparison."""
    import math

    if text.lower() in ("inf", "+inf", "infinity", "-inf", "-infinity", "nan"):
        return float(text)
    f = float(text)
    exact = Fraction(text)
    if math.isinf(f):
        return f if (f > 0) == up else math.copysign(1.7976931348623157e308, f)
    if up and Fraction(f) < exact:
        f = math.nextafter(f, math.inf)
    elif not up and Fraction(f) > exact:
        f = math.nextafter(f, -math.inf)
    return f


@contextlib.contextmanager
def job_threads(n: int = 1) -> Iterator[None]:
    """Run the block with exactly ``n`` threads in every pool a job can use: torch's intra-op pool, numba's parallel
    regions (numba's count is per calling thread: a Dask task thread sets its own) and the BLAS/OpenMP libraries
    (threadpoolctl); the previous counts are restored afterwards.

    A worker uses exactly its share of the cores (one thread per Dask thread: two workers on two cores do not
    oversubscribe them). The certified numbers do not depend on ``n``: every kernel's summation order is fixed by the
    data shape, not by the thread count (``tests/sweep/test_thread_independence.py``)."""
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    if n < 1:
        raise InvalidInput(f"threads={n} must be >= 1")
    torch_before, numba_before = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(torch_before)
        numba.set_num_threads(numba_before)


def worker_name() -> str:
    """The Dask worker's address, or ``local`` outside a worker."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def base_row(job: Job) -> dict[str, Any]:
    """The row fields that come from the job itself."""
    return {"key": job.key, "kind": job.kind, "name": job.name, "model": job.model, "arch": job.arch,
            "model_file_sha256": job.model_file_sha256, "data": job.data, "data_sha256": job.data_sha256,
            "train_data": job.train_data, "train_data_sha256": job.train_data_sha256, "theorem": job.theorem,
            "theorem_version": job.theorem_version, "options": json.dumps(job.options, sort_keys=True),
            "hparams": json.dumps(job.hparams, sort_keys=True), "boundcert": __version__}


#: samples this worker process has loaded, by (specification, sha256): a job reads its data once per worker
_DATA: dict[tuple[str, str | None], Any] = {}
_DATA_MAX = 4  # oldest dropped beyond this (a Fashion-MNIST split is ~190 MB)


def load_cached(spec: str, sha256: str | None) -> Any:
    """The sample ``spec`` as :func:`certify.data.load_data` loads it, from this worker's cache when it holds the
    same specification with the content hash the job was expanded with (``sha256``; a built-in is generated once).

    Raises:
        InvalidInput: the data no longer have the hash recorded when the sweep's jobs were expanded (a file changed
            during the sweep): its rows would name data they were not computed on.
    """
    from certify.data import load_data

    if (spec, sha256) in _DATA:
        return _DATA[(spec, sha256)]
    ds = load_data(spec)
    if sha256 is not None and ds.sha256 != sha256:
        raise InvalidInput(f"data {spec!r} changed during the sweep (sha256 {ds.sha256[:12]}..., the jobs were "
                           f"expanded with {sha256[:12]}...): run the sweep again to expand them on the new data")
    while len(_DATA) >= _DATA_MAX:
        _DATA.pop(next(iter(_DATA)))
    _DATA[(spec, sha256)] = ds
    return ds


def _theorem(job: Job, out: Path) -> dict[str, Any]:
    from certify.jobs.run import run_job

    a = job.args  # as the spec gives them, so that reproduce.sh is the one `certify run` would write
    r = run_job(job.model, job.data or "", job.theorem or "", a["delta"], out=out, arch=job.arch, margin=a["margin"],
                eps=a["eps"], resolve=lambda spec: load_cached(spec, job.data_sha256 if spec == job.data else None))
    cert = json.loads(r.certificates[job.theorem or ""].to_json())
    lo, hi = cert["result"]["lo"], cert["result"]["hi"]
    return {"result_lo": lo, "result_hi": hi, "result_lo_float": float_outward(lo, False),
            "result_hi_float": float_outward(hi, True), "model_sha256": cert["model"]["sha256"],
            "certificate": str(Path("jobs") / job.key / "certificate.json")}


def _analyze(job: Job, out: Path) -> dict[str, Any]:
    import math

    from certify.certificate import atomic_write_text
    from certify.models.hashing import model_sha256
    from certify.models.loader import load_model
    from certify.reports.analyze import analyze_network

    loaded = load_model(job.model, job.arch)
    if loaded.network is None:
        raise InvalidInput(loaded.unsupported or "the model cannot be normalised")
    rows = [r.to_dict() for r in analyze_network(loaded.network)]
    atomic_write_text(out / "analyze.json", json.dumps(rows, indent=2, sort_keys=True) + "\n")

    def log(v: str) -> float:
        return math.log(float(v)) if float(v) > 0 else -math.inf

    alphas = [r["alpha_estimate"] for r in rows if r.get("alpha_estimate") is not None]
    spec = [log(r["spectral_hi"]) for r in rows]
    fro = [log(r["frobenius_hi"]) for r in rows]
    d = len(rows)
    ratios = [float(r["frobenius_hi"]) ** 2 / float(r["spectral_hi"]) ** 2 for r in rows if float(r["spectral_hi"]) > 0]
    measures = {  # measures for the correlation study (from certified upper ends, rounded to float; not bounds)
        "sum_log_spectral_hi": math.fsum(spec),
        "sum_log_frobenius_hi": math.fsum(fro),
        "sum_stable_rank_hi": math.fsum(float(r["stable_rank_hi"]) for r in rows),
        "mean_alpha_estimate": math.fsum(alphas) / len(alphas) if alphas else None,
        "params": float(sum(r["params"] for r in rows)),
        # Jiang et al. 2020 (App. C) in logs (a rank correlation does not see a monotone map): spec_orig =
        # prod ||W||_2^2 sum ||W||_F^2 / ||W||_2^2, sum_of_spec = d prod ||W||_2^(2/d), sum_of_fro likewise
        "log_spec_orig_hi": 2 * math.fsum(spec) + math.log(math.fsum(ratios)) if ratios else None,
        "log_sum_of_spec_hi": math.log(d) + 2 * math.fsum(spec) / d if d else None,
        "log_sum_of_fro_hi": math.log(d) + 2 * math.fsum(fro) / d if d else None,
        "path_norm_l2_hi": _path_norm_l2(loaded.network),
    }
    return {"measures": json.dumps(measures, sort_keys=True), "model_sha256": model_sha256(loaded.module)}


def _path_norm_l2(network: Any) -> float | None:
    """Squared certified l2 path norm's upper end (Neyshabur et al. 2015; Jiang et al.'s ``path_norm``), None for
    a network that is not a chain of Linear and ReLU layers."""
    import kernels
    from kernels._rounding import mul_up

    try:
        hi = kernels.path_norm(network, p=2).hi
    except InvalidInput:
        return None
    return mul_up(float(hi), float(hi))  # rounded up: the square of an upper end stays an upper end


def _margin_quantile(module: Any, x: Any, y: Any, q: float = 0.1) -> float:
    """The ``q`` quantile of the float32 logit margins ``f_y(x) - max_{j != y} f_j(x)`` (a measurement, as Jiang
    et al.'s margin: their 10th percentile over the training set)."""
    import numpy as np
    import torch

    from certify.certificate.environment import strict_float_torch

    strict_float_torch()
    module.eval()
    with torch.no_grad():
        out = module(torch.from_numpy(x)).double().numpy()
    idx = np.arange(len(y))
    true = out[idx, y].copy()
    out[idx, y] = -np.inf
    return float(np.quantile(true - out.max(axis=1), q))


def _gap(job: Job, out: Path) -> dict[str, Any]:
    from certify.certificate import atomic_write_text
    from certify.models.hashing import model_sha256
    from certify.models.loader import load_model
    from certify.models.predict import count_errors, predict

    loaded = load_model(job.model, job.arch)
    counts, margin = {}, None
    for role, spec, sha in (("train", job.train_data, job.train_data_sha256), ("test", job.data, job.data_sha256)):
        ds = load_cached(spec or "", sha)
        counts[role] = (count_errors(predict(loaded.module, ds.x, name=spec or "", labels=ds.y), ds.y), ds.n)
        if role == "train":
            margin = _margin_quantile(loaded.module, ds.x, ds.y)
    (ktr, mtr), (kte, mte) = counts["train"], counts["test"]
    gap = Fraction(kte, mte) - Fraction(ktr, mtr)
    measures = {"train_errors": ktr, "train_n": mtr, "test_errors": kte, "test_n": mte,
                "train_error": ktr / mtr, "test_error": kte / mte, "empirical_gap": float(gap),
                "empirical_gap_exact": f"{gap.numerator}/{gap.denominator}",
                "train_margin_q10": margin}
    atomic_write_text(out / "gap.json", json.dumps(measures, indent=2, sort_keys=True) + "\n")
    return {"measures": json.dumps(measures, sort_keys=True), "model_sha256": model_sha256(loaded.module)}


def _dynamics(job: Job, out: Path) -> dict[str, Any]:
    from certify.certificate import atomic_write_text
    from certify.quantities.dynamics import analyze_trajectory, open_trajectory

    o = job.options
    traj = open_trajectory(job.data or "")
    doc = analyze_trajectory(traj, source=job.data, seed=o["seed"], n_repeats=o["n_repeats"],
                             n_projections=o["n_projections"]).to_dict()
    atomic_write_text(out / "dynamics.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")

    def num(v: Any) -> float | None:
        return float(v) if isinstance(v, (int, float, str)) else None

    measures = {  # fitted estimates (measures, never bounds)
        "ph_dim_estimate": num((doc["ph_dim_estimate"] or {}).get("dimension")),
        "ph_dim_loss_estimate": num((doc["ph_dim_loss_estimate"] or {}).get("dimension")),
        "increment_tail_estimate": num((doc["increment_tail_estimate"] or {}).get("alpha_estimate")),
        "grad_noise_tail_estimate": num((doc["grad_noise_tail_estimate"] or {}).get("alpha_estimate")),
    }
    return {"measures": json.dumps(measures, sort_keys=True)}


_RUNNERS = {"theorem": _theorem, "analyze": _analyze, "gap": _gap, "dynamics": _dynamics}


def execute(job: Job, out: str, threads: int = 1) -> dict[str, Any]:
    """Run ``job`` with ``threads`` threads per pool (:func:`job_threads`), write its files under
    ``out/jobs/<key>/`` and its row; returns the row."""
    from certify.certificate import utc_timestamp

    store = ResultStore(out)
    row = base_row(job)
    row.update(started=utc_timestamp(), worker=worker_name())
    t0 = time.perf_counter()
    try:
        with job_threads(threads):
            row.update(_RUNNERS[job.kind](job, store.job_dir(job.key)))
        row["status"] = "ok"
    except CertifyError as exc:
        row.update(status="error", error=" ".join(str(exc).split()) or type(exc).__name__)
    row["seconds"] = time.perf_counter() - t0
    store.write_row(row)
    return row

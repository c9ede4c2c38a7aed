"""The certified inputs of a job do not depend on the thread counts of the process that runs it: a Dask worker runs
with one thread per pool (:func:`certify.sweep.worker.job_threads`), ``certify run`` in a shell with the machine's
default, and the rows must equal the single runs byte for byte. Data with inexact sums (random float32 inputs) and a
theorem that reads column norms (``x_col_max_class_sum`` of the path-norm bound: :func:`kernels.matrix_norms`) make
a summation order that follows the thread count visible; before the fix its row blocks were ``4 * numba threads``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sweep_support import ARCH

THEOREMS = ("norm.neyshabur2015_path_multiclass", "norm.golowich2018_frobenius_multiclass",
            "norm.neyshabur2015_frobenius_multiclass", "test_set.binomial_tail")


def _two() -> int:
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba is limited to one thread here (NUMBA_NUM_THREADS=1): nothing to compare")
    return 2


@pytest.fixture(scope="module")
def float_data(tmp_path_factory) -> Path:
    rng = np.random.default_rng(7)
    p = tmp_path_factory.mktemp("data") / "noisy.npz"
    np.savez(p, x=rng.standard_normal((700, 64)).astype(np.float32) * 2, y=rng.integers(0, 10, 700))
    return p


def _inputs(cert) -> dict:
    doc = json.loads(cert.to_json())
    return {k: v for k, v in doc.items() if k not in ("created", "environment")}


@pytest.mark.parametrize("tid", THEOREMS)
def test_certificate_is_the_same_at_one_and_two_threads(models, float_data, tid):
    from certify.jobs.run import run_job
    from certify.sweep.worker import job_threads

    got = []
    for n in (1, _two()):
        with job_threads(n):
            got.append(_inputs(run_job(str(models[0]), str(float_data), tid, "0.05", arch=ARCH).certificates[tid]))
    assert got[0] == got[1]


def test_matrix_norms_are_the_same_at_one_and_two_threads():
    import numba

    import kernels

    w = np.random.default_rng(3).standard_normal((257, 96)) / 7  # inexact column sums over 257 rows
    ends = []
    for n in (1, _two()):
        numba.set_num_threads(n)
        try:
            ends.append(kernels.matrix_norms(w))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert ends[0] == ends[1]


def test_job_threads_sets_every_pool_and_restores_them():
    import numba
    import torch
    from threadpoolctl import threadpool_info

    from certify.sweep.worker import job_threads

    before = (torch.get_num_threads(), numba.get_num_threads())
    with job_threads(1):
        assert (torch.get_num_threads(), numba.get_num_threads()) == (1, 1)
        assert {p["num_threads"] for p in threadpool_info()} == {1}
    assert (torch.get_num_threads(), numba.get_num_threads()) == before

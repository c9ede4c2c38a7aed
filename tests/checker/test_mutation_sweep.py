"""The mutation sweep (issue 15): every field of a real certificate of every theorem family (test-set, norm, robust,
PAC-Bayes, compression, stability) mutated one at a time; no mutation outside the documented list of accepted edits
(docs/certificate.rst) may be VERIFIED. Default: every 7th mutation of each family; ``-m slow``: all of them."""

from __future__ import annotations

import functools

import pytest

from checker_fuzz import FAMILIES, accepted_by_design, apply, mutations, real_certificate, verdict


@functools.lru_cache(maxsize=None)
def _cert(tid):
    c = real_certificate(tid)
    ok, step = verdict(c)
    assert ok, f"{tid}: the real certificate is not VERIFIED: {step}"
    return c


def _sweep(tid: str, every: int) -> tuple[int, list[str]]:
    c = _cert(tid)
    muts = list(mutations(c))
    wrong = []
    for path, kind in muts[::every]:
        ok, step = verdict(apply(c, path, kind))
        if ok and not accepted_by_design(c, path, kind):
            wrong.append(f"{tid}: {'.'.join(map(str, path))} {kind} was VERIFIED")
        if not ok:
            assert step and "\n" not in step, (path, kind, step)
    return len(muts[::every]), wrong


@pytest.mark.parametrize("tid", FAMILIES)
def test_no_undocumented_mutation_verifies_fast_subset(tid):
    n, wrong = _sweep(tid, 7)
    assert n > 20 and not wrong, wrong


@pytest.mark.slow
@pytest.mark.parametrize("tid", FAMILIES)
def test_no_undocumented_mutation_verifies_full_sweep(tid):
    n, wrong = _sweep(tid, 1)
    assert n > 200 and not wrong, wrong


def test_the_harness_sees_a_strengthening():
    """The harness itself: lowering result.hi (a stronger claim) is rejected and is not on the accepted list."""
    c = _cert("test_set.kl_chernoff")
    bad = apply(c, ("result", "hi"), "down")
    assert verdict(bad)[0] is False
    assert not accepted_by_design(c, ("result", "hi"), "down")
    assert accepted_by_design(c, ("result", "hi"), "up")

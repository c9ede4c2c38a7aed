"""`certify.check` from Python runs what `certify check` runs: the trusted core, then the registry step (a deleted
hypothesis or a flipped relation is caught, which the core alone cannot see), and the replay on request."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from pipeline.pipeline_support import trained  # noqa: E402

import certify  # noqa: E402
from boundcert.errors import InvalidInput  # noqa: E402
from certify.checker import check as core_check  # noqa: E402


@pytest.fixture(scope="module")
def cert():
    model, _, test = trained("mlp")
    return certify.certify(model, (test.x, test.y), theorem="test_set.binomial_tail", delta="0.05")


def test_python_check_is_the_whole_check(cert, tmp_path):
    assert certify.check(cert).verdict == "VERIFIED" and certify.check(cert.to_dict()).ok
    d = cert.to_dict()
    d["hypotheses"] = d["hypotheses"][:-1]  # a hypothesis deleted: the arithmetic still holds
    assert core_check(d).ok
    res = certify.check(d)
    assert not res.ok and res.step.startswith("registry: the hypotheses")
    with pytest.raises(InvalidInput, match="as a file"):
        certify.check(cert.to_dict(), recompute=True)
    d = cert.to_dict()
    d["claim"] = d["claim"].replace("at most", "at least")  # the relation flipped, the number kept
    assert not certify.check(d).ok


def test_builtin_data_is_checked_by_its_dataset_hash(cert, tmp_path):
    """``--data digits:test`` (a built-in, not a file): the library loads it and compares its canonical dataset hash
    with ``data.sha256``; the wrong split is caught, an unknown name is bad input."""
    path = cert.save(tmp_path / "c")
    assert certify.check(str(path), data="digits:test").verdict == "VERIFIED"
    res = certify.check(str(path), data="digits:train")
    assert not res.ok and "digits:train" in res.step and "data.sha256" in res.step
    with pytest.raises(InvalidInput, match="built-in"):
        certify.check(str(path), data="digitz:test")

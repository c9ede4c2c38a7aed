"""Data roles: which sample a theorem reads, and the refusal of a test-set bound on training data.

A theorem that states ``h_independent`` (the classifier was fixed without looking at the examples: the test-set
bounds ``test_set.*`` and ``robust.robust_error_test_set``) reads **held-out** data; a theorem whose sample is i.i.d.
but may have trained the model (``h_iid`` without ``h_independent``: norm, PAC-Bayes, compression, stability bounds)
reads the **training** sample; the others (``robust.certified_accuracy``, a count on the given sample) take either.

A test-set bound on data the tool knows to be a training split (a built-in ``NAME:train``, or any Dataset whose
``split`` is ``"train"``) is refused; on other data, independence stays the recorded assumption ``h_independent``.
"""

from __future__ import annotations

from typing import Literal

from boundcert.errors import InvalidInput
from certify.data.dataset import Dataset
from theorems import Theorem

__all__ = ["Role", "role_of", "check_role"]

Role = Literal["held_out", "train", "any"]


def role_of(t: Theorem) -> Role:
    """The sample ``t`` reads: ``held_out``, ``train`` or ``any`` (see the module docstring)."""
    names = {h.name for h in t.hypotheses}
    if "h_independent" in names:
        return "held_out"
    if "h_iid" in names:
        return "train"
    return "any"


def check_role(t: Theorem, ds: Dataset) -> None:
    """Refuse a held-out theorem on a known training split."""
    if role_of(t) == "held_out" and ds.split == "train":
        raise InvalidInput(
            f"theorem {t.id} is a test-set bound but data {ds.name}:{ds.split} is a training split: a test-set bound "
            f"needs held-out data (give --test-data {ds.name}:test, or a file of examples the model never saw)"
        )

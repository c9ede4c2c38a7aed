"""theorems: published results about neural networks, each encoded once as a :class:`Theorem`.

``theorems.get(id)`` returns a registered theorem; ``theorems.all()`` lists them; ``Theorem.evaluate(**values)``
returns an :class:`Interval` that contains the exact value of the statement (outward-rounded interval arithmetic).
``theorems`` imports neither ``kernels`` nor ``certify``.
"""

from theorems import pac_bayes, test_set  # noqa: F401  (registers the theorems)
from theorems import compression, dimensions, norms, robustness, sparsity, stability  # noqa: F401  (catalogue)
from theorems._interval import (
    WORKING_PREC,
    Interval,
    enclose,
    exact_hex,
    mpf_to_fraction,
    parse_exact,
    to_decimal_string,
)
from theorems._registry import all_theorems as all
from theorems._registry import get, ids, register
from theorems._special import binom_tail, binom_tail_inv, kl, kl_inv
from theorems._symbols import BinomTailInv, KlInv
from theorems._theorem import Domain, Hypothesis, HypothesisCheck, Kind, Quantity, Reference, Theorem
from theorems._tree import OPS, Tree, eval_tree, to_tree, tree_symbols

__all__ = [
    "BinomTailInv",
    "Domain",
    "Hypothesis",
    "HypothesisCheck",
    "Interval",
    "Kind",
    "KlInv",
    "OPS",
    "Quantity",
    "Reference",
    "Theorem",
    "Tree",
    "WORKING_PREC",
    "all",
    "binom_tail",
    "binom_tail_inv",
    "enclose",
    "eval_tree",
    "exact_hex",
    "get",
    "ids",
    "kl",
    "kl_inv",
    "mpf_to_fraction",
    "parse_exact",
    "register",
    "to_decimal_string",
    "to_tree",
    "tree_symbols",
]

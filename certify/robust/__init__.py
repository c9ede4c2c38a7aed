"""certify.robust: ``certify robust``, sound local robustness verification of the user's model (issue 17).

* :mod:`~certify.robust.options`: :class:`RobustOptions` (recorded in the certificate, replayed by
  ``certify check --recompute``);
* :mod:`~certify.robust.alpha`: alpha-CROWN's slope search (torch autograd; the kernel re-checks its slopes);
* :mod:`~certify.robust.attack`: PGD counterexamples, checked in exact rationals and in float32;
* :mod:`~certify.robust.verify`: verdicts, certified robust accuracy, the ``robust`` provider context and the
  certificate (``robust.robust_error_test_set`` through :func:`certify.pipeline.assemble`).

The bounds themselves are :mod:`kernels.bounds` (IBP, CROWN, outward rounding).
"""

from certify.robust.options import METHODS, NORMS, RobustOptions
from certify.robust.verify import RobustResult, run_robust, verify_samples

__all__ = ["RobustOptions", "RobustResult", "run_robust", "verify_samples", "METHODS", "NORMS"]

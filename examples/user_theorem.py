"""Two user-written bounds for ``certify test-theorem`` (see docs/user_theorems.rst).

``my_hoeffding`` is Hoeffding's test-set bound, correct. ``my_hoeffding_broken`` has a typo that is easy to make
and hard to see: ``8 m`` where ``2 m`` belongs, i.e. ``ln(1/delta)`` divided by 4. Run::

    certify test-theorem examples/user_theorem.py:my_hoeffding          # exit 0: PASS
    certify test-theorem examples/user_theorem.py:my_hoeffding_broken   # exit 1: violation rate too high
"""

import sympy

from theorems.testing import make_bound

m, k, delta = sympy.symbols("m k delta")

# err(h) <= k/m + sqrt(ln(1/delta) / (2m)) with probability >= 1 - delta (Hoeffding 1963, Thm. 1)
my_hoeffding = make_bound(
    "user.my_hoeffding",
    k / m + sympy.sqrt(sympy.log(1 / delta) / (2 * m)),
    title="Hoeffding test-set bound (user copy)",
    citation="W. Hoeffding. Probability inequalities for sums of bounded random variables. JASA 58, 1963.",
    locator="Theorem 1",
)

# the same with a wrong constant: 8m instead of 2m
my_hoeffding_broken = make_bound(
    "user.my_hoeffding_broken",
    k / m + sympy.sqrt(sympy.log(1 / delta) / (8 * m)),
    title="Hoeffding test-set bound with a wrong constant",
)

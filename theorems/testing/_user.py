"""User theorems: build a bound in a few lines, load one from a file, and test it like the library's own.

A user's file holds :class:`~theorems.Theorem` objects (built with :func:`make_bound` or by hand) and, optionally,
``NAME_scenarios`` (a list of :class:`~theorems.testing.Scenario`) and ``NAME_fixed`` (values for inputs no scenario
produces). ``certify test-theorem FILE.py:NAME`` calls :func:`load_theorem` then :func:`test_theorem`.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import sympy
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import example as hypothesis_example
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st

from boundcert.errors import InvalidInput
from theorems._checks import le
from theorems._registry import get
from theorems._theorem import (
    NONNEG,
    NONNEG_INT,
    OPEN_UNIT,
    POSITIVE_INT,
    PROBABILITY,
    Hypothesis,
    Quantity,
    Reference,
    Theorem,
)
from theorems.testing._harness import ValidityReport, validate
from theorems.testing._properties import (
    check_enclosure,
    check_monotone,
    check_refuses_invalid,
    check_refuses_unmet_hypotheses,
    monotone_cases,
)
from theorems.testing._scenarios import Scenario
from theorems.testing._strategies import DEFAULT_MAX_INT, inputs, quantity_values

__all__ = ["STANDARD_QUANTITIES", "make_bound", "load_theorem", "LoadedTheorem", "TheoremTestReport", "test_theorem"]

#: The shared quantity names of the core theorems, with their domains and declared monotonicity.
STANDARD_QUANTITIES: Mapping[str, Quantity] = {
    q.name: q
    for q in (
        Quantity("m", "number of examples the bound is evaluated on", POSITIVE_INT, "data", "decreasing"),
        Quantity("k", "errors of the classifier on the m examples", NONNEG_INT, "data", "increasing"),
        Quantity("delta", "confidence parameter (failure probability)", OPEN_UNIT, "user", "decreasing",
                 r"\delta"),
        Quantity("emp_risk", "empirical 0-1 risk (or an upper bound on it)", PROBABILITY, "data", "increasing",
                 r"\hat{L}_S"),
        Quantity("kl", "KL(Q||P) in nats", NONNEG, "model", "increasing", r"\mathrm{KL}(Q\|P)"),
    )
}


def make_bound(
    id: str,
    statement: sympy.Expr,
    *,
    title: str = "",
    citation: str = "user-supplied bound",
    locator: str = "",
    quantities: Sequence[Quantity] = (),
    hypotheses: Sequence[Hypothesis] | None = None,
    confidence: sympy.Expr | None | str = "1 - delta",
    bounded: str = "0-1 risk of the classifier",
) -> Theorem:
    """A ``kind="bound"`` :class:`~theorems.Theorem` from a sympy statement, with standard quantities filled in.

    Symbols named ``m``, ``k``, ``delta``, ``emp_risk``, ``kl`` get :data:`STANDARD_QUANTITIES` unless
    ``quantities`` declares them; any other symbol must be declared in ``quantities``. With ``k`` and ``m``
    present, the hypothesis ``k <= m`` is checked; ``confidence`` defaults to ``1 - delta``.
    """
    declared = {q.name: q for q in quantities}
    names = sorted(s.name for s in statement.free_symbols)
    conf = sympy.sympify(confidence) if isinstance(confidence, str) else confidence
    if conf is not None:
        names = sorted(set(names) | {s.name for s in conf.free_symbols})
    qs = []
    for n in names:
        if n in declared:
            qs.append(declared.pop(n))
        elif n in STANDARD_QUANTITIES:
            qs.append(STANDARD_QUANTITIES[n])
        else:
            raise InvalidInput(
                f"symbol {n!r} of bound {id} has no standard meaning: declare it, e.g. "
                f"quantities=[Quantity({n!r}, 'what it is', POSITIVE, 'user', 'increasing')]"
            )
    qs.extend(declared.values())
    if hypotheses is None:
        hypotheses = (Hypothesis("h_k_le_m", r"$k \le m$", le("k", "m")),) if {"k", "m"} <= set(names) else ()
    return Theorem(
        id=id,
        title=title or id,
        kind="bound",
        statement=statement,
        bounded=bounded,
        bounded_latex=r"L_{\mathcal{D}}(h)",
        quantities=tuple(qs),
        hypotheses=tuple(hypotheses),
        reference=Reference(id, citation, locator),
        confidence=conf,
    )


@dataclass(frozen=True)
class LoadedTheorem:
    """A theorem to test, with the scenarios and fixed inputs its file supplies (``None``: the defaults)."""

    theorem: Theorem
    scenarios: tuple[Scenario, ...] | None = None
    fixed: Mapping[str, object] = field(default_factory=dict)
    origin: str = ""


def load_theorem(spec: str) -> LoadedTheorem:
    """``"pac_bayes.kl"`` (a registered id) or ``"path/to/file.py:NAME"`` (a Theorem in a user's file).

    The file is imported as a module (it runs: load only files you trust). ``NAME_scenarios`` and ``NAME_fixed``
    in the same file, if present, override the default scenarios and fixed inputs.
    """
    path, sep, name = spec.rpartition(":")
    if not sep or not path.endswith(".py"):
        return LoadedTheorem(get(spec), origin="registry")
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(f"theorem file {path!r} does not exist: give FILE.py:NAME with an existing file")
    if not name.isidentifier():
        raise InvalidInput(f"{name!r} in {spec!r} is not a Python name: give FILE.py:NAME")
    mod_name = f"_boundcert_user_{abs(hash(str(file.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(mod_name, file)
    if module_spec is None or module_spec.loader is None:
        raise InvalidInput(f"cannot import {path!r} as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise InvalidInput(f"importing {path!r} failed: {type(exc).__name__}: {exc}") from exc
    if not hasattr(module, name):
        found = sorted(k for k, v in vars(module).items() if isinstance(v, Theorem))
        raise InvalidInput(f"{path!r} has no {name!r}: it defines the theorems {', '.join(found) or '(none)'}")
    theorem = getattr(module, name)
    if not isinstance(theorem, Theorem):
        raise InvalidInput(f"{path}:{name} is a {type(theorem).__name__}, not a theorems.Theorem")
    scen = getattr(module, f"{name}_scenarios", None)
    fixed = getattr(module, f"{name}_fixed", {}) or {}
    return LoadedTheorem(theorem, tuple(scen) if scen is not None else None, dict(fixed), origin=str(file))


@dataclass(frozen=True)
class TheoremTestReport:
    """Property-check failures (one line each) and the validity harness report."""

    theorem_id: str
    property_checks: tuple[tuple[str, str], ...]  # (check name, "ok" or the failure)
    validity: ValidityReport | None

    @property
    def passed(self) -> bool:
        props_ok = all(v == "ok" or v.startswith("skipped") for _, v in self.property_checks)
        return props_ok and (self.validity is None or self.validity.passed)

    def summary(self) -> str:
        lines = [f"property checks for {self.theorem_id}:"]
        lines += [f"  {'ok     ' if v == 'ok' or v.startswith('skipped') else 'FAILED '}{n}" +
                  ("" if v == "ok" else f": {v}") for n, v in self.property_checks]
        if self.validity is not None:
            lines.append(self.validity.summary())
        lines.append("PASS" if self.passed else "FAIL: a property or the validity harness found a violation")
        return "\n".join(lines)


def _run_property(
    strategy: st.SearchStrategy, check: Callable[[object], None], examples: int, seed: int, known: object = None
) -> str:
    """Run ``check`` on ``examples`` drawn cases (plus the theorem's documented example ``known``).

    Returns ``"ok"``, ``"skipped: ..."`` or the failure in one line, always with the inputs it failed at (the
    shrunk case hypothesis ran last), whether the check found a violation or the statement raised.
    """
    failing: list[object] = []

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink], report_multiple_bugs=False)
    @given(strategy)
    def prop(case: object) -> None:
        try:
            check(case)
        except BaseException:
            failing.append(case)
            raise

    if known is not None:
        prop = hypothesis_example(known)(prop)
    try:
        prop()
    except Unsatisfiable:
        return "skipped: no drawn input met the domains and mechanical hypotheses"
    except AssertionError as exc:
        msg = _first_line(exc)
    except Exception as exc:  # noqa: BLE001  (a crash on valid input is a failure to report, not to raise)
        msg = f"{type(exc).__name__} on valid input: {_first_line(exc)}"
    else:
        return "ok"
    if failing:
        shown = _show_case(failing[-1])
        if shown not in msg:
            msg += f" (inputs: {shown})"
    return msg


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else repr(exc)


def _show_case(case: object) -> str:
    """A drawn case as ``name=value, ...``: a dict of inputs, or a monotonicity case ``(values, name, larger)``."""
    if isinstance(case, Mapping):
        return ", ".join(f"{k}={v}" for k, v in case.items())
    if isinstance(case, tuple) and len(case) == 3 and isinstance(case[0], Mapping):
        values, name, larger = case
        return f"{_show_case(values)}; then {name}={larger}"
    return repr(case)


def test_theorem(
    theorem: Theorem,
    *,
    trials: int = 5000,
    examples: int = 30,
    seed: int = 0,
    alpha: float = 1e-3,
    scenarios: Sequence[Scenario] | None = None,
    fixed: Mapping[str, object] | None = None,
    quick: bool = False,
    max_int: int = DEFAULT_MAX_INT,
) -> TheoremTestReport:
    """Property checks (``examples`` hypothesis cases each) and the validity harness (``trials`` per scenario)."""
    th = theorem
    checks: list[tuple[str, str]] = []

    def enclosure(v: Mapping[str, object]) -> None:
        check_enclosure(th, v)

    def refusals(v: Mapping[str, object]) -> None:
        check_refuses_invalid(th, v)

    def monotone(case: tuple) -> None:
        check_monotone(th, *case)

    def unmet(v: Mapping[str, object]) -> None:
        check_refuses_unmet_hypotheses(th, v)

    valid = inputs(th, max_int=max_int)
    known = th.example_values() or None
    checks.append(("enclosure contains the 256-bit reference",
                   _run_property(valid, enclosure, examples, seed, known)))
    checks.append(("invalid inputs are refused",
                   _run_property(valid, refusals, max(5, examples // 3), seed, known)))
    if any(q.monotone in ("increasing", "decreasing") for q in th.quantities):
        checks.append(("declared monotonicities hold",
                       _run_property(monotone_cases(th, max_int=max_int), monotone, examples, seed)))
    else:
        checks.append(("declared monotonicities hold", "skipped: none declared"))
    if any(h.check is not None for h in th.hypotheses):
        raw = st.fixed_dictionaries({q.name: quantity_values(q, max_int=max_int) for q in th.quantities})
        checks.append(("unmet hypotheses are refused", _run_property(raw, unmet, examples, seed)))
    validity = validate(th, scenarios, trials=trials, alpha=alpha, seed=seed, fixed=fixed, quick=quick)
    return TheoremTestReport(th.id, tuple(checks), validity)


test_theorem.__test__ = False  # type: ignore[attr-defined]  (not a pytest test, despite its name)

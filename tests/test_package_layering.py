"""Dependency direction (certify -> theorems, kernels): theorems and kernels import neither each other nor certify."""

import subprocess
import sys


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_theorems_imports_neither_kernels_nor_certify():
    mods = _modules_after_import("theorems")
    assert "kernels" not in mods and "certify" not in mods and "torch" not in mods and "hypothesis" not in mods


def test_kernels_imports_neither_theorems_nor_certify():
    mods = _modules_after_import("kernels")
    assert "theorems" not in mods and "certify" not in mods and "sympy" not in mods


# ----------------------------------------------------------------------------------------------- import cycles
def _import_graph() -> dict[str, set[str]]:
    """Edges module -> module for every ``import``/``from`` anywhere in a module (function bodies included) of the
    three packages. Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so the packages on the way
    are edges too (except the importer's own ancestors, which are already running)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    mods: dict[str, Path] = {}
    for pkg in ("certify", "kernels", "theorems"):
        for p in (root / pkg).rglob("*.py"):
            parts = p.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            mods[name] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        is_pkg = p.name == "__init__.py"
        here = m.split(".") if is_pkg else m.split(".")[:-1]
        for node in ast.walk(ast.parse(p.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if not t:
                    continue
                chain = t.split(".")
                for i in range(1, len(chain) + 1):
                    u = ".".join(chain[:i])
                    if u in mods and u != m and not m.startswith(u + "."):
                        graph[m].add(u)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state and (found := visit(u)):
            return found
    return None


def test_no_import_cycles():
    graph = _import_graph()
    assert len(graph) > 80  # the walk found the packages' modules
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None

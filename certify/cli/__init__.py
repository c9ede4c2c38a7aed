"""The ``certify`` command line. Each command group lives in its own module with ``add_parser(subparsers)``.

Exit codes: 0 success; 1 a negative verdict (e.g. ``NOT VERIFIED``, a violated bound); 2 usage or input errors
(one line on stderr naming the input and the fix).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from boundcert import __version__
from boundcert.errors import CertifyError, HypothesisNotMet, InvalidInput, UnsoundEnvironment
from certify.cli import (
    _demo, _dynamics, _landscape, _optimize, _repro, _robust, _run, _sweep, _test_theorem, _theorems,
)

__all__ = ["main", "build_parser"]

#: Command modules, in the order ``certify --help`` lists them.
COMMANDS = (_theorems, _run, _dynamics, _landscape, _test_theorem, _demo, _optimize, _repro, _sweep, _robust)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="certify",
        description="boundcert: published deep-learning bounds, evaluated rigorously, with checkable certificates.",
    )
    parser.add_argument("--version", action="version", version=f"boundcert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (InvalidInput, HypothesisNotMet, UnsoundEnvironment) as exc:
        print(f"certify: error: {exc}", file=sys.stderr)
        return 2
    except CertifyError as exc:
        print(f"certify: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("certify: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

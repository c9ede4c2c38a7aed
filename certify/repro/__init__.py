"""Paper reproductions: the harness behind ``certify repro`` (discovery, running, the results format) and the one
helper layer of the paper_repro/ scripts (:mod:`certify.repro.results`)."""

from certify.repro.harness import REPRO_DIR, Reproduction, discover, get, load_module, run, validate_results

__all__ = ["REPRO_DIR", "Reproduction", "discover", "get", "load_module", "run", "validate_results"]

"""Reports: the per-layer analyze table, report.html/.md with its figures, the dynamics figure."""

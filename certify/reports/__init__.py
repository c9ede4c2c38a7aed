"""Reports: the per-layer analyze table (:mod:`~certify.reports.analyze`), report.html/.md with its figures
(:mod:`~certify.reports.report`; maths rendered offline and Markdown escaping in :mod:`~certify.reports.markup`),
the dynamics figure (:mod:`~certify.reports.dynamics_plot`), and the one progress-bar helper every long loop uses
(:func:`certify.reports.progress.progress`: tqdm on stderr, drawn only when stderr is a terminal)."""

"""The figure of ``certify dynamics --out``: the PH fits (log E against log n, with the least-squares lines) and
the recorded step-size schedule (with ``2/beta`` or ``c/t`` when a stability bound was evaluated)."""

from __future__ import annotations

import io

import numpy as np

from boundcert.errors import InvalidInput
from certify.quantities.dynamics import DynamicsReport
from certify.quantities.stability import recorded_schedule
from certify.training.trajectory import Trajectory
from theorems import parse_exact

__all__ = ["figure_png"]


def figure_png(report: DynamicsReport, traj: Trajectory) -> bytes:
    """A PNG (matplotlib, Agg backend) of the PH fits and the step-size schedule."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fits = [("Euclidean (iterates)", report.ph_dim_estimate)]
    if report.ph_dim_loss_estimate is not None:
        fits.append(("l1 (loss vectors)", report.ph_dim_loss_estimate))
    fig, axes = plt.subplots(1, len(fits) + 1, figsize=(5 * (len(fits) + 1), 4))
    for ax, (label, e) in zip(axes, fits):
        x = np.log(np.array(e.sizes, dtype=np.float64))
        for k in range(len(e.lengths[0])):
            ax.plot(x, np.log([row[k] for row in e.lengths]), "o", ms=4, color="C0", alpha=0.8)
        ax.plot(x, e.slope * x + e.intercept, "-", color="C3",
                label=f"slope {e.slope:.3f}, R$^2$ {e.r_squared:.3f}")
        ax.set_xlabel("log n (sample size)")
        ax.set_ylabel(r"log $E^\alpha_0$ (MST length)")
        ax.set_title(f"PH dimension estimate {e.dimension:.3g}: {label}", fontsize=9)
        ax.legend(fontsize=8)
    ax = axes[-1]
    try:
        hist, source = recorded_schedule(traj)
        t = np.arange(1, hist.shape[0] + 1)
        ax.plot(t, hist[:, 0], "-", color="C0", label=f"alpha_t ({source})")
    except InvalidInput:
        if traj.step_sizes is not None:
            ax.plot(np.asarray(traj.steps), np.asarray(traj.step_sizes)[:, 0], ".", color="C0",
                    label="alpha_t (recorded window only)")
        else:
            ax.text(0.5, 0.5, "no step sizes recorded", ha="center", va="center", transform=ax.transAxes)
    s = report.stability
    if s is not None:
        inputs = dict(s.inputs)
        beta = float(parse_exact(inputs["beta"]))
        if s.regime == "convex":
            ax.axhline(2 / beta, color="C3", ls="--", label=r"$2/\beta$ (Thm 3.8)")
        elif s.regime == "strongly-convex":
            ax.axhline(1 / beta, color="C3", ls="--", label=r"$1/\beta$ (Thm 3.9)")
        else:
            c = float(parse_exact(inputs["c"]))
            tt = np.arange(1, int(inputs["T"]) + 1)
            ax.plot(tt, c / tt, "--", color="C3", label="c/t (Thm 3.12)")
            ax.set_yscale("log")
        ax.set_title(f"step sizes; bound {s.theorem_id}: {s.enclosure.hi_str(4)}", fontsize=9)
    else:
        ax.set_title("step sizes", fontsize=9)
    ax.set_xlabel("step t")
    ax.set_ylabel("step size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()

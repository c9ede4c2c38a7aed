"""``certify dynamics TRAJECTORY``: PH dimensions, tail indices, JL distortion and the stability bound of a run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dynamics",
        help="measures of a recorded trajectory (PH dimension, tail indices) and the Hardt et al. stability bound",
        description="Measures (named *_estimate, never bounds) of a trajectory file from certify.training.trajectory."
                    "TrajectoryRecorder, and, given the loss constants, the uniform-stability bound of Hardt, Recht, "
                    "Singer (2016) evaluated rigorously on the recorded step sizes.",
    )
    p.add_argument("trajectory", help="the .npz written by TrajectoryRecorder.save")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out", metavar="DIR", help="write DIR/dynamics.json and DIR/dynamics.png (PH fits, step-size schedule)")
    g = p.add_argument_group("PH dimension and tail indices (measures)")
    g.add_argument("--n-min", type=int, help="smallest PH sample size (default: iterates // 4)")
    g.add_argument("--n-max", type=int, help="largest PH sample size (default: all iterates)")
    g.add_argument("--step", type=int, help="PH sample-size step (default: iterates // 8)")
    g.add_argument("--repeats", type=int, default=1, help="PH samples per size, pooled in the fit (default 1)")
    g.add_argument("--seed", type=int, default=0, help="seed of the PH samples and tail projections (default 0)")
    g.add_argument("--projections", type=int, default=10, help="random directions for the increment tail index")
    s = p.add_argument_group("stability bound (Hardt, Recht, Singer 2016): constants the file cannot know")
    s.add_argument("--regime", choices=("convex", "strongly-convex", "nonconvex"),
                   help="which theorem: 3.8 convex, 3.9 strongly convex (constant step), 3.12 non-convex (c/t steps)")
    s.add_argument("--lipschitz", metavar="L", help="Lipschitz constant of the loss in the weights (exact decimal)")
    s.add_argument("--smoothness", metavar="BETA", help="smoothness constant beta of the loss (exact decimal)")
    s.add_argument("--sample-size", metavar="M", type=int, help="training examples n (if the file does not store it)")
    s.add_argument("--strong-convexity", metavar="GAMMA", help="gamma (strongly-convex regime only)")
    s.add_argument("--c", metavar="C", help="c of alpha_t <= c/t (non-convex; default: max_t t alpha_t)")
    p.set_defaults(func=_run)


def _inputs(args: argparse.Namespace):  # -> StabilityInputs | None
    from boundcert.errors import InvalidInput
    from certify.quantities.stability import StabilityInputs

    given = [f for f, v in (("--lipschitz", args.lipschitz), ("--smoothness", args.smoothness),
                            ("--strong-convexity", args.strong_convexity), ("--c", args.c)) if v is not None]
    if args.regime is None:
        if given:
            raise InvalidInput(f"{given[0]} is given without --regime: pass --regime convex|strongly-convex|nonconvex "
                               "for the stability bound")
        return None
    missing = [f for f, v in (("--lipschitz", args.lipschitz), ("--smoothness", args.smoothness)) if v is None]
    if missing:
        raise InvalidInput(f"--regime {args.regime} needs {' and '.join(missing)}: the trajectory file cannot know "
                           "the loss constants")
    if args.strong_convexity is not None and args.regime != "strongly-convex":
        raise InvalidInput(f"--strong-convexity is only used with --regime strongly-convex, not {args.regime}")
    if args.c is not None and args.regime != "nonconvex":
        raise InvalidInput(f"--c is only used with --regime nonconvex, not {args.regime}")
    return StabilityInputs(regime=args.regime, lipschitz=args.lipschitz, smoothness=args.smoothness,
                           sample_size=args.sample_size, strong_convexity=args.strong_convexity, c=args.c)


def _run(args: argparse.Namespace) -> int:
    from certify.quantities.dynamics import analyze_trajectory, open_trajectory

    stab = _inputs(args)
    traj = open_trajectory(args.trajectory)
    report = analyze_trajectory(traj, source=args.trajectory, n_min=args.n_min, n_max=args.n_max, step=args.step,
                                n_repeats=args.repeats, seed=args.seed, n_projections=args.projections,
                                stability=stab, progress=not args.json)
    doc = report.to_dict()
    if args.out:
        _write(Path(args.out), doc, report, traj)
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(_table(report))
        if args.out:
            print(f"wrote {Path(args.out) / 'dynamics.json'} and {Path(args.out) / 'dynamics.png'}")
    return 0


def _write(out: Path, doc: dict, report, traj) -> None:
    """Render the figure, then write both files atomically (PNG first: the JSON names it)."""
    from certify.certificate import atomic_write_bytes, atomic_write_text
    from certify.reports.dynamics_plot import figure_png

    png = figure_png(report, traj)
    atomic_write_bytes(out / "dynamics.png", png)
    atomic_write_text(out / "dynamics.json", json.dumps({**doc, "figure": "dynamics.png"}, indent=2, sort_keys=True) + "\n")


def _g(x: float) -> str:
    return f"{x:.4g}"


def _table(r) -> str:  # r: DynamicsReport
    jl = "exact iterates (no projection)"
    if r.jl:
        d = r.jl.get("distortion")
        jl = (f"JL-projected to {r.jl.get('dim')} dims, measured distortion "
              f"{'n/a' if d is None else _g(d)} over {r.jl.get('pairs')} pairs (a measurement, not a guarantee)")
    lines = [f"trajectory  {r.source}: {r.n_iterates} iterates, steps {r.first_step}..{r.last_step} "
             f"(of {r.total_steps}), dimension {r.dim}", f"            {jl}", "",
             f"{'measure':32s} {'value':>10s}  fit diagnostics"]

    def ph(name: str, e) -> None:
        sizes = e.sizes
        lines.append(f"{name:32s} {_g(e.dimension):>10s}  slope {_g(e.slope)}, R^2 {e.r_squared:.4f}, sizes "
                     f"{sizes[0]}..{sizes[-1]} ({len(sizes)}), {len(e.lengths[0])} sample(s) per size, "
                     f"{e.metric}, seed {e.seed}")

    def tail(name: str, e, what: str) -> None:
        blocks = ", ".join(f"m={m}: {_g(a)}" for m, a in e.per_block)
        lines.append(f"{name:32s} {_g(e.alpha_estimate):>10s}  {e.n_samples} {what}; per block size: {blocks}")

    ph("ph_dim_estimate", r.ph_dim_estimate)
    if r.ph_dim_loss_estimate is not None:
        ph("ph_dim_loss_estimate", r.ph_dim_loss_estimate)
    if r.grad_noise_tail_estimate is not None:
        tail("grad_noise_tail_estimate", r.grad_noise_tail_estimate, "gradient-noise samples")
    tail("increment_tail_estimate", r.increment_tail_estimate,
         f"increments, median of {len(r.increment_tail_estimate.per_projection)} projections")
    lines.append("(measures: fitted numbers, not bounds)")
    s = r.stability
    if s is not None:
        lines += ["", f"bound       {s.bounded} <= {s.bound}", f"            theorem {s.theorem_id} v{s.theorem_version} "
                  f"({s.regime}); enclosure [{s.enclosure.lo_str(12)}, {s.enclosure.hi_str(12)}]; {s.holds_for}",
                  "            inputs: " + ", ".join(f"{k}={_short(v)}" for k, v in s.inputs),
                  "            checked on the recorded run: " + "; ".join(s.checked_from_file),
                  "            assumed: " + "; ".join([h.name for h in s.hypotheses if h.status == "assumed"]
                                                       + [a.split(":")[0] for a in s.assumed])]
    for name, why in r.skipped:
        lines.append(f"skipped     {name}: {why}")
    return "\n".join(lines)


def _short(v: str) -> str:
    """An exact input string, shortened for the table (``p/q`` shown as a decimal approximation)."""
    if "/" in v:
        num, den = v.split("/")
        return f"~{int(num) / int(den):.6g}"
    return v

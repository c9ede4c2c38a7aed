"""Zhang, Bengio, Hardt, Recht, Vinyals 2017: deep networks easily fit random labels.

Their Figure 1a: training loss against steps for true labels, random labels, shuffled pixels and Gaussian
inputs -- every variant reaches zero training error, random labels slower by a small constant factor -- and
Figure 1c: the test error of the fitted networks grows to chance as labels are corrupted. Norm-based
complexities (Bartlett et al.'s spectral complexity, the product of Frobenius norms, the l1 path norm) are
tracked along training: the capacity a norm-based bound sees grows when the labels carry no signal.
"""

from __future__ import annotations

import time

import numpy as np

import _common as c
import kernels
from certify.repro import results as rs

PAPER = "Zhang, Bengio, Hardt, Recht, Vinyals, Understanding deep learning requires rethinking generalization, ICLR 2017"
CLAIM = ("Figure 1a/1c: true labels, random labels, shuffled pixels and Gaussian inputs are all fitted to 100% "
         "train accuracy (random labels slower); test accuracy drops to chance; norm complexities grow")


def _complexities(model) -> dict:
    ws = c.weights(model)
    return {"spectral_complexity": c.spectral_complexity(model, certified=False)["value"],
            "prod_frobenius": float(np.prod([np.linalg.norm(w) for w in ws])),
            "path_norm_l1": float(kernels.path_norm(c.dense_layers(model), p=1).hi)}


def main(argv=None) -> int:
    args = rs.parser(__doc__).parse_args(argv)
    t0 = time.perf_counter()
    n, width, epochs, every = (100, 32, 60, 10) if args.quick else (500, 128, 200, 5)
    xtr, ytr, xte, yte = c.builtin("digits", n, args.seed)
    rng = np.random.default_rng(args.seed + 7)
    settings = {
        "true labels": (xtr, ytr),
        "random labels": (xtr, rng.integers(0, 10, n)),
        "shuffled pixels": (xtr[:, rng.permutation(xtr.shape[1])], ytr),
        "gaussian inputs": (rng.normal(xtr.mean(), xtr.std(), xtr.shape).astype(np.float32), ytr),
    }
    hist, final = {}, {}
    for name, (x, y) in settings.items():
        model = c.mlp(x.shape[1], width, 3, 10, args.seed)
        hist[name] = c.train(model, x, y, epochs=epochs, lr=1e-3, batch=50, seed=args.seed, every=every,
                             stop_loss=0.01, on_epoch=lambda m, ep: _complexities(m))
        final[name] = {"epochs": hist[name][-1]["epoch"], "train_acc": hist[name][-1]["train_acc"],
                       **{k: hist[name][-1][k] for k in ("spectral_complexity", "prod_frobenius", "path_norm_l1")}}
        if name == "true labels":
            final[name]["test_acc"] = c.accuracy(model, xte, yte)
        if name == "random labels":
            final[name]["test_acc"] = c.accuracy(model, xte, yte)
    rows = [rs.row(f"train accuracy, {k}", 1.0, v["train_acc"], 0.0, v["train_acc"] >= 1.0,
                   f"not fitted within the cap of {epochs} epochs") for k, v in final.items()]
    rows.append(rs.row("test accuracy, random labels (chance)", 0.1, final["random labels"]["test_acc"], 0.05,
                       why="test accuracy of the random-label net is not at chance"))
    rows.append(rs.direction_row("epochs to fit: random labels / true labels minus 1",
                                 final["random labels"]["epochs"] / final["true labels"]["epochs"] - 1.0, "> 0",
                                 "random labels were fitted as fast as true labels at this scale"))
    for key in ("spectral_complexity", "prod_frobenius", "path_norm_l1"):
        rows.append(rs.direction_row(f"{key} at fit: log(random / true)",
                                     float(np.log(final["random labels"][key] / final["true labels"][key])), "> 0",
                                     f"{key} did not grow more for random labels"))
    fig, ax = rs.figure(2)
    for name, h in hist.items():
        ep = [r["epoch"] for r in h]
        ax[0].plot(ep, [r["loss"] for r in h], label=name)
        ax[1].plot(ep, [r["spectral_complexity"] for r in h], label=name)
    ax[0].set_yscale("log"); ax[0].set_xlabel("epoch"); ax[0].set_ylabel("training loss"); ax[0].legend()
    ax[0].set_title("fitting (Fig. 1a)")
    ax[1].set_yscale("log"); ax[1].set_xlabel("epoch"); ax[1].set_ylabel("spectral complexity $R_A$")
    ax[1].set_title("norm-based complexity along training"); ax[1].legend()
    fig.suptitle(f"zhang2017 on digits: MLP width {width}, n={n}")
    rs.write("zhang2017", args.out, paper=PAPER, claim=CLAIM,
             scale=f"scikit-learn digits, n={n}, MLP {xtr.shape[1]}-{width}-{width}-10, Adam lr 1e-3, until loss "
                   f"<= 0.01 (cap {epochs} epochs); paper: Inception/AlexNet/MLPs on CIFAR-10 and ImageNet",
             rows=rows, certificates=[], quick=args.quick, started=t0, fig=fig,
             extra={"final": final, "history": hist})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

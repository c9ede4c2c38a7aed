"""Shared by sedghi2019 and delattre2023: a small CNN trained on digits, and the norms of its conv layers."""

from __future__ import annotations

import math
import time

import numpy as np

import _common as c


def trained_cnn(quick: bool, seed: int):
    """Digits (8x8) CNN: conv3x3(1->C1) circular pad 1, ReLU, conv3x3(C1->C2) circular pad 1, ReLU, linear."""
    torch = c.setup_torch()
    c1, c2, epochs = (8, 16, 5) if quick else (16, 32, 15)
    xtr, ytr, xte, yte = c.builtin("digits", None, seed)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, c1, 3, padding=1, padding_mode="circular"), torch.nn.ReLU(),
        torch.nn.Conv2d(c1, c2, 3, padding=1, padding_mode="circular"), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(c2 * 64, 10))
    hist = c.train(model, xtr, ytr, epochs=epochs, lr=1e-3, batch=50, seed=seed, stop_at=None)
    convs = [m.weight.detach().numpy().astype(np.float64) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    return convs, {"train_acc": hist[-1]["train_acc"], "test_acc": c.accuracy(model, xte, yte),
                   "epochs": hist[-1]["epoch"], "channels": [c1, c2]}


def fourier_blocks(k: np.ndarray, n: int) -> np.ndarray:
    """Sedghi et al. 2019: the n^2 matrices P_uv = sum_ab K[:, :, a, b] w^(ua + vb), shape (n*n, c_out, c_in)."""
    kh = np.fft.fft2(k, s=(n, n), axes=(2, 3))
    return kh.transpose(2, 3, 0, 1).reshape(n * n, k.shape[0], k.shape[1])


def circular_exact(k: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    """Sedghi et al.'s exact singular values (float64 FFT + SVD; not rigorous): (top, all sorted descending)."""
    s = np.linalg.svd(fourier_blocks(k, n), compute_uv=False).ravel()
    return float(s.max()), np.sort(s)[::-1]


def dense_matrix(k: np.ndarray, n: int, padding_mode: str = "circular") -> np.ndarray:
    """The layer as an explicit (c_out n^2) x (c_in n^2) matrix (padding 1, stride 1), by applying it to the basis."""
    torch = c.setup_torch()
    ci = k.shape[1]
    eye = torch.eye(ci * n * n, dtype=torch.float64).reshape(-1, ci, n, n)
    if padding_mode == "circular":
        x = torch.nn.functional.pad(eye, (1, 1, 1, 1), mode="circular")
        out = torch.nn.functional.conv2d(x, torch.as_tensor(k))
    else:
        out = torch.nn.functional.conv2d(eye, torch.as_tensor(k), padding=1)
    return out.reshape(ci * n * n, -1).numpy().T


def gram_iteration(k: np.ndarray, n: int, iters: int = 6) -> float:
    """Delattre et al. 2023 (Algorithm 2, on the Fourier blocks): ``sigma_1 <= max_f ||G_f^(t)||_F^(2^-t)`` with
    per-step Frobenius rescaling; an upper bound in exact arithmetic, evaluated here in plain float64."""
    g = fourier_blocks(k, n)
    if g.shape[1] < g.shape[2]:
        g = g.conj().transpose(0, 2, 1)
    log_scale = np.zeros(g.shape[0])
    for _ in range(iters):
        r = np.linalg.norm(g, axis=(1, 2))
        g = g / r[:, None, None]
        g = g.conj().transpose(0, 2, 1) @ g
        log_scale = 2.0 * (log_scale + np.log(r))
    return float(np.exp((np.log(np.linalg.norm(g, axis=(1, 2))) + log_scale) / 2.0 ** iters).max())


def timed(fn, *a, repeat: int = 3, **kw):
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*a, **kw)
        best = min(best, time.perf_counter() - t)
    return out, best


def random_layer(c_in: int, c_out: int, seed: int) -> np.ndarray:
    """He-initialised 3x3 kernel (a timing layer of ResNet-like size)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((c_out, c_in, 3, 3)) * math.sqrt(2.0 / (9 * c_in))

"""Every CUDA kernel against the CPU result and against an independent exact reference (simulator or GPU).

Under the numba simulator the device arithmetic is the host's (no FMA contraction), so where the algorithm and
the order of operations are the CPU's, the results must be *equal*; on a real GPU the compiler may contract
``a * b + c`` into an FMA, so there only the containment of the exact value is asserted (both enclosures).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

import kernels
from boundcert.errors import InvalidInput, UnsoundEnvironment
from kernels import Activation, ConvLayer, DenseLayer, Residual
from kernels._device import cuda_simulated, resolve_device, resolve_torch_device
from kernels._distances import distance_matrix
from kernels._mst import _tree, direct_enclosure
from kernels._validation import check_metric

SIM = cuda_simulated()
Q = Fraction


# ---------------------------------------------------------------- device selection

def test_device_resolution(monkeypatch):
    assert resolve_device("cpu", "k") == "cpu"
    assert resolve_device("cuda", "k") == "cuda"
    assert resolve_device("auto", "k") == ("cpu" if SIM else "cuda")  # the simulator is never auto-picked
    with pytest.raises(InvalidInput, match="device='tpu'"):
        resolve_device("tpu", "k")
    with pytest.raises(InvalidInput, match="no certified CUDA path"):
        resolve_device("cuda", "k", has_cuda_path=False)
    assert resolve_device("auto", "k", has_cuda_path=False) == "cpu"
    import kernels._device as dev

    monkeypatch.setattr(dev, "cuda_usable", lambda: False)
    with pytest.raises(InvalidInput, match="no CUDA GPU is usable"):
        resolve_device("cuda", "k")
    assert resolve_device("auto", "k") == "cpu"


def test_auto_picks_cpu_under_the_simulator_and_says_so():
    if not SIM:
        pytest.skip("a real GPU: auto picks cuda")
    x = np.random.default_rng(0).standard_normal((6, 2))
    assert kernels.mst_length(x).source.endswith("[device=cpu]")
    assert kernels.mst_length(x, device="cuda").source.endswith("[device=cuda]")
    assert kernels.frobenius_norm(x).source.endswith("[device=cpu]")


# ---------------------------------------------------------------- MST

def exact_mst_length(X: np.ndarray, metric: str) -> mpmath.mpf:
    """Prim in 300-bit arithmetic on the exact distances of the stored points (independent of the kernels)."""
    n = X.shape[0]
    with mpmath.workprec(300):
        P = [[mpmath.mpf(float(v)) for v in row] for row in X]

        def dist(i, j):
            if metric == "manhattan":
                return mpmath.fsum(abs(a - b) for a, b in zip(P[i], P[j]))
            return mpmath.sqrt(mpmath.fsum((a - b) ** 2 for a, b in zip(P[i], P[j])))

        in_tree = [False] * n
        key = [mpmath.inf] * n
        key[0] = mpmath.mpf(0)
        total = mpmath.mpf(0)
        for _ in range(n):
            v = min((k, i) for i, k in enumerate(key) if not in_tree[i])[1]
            in_tree[v] = True
            total += key[v]
            for w in range(n):
                if not in_tree[w]:
                    key[w] = min(key[w], dist(v, w))
        return total


def assert_contains(enc, exact) -> None:
    with mpmath.workprec(300):
        tol = abs(exact) * mpmath.mpf(2) ** -250
        assert mpmath.mpf(enc.lo) <= exact - tol, (enc, exact)
        assert exact + tol <= mpmath.mpf(enc.hi), (enc, exact)


def _clouds():
    rng = np.random.default_rng(7)
    grid = np.array([[i, j] for i in range(4) for j in range(4)], dtype=np.float64)  # many exact ties
    dup = np.repeat(rng.standard_normal((6, 3)), 3, axis=0)  # duplicate points: zero-length edges
    return [
        ("gauss-d1", rng.standard_normal((20, 1))),
        ("gauss-d3", rng.standard_normal((20, 3))),
        ("far-d7", 1e3 + 1e-4 * rng.standard_normal((16, 7))),
        ("gauss-d40", rng.standard_normal((16, 40))),
        ("grid", grid),
        ("dup", dup),
        ("tiny", 1e-300 * rng.standard_normal((10, 4))),
    ]


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("name,X", _clouds(), ids=[c[0] for c in _clouds()])
def test_mst_length_cuda(name, X, metric):
    enc = kernels.mst_length(X, metric, device="cuda")
    cpu = kernels.mst_length(X, metric, device="cpu")
    assert enc.source == "kernels.mst_length/cuda-prim v1 [device=cuda]"
    exact = exact_mst_length(X, metric)
    if exact == 0:
        assert enc.lo == 0.0 and cpu.lo == 0.0
    else:
        assert_contains(enc, exact)
        assert_contains(cpu, exact)
    if SIM:  # same algorithm (direct Prim), same order of operations: the same enclosure
        code = check_metric(metric)
        parent, _, _ = _tree(X, code, "direct")
        assert (enc.lo, enc.hi) == direct_enclosure(X, code, parent, None)


def test_mst_cuda_tree_is_the_cpu_tree():
    from kernels._cuda_mst import prim_cuda

    for _, X in _clouds()[4:6]:  # ties and duplicates (the other clouds are covered through mst_length)
        for code in (0, 1):
            parent, c = prim_cuda(X, code)
            ref, _, _ = _tree(X, code, "direct")
            if SIM:
                np.testing.assert_array_equal(parent, ref)
            assert parent[0] == -1 and np.all((parent[1:] >= 0) & (parent[1:] < X.shape[0]))
            assert np.all(c >= 0.0) and c[0] == 0.0


def test_ph_dim_cuda_distances_and_estimate():
    from kernels._cuda_mst import distance_matrix_cuda

    rng = np.random.default_rng(3)
    X = rng.random((30, 5))
    for metric in ("euclidean", "manhattan"):
        D = distance_matrix_cuda(X, check_metric(metric))
        ref = distance_matrix(X, metric, method="direct")
        if SIM:
            np.testing.assert_array_equal(D, ref)
        else:
            np.testing.assert_allclose(D, ref, rtol=1e-14, atol=0)
        a = kernels.ph_dim(X, metric=metric, n_min=10, step=10, device="cuda")
        b = kernels.ph_dim(X, metric=metric, n_min=10, step=10, device="cpu")
        assert a.device == "cuda" and b.device == "cpu"
        if SIM:
            assert a.lengths == b.lengths and a.dimension == b.dimension
        else:
            assert a.dimension == pytest.approx(b.dimension, rel=1e-12)


def test_ph_dim_gram_distances_torch():
    """The GPU GEMM distance path (torch) run on a torch CPU device: it equals the CPU GEMM estimate closely."""
    pytest.importorskip("torch")
    from kernels._cuda_mst import gram_distances_torch

    X = 5.0 + np.random.default_rng(4).standard_normal((25, 40))
    D = gram_distances_torch(X, "cpu")
    ref = distance_matrix(X, "euclidean", method="direct")
    np.testing.assert_allclose(D, ref, rtol=1e-9, atol=0)
    assert np.all(np.diag(D) == 0.0)


# ---------------------------------------------------------------- group norms

def _matrices():
    rng = np.random.default_rng(11)
    return [
        ("gauss", rng.standard_normal((17, 9))),
        ("wide-f32", rng.standard_normal((3, 40)).astype(np.float32)),
        ("huge", 1e300 * rng.standard_normal((6, 5))),
        ("subnormal", 2.0**-1070 * rng.integers(-3, 4, size=(5, 7)).astype(np.float64)),
        ("sparse", np.where(rng.random((8, 8)) < 0.7, 0.0, rng.standard_normal((8, 8)))),
    ]


@pytest.mark.parametrize("name,W", _matrices(), ids=[m[0] for m in _matrices()])
def test_group_norms_cuda(name, W):
    W64 = np.asarray(W, dtype=np.float64)
    rows = [[Q(float(v)) for v in row] for row in W64]
    fro2 = sum((v * v for row in rows for v in row), Q(0))
    inf1 = max(sum((abs(v) for v in row), Q(0)) for row in rows)
    with mpmath.workprec(300):
        cols = list(zip(*rows))
        n21c = mpmath.fsum(mpmath.sqrt(mpmath.mpf(sum((v * v for v in col), Q(0)).numerator)
                                       / sum((v * v for v in col), Q(0)).denominator) for col in cols)
        n21r = mpmath.fsum(mpmath.sqrt(mpmath.mpf(sum((v * v for v in row), Q(0)).numerator)
                                       / sum((v * v for v in row), Q(0)).denominator) for row in rows)
    for fn, kw in ((kernels.frobenius_norm, {}), (kernels.norm_21, {}), (kernels.norm_21, {"over": "rows"}),
                   (kernels.norm_1_inf, {})):
        gpu = fn(W, device="cuda", **kw)
        cpu = fn(W, device="cpu", **kw)
        assert gpu.source.endswith("[device=cuda]") and cpu.source.endswith("[device=cpu]")
        if SIM:
            assert (gpu.lo, gpu.hi) == (cpu.lo, cpu.hi)
        for enc in (gpu, cpu):
            if fn is kernels.frobenius_norm:
                assert Q(enc.lo) ** 2 <= fro2 <= Q(enc.hi) ** 2
            elif fn is kernels.norm_1_inf:
                assert Q(enc.lo) <= inf1 <= Q(enc.hi)
            else:
                ref = n21r if kw else n21c
                with mpmath.workprec(300):
                    assert_contains(enc, ref) if ref != 0 else None
    d = kernels.distance_to_init(W, np.zeros_like(W), device="cuda")
    assert d.source.endswith("[device=cuda]") and Q(d.lo) ** 2 <= fro2 <= Q(d.hi) ** 2


# ---------------------------------------------------------------- margins

def _exact_margins(layers, x, y):
    from tests.kernels.test_network import exact_forward

    out = []
    for i in range(x.shape[0]):
        f = exact_forward(layers, x[i])
        out.append(f[y[i]] - max(v for j, v in enumerate(f) if j != y[i]))
    return out


def _check_margins(layers, x, y):
    gpu = kernels.logit_margins(layers, x, y, device="cuda", batch_size=3)
    cpu = kernels.logit_margins(layers, x, y, device="cpu")
    assert gpu.source.endswith("[device=cuda]") and cpu.source.endswith("[device=cpu]")
    for i, exact in enumerate(_exact_margins(layers, x, y)):
        for m in (gpu, cpu):
            assert Q(float(m.lo[i])) <= exact <= Q(float(m.hi[i]))
        assert gpu[i].width < 1e-9 * max(1.0, abs(float(exact)))


@pytest.mark.parametrize("seed", range(4))
def test_margins_dense_cuda(seed):
    rng = np.random.default_rng(seed)
    scale = [1.0, 1e-30, 1e30, 1.0][seed]
    widths = [5, 7, 4, 3]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(DenseLayer(rng.standard_normal((widths[i + 1], widths[i])) * scale,
                                 rng.standard_normal(widths[i + 1]) * scale if seed % 2 == 0 else None))
        if i < len(widths) - 2:
            layers.append(Activation("relu" if seed < 2 else "leaky_relu", 0.125))
    x = rng.standard_normal((4, widths[0]))
    _check_margins(layers, x, rng.integers(0, widths[-1], size=4))


def test_margins_conv_residual_cuda():
    pytest.importorskip("torch")  # the exact reference builds the conv operator matrix with torch
    rng = np.random.default_rng(0)
    k1 = rng.standard_normal((2, 1, 3, 3))
    k2 = rng.standard_normal((2, 2, 3, 3))
    k3 = rng.standard_normal((3, 2, 2, 2))
    layers = [
        ConvLayer(k1, (5, 5), bias=rng.standard_normal(2), padding=1),
        Activation("leaky_relu", 0.125),
        Residual((ConvLayer(k2, (5, 5), padding=1, padding_mode="circular"), Activation("relu"))),
        ConvLayer(k3, (5, 5), stride=2),
        Activation("relu"),
        DenseLayer(rng.standard_normal((3, 12)), rng.standard_normal(3)),
    ]
    x = rng.standard_normal((3, 1, 5, 5))
    _check_margins(layers, x, np.array([0, 2, 1]))


def test_margin_products_match_cpu_ops():
    from kernels._conv_ops import geometry
    from kernels._cuda_network import CudaOps
    from kernels._network import CpuOps

    rng = np.random.default_rng(5)
    w, z = rng.standard_normal((4, 6)), rng.standard_normal((3, 6))
    np.testing.assert_allclose(CudaOps.dense(w, z), CpuOps.dense(w, z), rtol=1e-13)
    k = rng.standard_normal((2, 3, 3, 3))
    for mode, pad, stride in (("zeros", 1, 1), ("circular", 1, 2), ("zeros", 0, 2)):
        g = geometry(k.shape, (6, 6), stride, pad, mode)
        zz = rng.standard_normal((2, 3, 6, 6))
        np.testing.assert_allclose(CudaOps.conv(k, zz, g), CpuOps.conv(k, zz, g), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- spectral norm (torch / cuBLAS path)

def test_spectral_cuda_refusals():
    torch = pytest.importorskip("torch")
    w = np.eye(3)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInput, match="torch built with CUDA"):
            kernels.spectral_norm(w, device="cuda")
        with pytest.raises(InvalidInput, match="torch built with CUDA"):
            resolve_torch_device("cuda", "k")
        assert kernels.spectral_norm(w, device="auto").source.endswith("[device=cpu]")
        with pytest.raises(InvalidInput, match="torch built with CUDA"):
            kernels.conv_spectral_norm(np.ones((1, 1, 3, 3)), 5, device="cuda")
    old = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        with pytest.raises(UnsoundEnvironment, match="allow_tf32"):
            kernels.spectral_norm(w, device="cpu")
        from kernels._cuda_spectral import TorchGram

        with pytest.raises(UnsoundEnvironment, match="allow_tf32"):
            TorchGram(w, "cpu")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


@pytest.mark.parametrize("shape", [(6, 4), (3, 7), (40, 30), (300, 270)])
def test_spectral_torch_backend_contains_sigma(shape):
    """The GPU code path (TorchGram) run on a torch CPU device: same error model, exact containment."""
    pytest.importorskip("torch")
    pytest.importorskip("flint")
    from tests.kernels.references import assert_contains_sigma
    from kernels._cuda_spectral import TorchGram
    from kernels._scaling import pow2_scale
    from kernels._spectral import _enclose_scaled

    rng = np.random.default_rng(shape[0])
    w = rng.standard_normal(shape)
    a, e, _ = pow2_scale(w)
    a = a if a.shape[0] >= a.shape[1] else np.ascontiguousarray(a.T)
    lo, hi, note = _enclose_scaled(a, 1e-6, lambda x: TorchGram(x, "cpu"))
    clo, chi, _ = _enclose_scaled(a, 1e-6)
    assert note == "" and (hi - lo) <= 1e-6 * hi
    if shape[0] * shape[1] <= 1200:
        assert_contains_sigma(kernels.Enclosure(lo, hi), a)
        assert_contains_sigma(kernels.Enclosure(clo, chi), a)
    else:
        s = np.linalg.norm(a, 2)
        assert lo <= s * (1 + 1e-12) and s * (1 - 1e-12) <= hi


@pytest.mark.parametrize("mode,stride,pad", [("circular", 1, 1), ("zeros", 2, 1)])
def test_conv_torch_backend_matches_host(mode, stride, pad):
    """The GPU code path of the per-frequency certificate (batched Gram + Cholesky through torch) on a torch CPU
    device: same blocks, same error terms and shifts; the enclosure contains the host path's lower end and the
    uncertified FFT value, and the two paths agree to the requested gap."""
    pytest.importorskip("torch")
    from kernels._conv import _enclose_scaled
    from kernels._conv_ops import geometry
    from kernels._scaling import pow2_scale

    rng = np.random.default_rng(2)
    k = rng.standard_normal((3, 2, 3, 3))
    g = geometry(k.shape, (6, 6), stride, pad, mode)
    ks, _, _ = pow2_scale(k)
    lo_t, hi_t, _ = _enclose_scaled(ks, g, 1e-4, "cpu")
    lo_h, hi_h, _ = _enclose_scaled(ks, g, 1e-4)
    assert lo_t == lo_h  # the lower end is computed on the host in both paths
    fft = kernels.conv_spectral_norm_estimate(ks, (6, 6), stride=stride, padding=pad, padding_mode=mode, method="fft")
    assert hi_t >= fft * (1 - 1e-12) and hi_t == pytest.approx(hi_h, rel=1e-6)
    assert 0.0 < lo_t <= hi_t

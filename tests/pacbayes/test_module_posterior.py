"""The stored posterior of a user's module and its compressed form, against independent references: the KL of the
stored file is enclosed around a 256-bit mpmath sum over every parameter (conv, grouped conv, BatchNorm affine,
linear; a Conv1d network too), the fixed buffers round-trip bit for bit and stay out of the KL, the seeded
initialisation is bit-reproducible, the per-example Monte Carlo count equals the module's own errors when sigma is
negligible (per-example parameters, and the local reparameterisation of a Linear stack), the local reparameterisation
draws have the per-example Gaussian law, and the module decoders rebuild exactly ``float32(scale * n)`` /
``float32(w0 + scale * P n)`` (exact rationals)."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn

from certify.models.codec import decode  # noqa: E402
from certify.models.compressed import ModuleDecoder  # noqa: E402
from boundcert.errors import InvalidInput  # noqa: E402
from certify.models.module_posterior import (LOCAL, linear_stack, load_module_posterior, local_forward,  # noqa: E402
                                             module_mc_errors, posterior_parameters, save_module_posterior,
                                             seeded_init, state_arrays)
from certify.quantities.pacbayes import PriorVariance, kl_enclosure  # noqa: E402
from certify.training.compress import encode_model, quantise  # noqa: E402


def _net():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64, 3)).eval()


def _conv1d_net():
    return nn.Sequential(nn.Unflatten(1, (1, 12)), nn.Conv1d(1, 4, 5, padding=2), nn.ReLU(),
                         nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(36, 3)).eval()


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3)).eval()


def _posterior(tmp_path, seed: int, log_sigma: tuple[float, float], net=None, meta=None):
    net = _net() if net is None else net
    rng = np.random.default_rng(seed)
    names = posterior_parameters(net)
    state = state_arrays(net)
    mu = [(rng.normal(size=state[n].shape) * 10.0 ** rng.uniform(-4, 0)).astype(np.float32) for n in names]
    sigma = [(10.0 ** rng.uniform(*log_sigma, size=state[n].shape)).astype(np.float32) for n in names]
    prior = [(rng.normal(size=state[n].shape) * 0.1).astype(np.float32) for n in names]
    fixed = {k: v for k, v in state.items() if k not in names}
    if "1.running_var" in fixed:
        fixed["1.running_var"] = (rng.uniform(0.5, 2, size=4)).astype(np.float32)
    return net, save_module_posterior(names, mu, sigma, prior, fixed, tmp_path / f"p{seed}.safetensors",
                                      meta=meta, template=net), (mu, sigma, prior, fixed)


def _reference_kl(mu, sigma, prior, log_var):
    with mpmath.workprec(256):
        lam, tot = mpmath.exp(log_var), mpmath.mpf(0)
        for m_, s_, p_ in zip(mu, sigma, prior):
            for a, s, b in zip(m_.ravel().tolist(), s_.ravel().tolist(), p_.ravel().tolist()):
                s2 = mpmath.mpf(s) ** 2
                tot += (s2 + (mpmath.mpf(a) - mpmath.mpf(b)) ** 2) / lam - 1 + log_var - mpmath.log(s2)
        return tot / 2


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10**6), j=st.integers(1, 900))
def test_kl_of_the_stored_module_posterior_contains_the_256_bit_sum(tmp_path_factory, seed, j):
    net, post, (mu, sigma, prior, fixed) = _posterior(tmp_path_factory.mktemp("kl"), seed, (-6, 0))
    again = load_module_posterior(post.path, net)
    assert again.sha256 == post.sha256 and again.names == posterior_parameters(net)
    assert {"1.weight", "1.bias", "3.weight", "6.bias"} <= set(again.names)
    for k, v in fixed.items():  # buffers stored bit for bit, not in the KL
        assert again.fixed[k].tobytes() == np.ascontiguousarray(v).tobytes()
    assert again.n_params == sum(m.size for m in mu)
    pv = PriorVariance(c="0.1", b=100, j=j)
    with mpmath.workprec(256):
        lv = mpmath.log(mpmath.mpf(1) / 10) - mpmath.mpf(j) / 100
    kl = kl_enclosure(again, pv)
    ref = _reference_kl(mu, sigma, prior, lv)
    assert kl.lo <= ref <= kl.hi


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10**6), sigma_prior=st.sampled_from(["0.03", "0.01", "0.1"]))
def test_kl_of_a_conv1d_posterior_contains_the_256_bit_sum(tmp_path_factory, seed, sigma_prior):
    net, post, (mu, sigma, prior, fixed) = _posterior(tmp_path_factory.mktemp("kl1d"), seed, (-5, -1),
                                                      net=_conv1d_net())
    assert set(post.names) == {"1.weight", "1.bias", "3.weight", "3.bias", "6.weight", "6.bias"} and not fixed
    assert post.mu[post.names.index("3.weight")].shape == (6, 2, 3)  # grouped Conv1d: in_channels / groups
    kl = kl_enclosure(load_module_posterior(post.path, net), PriorVariance(sigma=sigma_prior))
    with mpmath.workprec(256):
        lv = 2 * mpmath.log(mpmath.mpf(sigma_prior))
    assert kl.lo <= _reference_kl(mu, sigma, prior, lv) <= kl.hi


def test_seeded_init_is_bit_reproducible_and_data_independent():
    a, b = seeded_init(_net(), 3), seeded_init(_net(), 3)
    assert list(a) == list(_net().state_dict())
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert seeded_init(_net(), 4)["0.weight"].tobytes() != a["0.weight"].tobytes()
    assert np.all(a["1.weight"] == 1) and np.all(a["1.running_var"] == 1) and np.all(a["1.running_mean"] == 0)
    k = a["0.weight"].astype(np.float64) / (np.sqrt(6.0 / 9) / (1 << 15))  # integers on the documented grid
    assert np.allclose(k, np.round(k), atol=1e-3)


def test_per_example_count_is_the_modules_own_count_when_sigma_is_negligible(tmp_path):
    net, post, (mu, _, _, fixed) = _posterior(tmp_path, 1, (-44, -43))
    x = np.random.default_rng(0).normal(size=(300, 1, 8, 8)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, size=300)
    state = {**dict(zip(post.names, mu)), **fixed}
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    with torch.no_grad():
        own = int((net(torch.from_numpy(x)).argmax(1).numpy() != y).sum())
    for mode in ("per_example", "per_network"):
        assert module_mc_errors(post, x, y, 2, mode=mode, seed=0, progress=False) == 2 * own


def test_local_reparameterisation_count_is_the_modules_own_count_when_sigma_is_negligible(tmp_path):
    net, post, (mu, _, _, fixed) = _posterior(tmp_path, 2, (-44, -43), net=_mlp(), meta={"sampler": LOCAL})
    assert linear_stack(net) and not linear_stack(_conv1d_net()) and post.meta["sampler"] == LOCAL
    x = np.random.default_rng(0).normal(size=(300, 12)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, size=300)
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in {**dict(zip(post.names, mu)), **fixed}.items()})
    with torch.no_grad():
        own = int((net(torch.from_numpy(x)).argmax(1).numpy() != y).sum())
    assert module_mc_errors(post, x, y, 3, mode="per_example", seed=0, progress=False) == 3 * own


def test_local_reparameterisation_draws_have_the_per_example_gaussian_law():
    """One Linear layer: row i of the output is N(W_mu x_i + b_mu, (x_i^2) sigma_W^2 + sigma_b^2) coordinate-wise,
    independently. At a fixed seed, 20000 draws' standardised residuals (float64 reference moments) have mean within
    6/sqrt(n) of 0 and variance within 0.05 of 1 (tail probability < 1e-8 for a correct sampler)."""
    lin = nn.Sequential(nn.Linear(5, 4)).eval()
    rng = np.random.default_rng(3)
    mu = {"0.weight": torch.from_numpy(rng.normal(size=(4, 5)).astype(np.float32)),
          "0.bias": torch.from_numpy(rng.normal(size=4).astype(np.float32))}
    sig = {k: torch.from_numpy(rng.uniform(0.1, 1.0, size=v.shape).astype(np.float32)) for k, v in mu.items()}
    x = torch.from_numpy(rng.normal(size=(1, 5)).astype(np.float32)).repeat(20000, 1)
    torch.manual_seed(0)
    with torch.no_grad():
        out = local_forward(lin, mu, sig, x).double().numpy()
    x0 = x[0].double().numpy()
    mean = mu["0.weight"].double().numpy() @ x0 + mu["0.bias"].double().numpy()
    var = (sig["0.weight"].double().numpy() ** 2) @ (x0 ** 2) + sig["0.bias"].double().numpy() ** 2
    z = (out - mean) / np.sqrt(var)
    assert np.all(np.abs(z.mean(0)) < 6 / np.sqrt(len(z))) and np.all(np.abs(z.var(0) - 1) < 0.05)
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 6 / np.sqrt(len(z))  # independent across units


def test_a_local_reparameterisation_posterior_refuses_a_model_that_is_not_a_linear_stack(tmp_path):
    net, post, _ = _posterior(tmp_path, 4, (-3, -2), meta={"sampler": LOCAL})
    x, y = np.zeros((4, 1, 8, 8), np.float32), np.zeros(4, np.int64)
    with pytest.raises(InvalidInput, match="local reparameterisation"):
        module_mc_errors(post, x, y, 1, mode="per_example", seed=0, progress=False)
    with pytest.raises(InvalidInput, match="Sequential of Flatten/Linear/ReLU"):
        local_forward(net, {}, {}, torch.zeros(1, 1, 8, 8))


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10**6), levels=st.integers(2, 12))
def test_direct_module_decoder_rebuilds_scale_times_n_and_the_buffers(seed, levels):
    net = _net()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        net[1].running_mean.copy_(torch.from_numpy(rng.normal(size=4).astype(np.float32)))
        net[1].running_var.copy_(torch.from_numpy(rng.uniform(0.1, 3, size=4).astype(np.float32)))
    dec = ModuleDecoder.for_module(net, "direct", sparse=True)
    z = np.concatenate([net.state_dict()[n].double().numpy().ravel() for n in dec.names])
    n, scale = quantise(z, n_levels=levels, method="kmeans", prune=0.3)
    words = tuple(np.concatenate([net.state_dict()[k].numpy().ravel() for k in dec.float_buffers]).view(np.uint32)
                  .tolist())
    code = encode_model(dec, n, scale, words)
    rebuilt = dict(zip(dec.keys, dec.rebuild(code)))
    flat = np.concatenate([rebuilt[k].ravel() for k in dec.names])
    for i in range(0, n.size, 97):  # float32 of the exact product, entry by entry
        exact = Fraction(float(scale)) * int(n[i])
        assert Fraction(float(flat[i])) == Fraction(float(np.float32(float(exact))))
    for k in dec.float_buffers:
        assert rebuilt[k].tobytes() == net.state_dict()[k].numpy().tobytes()
    assert decode(code, dec.n_prefix())[1].tolist() == n.tolist()


def test_subspace_module_decoder_rebuilds_w0_plus_scale_pn_exactly():
    net = _net()
    dec = ModuleDecoder.for_module(net, "subspace", d=7, seed=2)
    n = np.array([3, -1, 0, 5, -7, 2, 1], dtype=np.int64)
    code = encode_model(dec, n, np.float32(0.0123))
    rebuilt = dict(zip(dec.keys, dec.rebuild(code)))
    flat = np.concatenate([rebuilt[k].ravel() for k in dec.names])
    P, w0 = dec.projection(), dec.w0()
    for i in range(0, dec.n_params, 31):
        pn = sum(int(P[i, j]) * int(n[j]) for j in range(7))
        exact = Fraction(float(w0[i])) + Fraction(float(np.float32(0.0123))) * pn
        f64 = np.float64(w0[i]) + np.float64(np.float32(0.0123)) * np.float64(pn)  # both IEEE ops exact here
        assert Fraction(float(f64)) == exact
        assert flat[i] == np.float32(f64)
    assert np.all(rebuilt["1.running_var"] == 1) and np.all(rebuilt["1.running_mean"] == 0)

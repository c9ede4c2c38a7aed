"""The coder: decode(encode(v)) == v bit for bit, the counted length is the stream's length, and the compressed
model rebuilt by the fixed decoder is bit-identical to the one that was certified."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.models.codec import Code, decode, encode, huffman_lengths
from certify.models.hashing import weights_sha256
from certify.models.compressed import Decoder, rebuild
from certify.training.compress import encode_model, quantise


@settings(max_examples=60)
@given(st.lists(st.integers(-40, 40), min_size=1, max_size=400), st.booleans(), st.integers(2, 70))
def test_roundtrip(values, sparse, gap_cap):
    v = np.array(values, dtype=np.int64)
    code = encode(v, sparse=sparse, gap_cap=gap_cap, prefix=(7, 2**32 - 1))
    prefix, back = decode(code, 2)
    assert prefix == (7, 2**32 - 1) and np.array_equal(back, v)
    assert len(code.data) == (code.n_bits + 7) // 8


def test_kraft_equality_of_huffman_lengths():
    lengths = huffman_lengths([5, 1, 1, 0, 9, 3])
    assert lengths[3] == 0 and sum(2.0 ** -l for l in lengths if l) == 1.0


def test_truncated_code_is_refused():
    code = encode(np.arange(50) % 3, sparse=False)
    with pytest.raises(ValueError):
        decode(Code(code.data, code.n_bits - 40))


@pytest.mark.parametrize("kind", ["direct", "subspace"])
def test_rebuilt_model_is_bit_exact(kind):
    rng = np.random.default_rng(1)
    dec = Decoder((12, 7, 3), kind, d=20, seed=3, sparse=(kind == "direct"))
    z = rng.normal(size=dec.n_params if kind == "direct" else dec.d)
    n, scale = quantise(z, n_levels=5, method="kmeans", prune=0.5 if kind == "direct" else 0.0)
    code = encode_model(dec, n, scale)
    w1, w2 = rebuild(dec, code), rebuild(dec, Code(bytes(code.data), code.n_bits))
    assert weights_sha256(w1) == weights_sha256(w2)
    flat = np.concatenate([w.ravel() for w in w1])
    if kind == "direct":
        assert np.array_equal(flat, (np.float64(scale) * n).astype(np.float32))
        assert np.count_nonzero(flat) <= (dec.n_params + 1) // 2
    else:
        exact = dec.w0().astype(np.float64) + np.float64(scale) * (dec.projection().astype(np.int64) @ n)
        assert np.array_equal(flat, exact.astype(np.float32))
    assert len(np.unique(n[n != 0])) <= 5


def test_uniform_levels():
    n, scale = quantise(np.linspace(-1, 1, 101), n_levels=3, method="uniform")
    assert len(np.unique(n)) == 3 and scale > 0

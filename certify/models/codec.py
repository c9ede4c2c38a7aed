"""A real coder for quantised weights: canonical Huffman codes, a bit-exact encoder/decoder, exact code length.

Code format (fixed before any data is seen; every field fixed width, read by :func:`decode` alone)::

    prefix        k x 32 bits  side information words (e.g. a float32 scale), k fixed by the decoder
    n_values      32 bits   number of coded integers (the decoder's output length)
    sparse        1 bit     1: zero runs coded by a gap table, 0: every value coded
    n_levels      8 bits    number of quantisation levels (distinct nonzero values when sparse)
    levels        n_levels x 24 bits, signed (two's complement) integers
    len_levels    n_levels x 5 bits   canonical Huffman code lengths of the levels (0 = unused)
    [sparse] gap_cap 16 bits G; len_gaps  G x 5 bits
    stream        dense: one level codeword per value; sparse: repeat { gap codeword g; if g < G-1: g zeros then a
                  level codeword; else G-1 zeros }; the tail after the last nonzero is implied by n_values

The code length is the number of bits written, counted exactly (no byte padding is charged: the decoder is told the
length, which the code-length prior of :mod:`theorems.compression` pays for separately).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from boundcert.errors import InvalidInput

__all__ = ["Code", "encode", "decode", "huffman_lengths"]

_LEN_BITS = 5
_LEVEL_BITS = 24


@dataclass(frozen=True, slots=True)
class Code:
    """An encoder's output: ``data`` (bytes, zero-padded at the end) and ``n_bits``, the exact code length."""

    data: bytes
    n_bits: int


class _Writer:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, width: int) -> None:
        for i in range(width - 1, -1, -1):
            self.bits.append((value >> i) & 1)

    def code(self) -> Code:
        n = len(self.bits)
        padded = self.bits + [0] * (-n % 8)
        return Code(np.packbits(np.array(padded, dtype=np.uint8)).tobytes() if padded else b"", n)


class _Reader:
    def __init__(self, code: Code) -> None:
        self.bits = np.unpackbits(np.frombuffer(code.data, dtype=np.uint8))[: code.n_bits].tolist()
        self.pos = 0

    def get(self, width: int) -> int:
        if self.pos + width > len(self.bits):
            raise InvalidInput("code ends early: not a valid code")
        v = 0
        for b in self.bits[self.pos : self.pos + width]:
            v = (v << 1) | b
        self.pos += width
        return v


def huffman_lengths(counts: Iterable[int], max_len: int = 31) -> list[int]:
    """Huffman code lengths for symbol ``counts`` (0 for unused symbols; a lone symbol gets length 1)."""
    counts = list(counts)
    used = [i for i, c in enumerate(counts) if c > 0]
    lengths = [0] * len(counts)
    if len(used) == 1:
        lengths[used[0]] = 1
        return lengths
    heap = [(counts[i], i, (i,)) for i in used]
    heapq.heapify(heap)
    tie = len(counts)
    while len(heap) > 1:
        c1, _, s1 = heapq.heappop(heap)
        c2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (c1 + c2, tie, s1 + s2))
        tie += 1
    if max(lengths) > max_len:
        raise InvalidInput(f"Huffman code length {max(lengths)} exceeds {max_len}: too many rare symbols")
    return lengths


def _canonical(lengths: list[int]) -> dict[int, tuple[int, int]]:
    """Canonical codewords: symbol -> (code, length), in (length, symbol) order."""
    code, prev, out = 0, 0, {}
    for length, sym in sorted((l, s) for s, l in enumerate(lengths) if l > 0):
        code <<= length - prev
        out[sym] = (code, length)
        code += 1
        prev = length
    return out


def _read_symbol(r: _Reader, table: dict[tuple[int, int], int]) -> int:
    code, length = 0, 0
    while True:
        code = (code << 1) | r.get(1)
        length += 1
        if (code, length) in table:
            return table[(code, length)]
        if length > 31:
            raise InvalidInput("invalid codeword")


def encode(values: np.ndarray, *, sparse: bool, gap_cap: int = 64, prefix: tuple[int, ...] = ()) -> Code:
    """Encode an integer vector (the quantised weights as integer multiples of a scale) in the module's format.

    ``prefix``: 32-bit words written first (side information such as a float32 scale's bits).
    """
    v = np.asarray(values, dtype=np.int64).ravel()
    levels = sorted(set(v.tolist()) - ({0} if sparse else set()))
    if len(levels) > 255 or any(abs(x) >= 1 << (_LEVEL_BITS - 1) for x in levels):
        raise InvalidInput("too many or too large quantisation levels for the format")
    index = {x: i for i, x in enumerate(levels)}
    w = _Writer()
    for word in prefix:
        w.put(int(word) & 0xFFFFFFFF, 32)
    w.put(len(v), 32)
    w.put(int(sparse), 1)
    w.put(len(levels), 8)
    for x in levels:
        w.put(x & ((1 << _LEVEL_BITS) - 1), _LEVEL_BITS)
    nz = v[v != 0] if sparse else v
    lv_len = huffman_lengths([int(np.count_nonzero(nz == x)) for x in levels]) if levels else []
    for l in lv_len:
        w.put(l, _LEN_BITS)
    lv_code = _canonical(lv_len)
    if not sparse:
        for x in v.tolist():
            c, l = lv_code[index[x]]
            w.put(c, l)
        return w.code()
    gaps: list[tuple[int, int | None]] = []  # (gap symbol, level index or None)
    run = 0
    for x in v.tolist():
        if x == 0:
            run += 1
            if run == gap_cap - 1:
                gaps.append((gap_cap - 1, None))
                run = 0
        else:
            gaps.append((run, index[x]))
            run = 0
    g_counts = [0] * gap_cap
    for g, _ in gaps:
        g_counts[g] += 1
    g_len = huffman_lengths(g_counts) if gaps else [0] * gap_cap
    w.put(gap_cap, 16)
    for l in g_len:
        w.put(l, _LEN_BITS)
    g_code = _canonical(g_len)
    for g, li in gaps:
        c, l = g_code[g]
        w.put(c, l)
        if li is not None:
            c, l = lv_code[li]
            w.put(c, l)
    return w.code()


def decode(code: Code, n_prefix: int = 0) -> tuple[tuple[int, ...], np.ndarray]:
    """``(prefix words, integer vector)`` that :func:`encode` coded (bit-exact inverse)."""
    r = _Reader(code)
    prefix = tuple(r.get(32) for _ in range(n_prefix))
    n = r.get(32)
    sparse = r.get(1)
    n_levels = r.get(8)
    levels = []
    for _ in range(n_levels):
        x = r.get(_LEVEL_BITS)
        levels.append(x - (1 << _LEVEL_BITS) if x >> (_LEVEL_BITS - 1) else x)
    lv_len = [r.get(_LEN_BITS) for _ in range(n_levels)]
    lv_table = {cl: s for s, cl in _canonical(lv_len).items()}
    out = np.zeros(n, dtype=np.int64)
    if not sparse:
        for i in range(n):
            out[i] = levels[_read_symbol(r, lv_table)]
        return prefix, out
    gap_cap = r.get(16)
    g_table = {cl: s for s, cl in _canonical([r.get(_LEN_BITS) for _ in range(gap_cap)]).items()}
    pos = 0
    while r.pos < code.n_bits:
        g = _read_symbol(r, g_table)
        if g == gap_cap - 1:
            pos += gap_cap - 1
            continue
        pos += g
        out[pos] = levels[_read_symbol(r, lv_table)]
        pos += 1
    return prefix, out

"""The certified paths refuse TF32 and flushed subnormals with a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import kernels
from kernels import _environment
from boundcert.errors import UnsoundEnvironment

CERTIFIED = [
    lambda: kernels.spectral_norm(np.eye(2)),
    lambda: kernels.conv_spectral_norm(np.ones((1, 1, 3, 3)), 4, padding=1),
    lambda: kernels.frobenius_norm(np.eye(2)),
    lambda: kernels.norm_21(np.eye(2)),
    lambda: kernels.norm_1_inf(np.eye(2)),
    lambda: kernels.max_abs(np.eye(2)),
    lambda: kernels.distance_to_init(np.eye(2), np.zeros((2, 2))),
    lambda: kernels.path_norm([kernels.DenseLayer(np.eye(2))]),
    lambda: kernels.logit_margins([kernels.DenseLayer(np.eye(2))], np.ones((1, 2)), np.array([0])),
    lambda: kernels.lipschitz_upper([kernels.DenseLayer(np.eye(2))]),
]


@pytest.mark.parametrize("call", CERTIFIED)
def test_refuses_when_tf32_matmul_is_on(call):
    torch = pytest.importorskip("torch")
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with pytest.raises(UnsoundEnvironment, match="allow_tf32"):
            call()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


@pytest.mark.parametrize("call", CERTIFIED)
def test_refuses_when_tf32_cudnn_is_on_with_cuda(call, monkeypatch):
    torch = pytest.importorskip("torch")
    old = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = True
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    try:
        with pytest.raises(UnsoundEnvironment, match="allow_tf32"):
            call()
    finally:
        torch.backends.cudnn.allow_tf32 = old


@pytest.mark.parametrize("call", CERTIFIED)
def test_refuses_when_subnormals_are_flushed(call, monkeypatch):
    # emulate FTZ: the run-time subnormal probe comes out zero
    monkeypatch.setattr(_environment, "_HALF", np.array([0.0]))
    assert _environment.subnormals_flushed()
    with pytest.raises(UnsoundEnvironment, match="subnormals"):
        call()


def test_this_machine_keeps_subnormals_and_tf32_off():
    assert not _environment.subnormals_flushed()
    assert not _environment.tf32_enabled()

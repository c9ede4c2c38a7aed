"""Architectures trained by the library's own scripts; each factory takes no arguments (for ``--arch MOD:FACTORY``)."""

from __future__ import annotations

__all__ = ["mnist1d_mlp", "digits_mlp", "digits_cnn", "fmnist_cnn", "fmnist_cnn_bn", "mnist1d_cnn"]


def _mlp(sizes: tuple[int, ...]):  # -> torch.nn.Sequential
    import torch.nn as nn

    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mnist1d_mlp():
    """MLP 40-256-256-10 with ReLU for MNIST-1D (the demo's network)."""
    return _mlp((40, 256, 256, 10))


def digits_mlp():
    """MLP 64-128-10 with ReLU for scikit-learn digits."""
    return _mlp((64, 128, 10))


def digits_cnn():
    """Small CNN for scikit-learn digits as (1, 8, 8) images: conv 1->8 (3x3, pad 1), conv 8->8 (3x3, stride 2,
    pad 1), ReLU after each, flatten, linear 128->10."""
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(128, 10))


def fmnist_cnn():
    """CNN for Fashion-MNIST (1, 28, 28): conv 1->16 (5x5), ReLU, max-pool 2, conv 16->32 (5x5), ReLU, max-pool 2,
    flatten, linear 512->10 (18,378 parameters; the compression reproduction's network)."""
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(512, 10))


def fmnist_cnn_bn():
    """CNN with BatchNorm for Fashion-MNIST (1, 28, 28): [conv 5x5, BatchNorm, ReLU, max-pool 2] with 16 then 32
    channels, flatten, linear 512->100, ReLU, linear 100->10 (the PAC-Bayes reproduction's network)."""
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(1, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5),
                         nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(512, 100), nn.ReLU(),
                         nn.Linear(100, 10))


def mnist1d_cnn():
    """1-d CNN for MNIST-1D (inputs of length 40): unflatten to (1, 40), conv1d 1->32 (5, pad 2), conv1d 32->32
    (3, stride 2, pad 1) twice, ReLU after each, flatten, linear 320->10 (the demo's PAC-Bayes network)."""
    import torch.nn as nn

    return nn.Sequential(nn.Unflatten(1, (1, 40)), nn.Conv1d(1, 32, 5, padding=2), nn.ReLU(),
                         nn.Conv1d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv1d(32, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(320, 10))

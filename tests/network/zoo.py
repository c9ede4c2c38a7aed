"""The acceptance zoo of issue 16, built in the tests: MLP, plain CNN, BatchNorm CNN, CIFAR ResNet-18 (width
``w``), a MobileNetV2 inverted-residual block (depthwise convs, ReLU6), a DenseNet-style concat block, a tiny
ViT-like net (patch embedding, LayerNorm, GELU MLP) and a ViT with class token and learned positional embedding
(with attention, and with a GELU MLP in its place). Every model is in eval mode with non-trivial BatchNorm
statistics."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["ZOO", "ATTENTION", "build", "resnet18", "TokenNet", "AttentionViT", "ClassTokenViT", "SDPABlock"]


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """The CIFAR ResNet-18 (kuangliu/pytorch-cifar layout) at base width ``w`` (64 in the paper)."""

    def __init__(self, w: int = 64, classes: int = 10, cin: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        layers, c = [], w
        for i, (m, s) in enumerate(((1, 1), (2, 2), (4, 2), (8, 2))):
            layers += [BasicBlock(c, w * m, s), BasicBlock(w * m, w * m, 1)]
            c = w * m
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(c, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = self.pool(out)
        out = out.view(out.size(0), -1)
        return self.linear(out)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 project (linear), identity shortcut."""

    def __init__(self, c: int = 4, expand: int = 4) -> None:
        super().__init__()
        h = c * expand
        self.block = nn.Sequential(nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
                                   nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
                                   nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.block(x)


class MobileNetBlockNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, 1, 1)
        self.block = InvertedResidual(4)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def forward(self, x):
        return self.head(self.block(F.relu(self.stem(x))))


class DenseBlockNet(nn.Module):
    """Two DenseNet layers (BN-ReLU-conv, outputs concatenated to the input), a transition and a head."""

    def __init__(self, c: int = 3, growth: int = 2) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, c, 3, padding=1)
        self.l1 = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, growth, 3, padding=1))
        self.l2 = nn.Sequential(nn.BatchNorm2d(c + growth), nn.ReLU(), nn.Conv2d(c + growth, growth, 3, padding=1))
        self.trans = nn.Sequential(nn.BatchNorm2d(c + 2 * growth), nn.ReLU(), nn.Conv2d(c + 2 * growth, 4, 1),
                                   nn.AvgPool2d(2))
        self.head = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x):
        x = self.stem(x)
        x = torch.cat([x, self.l1(x)], 1)
        x = torch.cat([x, self.l2(x)], 1)
        x = self.trans(x)
        return self.head(torch.flatten(x, 1))


class TinyViT(nn.Module):
    """Patch embedding (conv, stride = patch), tokens (N, T, D), pre-LayerNorm GELU MLP block with a residual,
    mean over tokens by adaptive pooling, LayerNorm head. (No attention: see the issue's closing note.)"""

    def __init__(self, d: int = 6, patch: int = 2) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, d, patch, patch)
        self.norm1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.norm2 = nn.LayerNorm(d)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)  # (N, T, D)
        t = t + self.mlp(self.norm1(t))
        t = self.norm2(t).transpose(1, 2)  # (N, D, T)
        return self.head(self.pool(t).flatten(1))


class AttentionViT(nn.Module):
    """Patch embedding, a pre-LayerNorm multi-head self-attention block with a residual, a GELU MLP block, mean
    pooling over tokens and a linear head (the ViT encoder block; no class token)."""

    def __init__(self, d: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, d, 2, 2)
        self.norm1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)
        u = self.norm1(t)
        t = t + self.attn(u, u, u, need_weights=False)[0]
        t = t + self.mlp(self.norm2(t))
        return self.head(self.pool(t.transpose(1, 2)).flatten(1))


class ClassTokenViT(nn.Module):
    """The ViT of Dosovitskiy et al. 2021 in miniature: patch embedding (conv, stride = patch), a learned class token
    concatenated in front of the tokens, a learned positional embedding added, a pre-LayerNorm block with a residual
    (multi-head self-attention, or with ``attention=False`` a GELU MLP, so that the network has a global Lipschitz
    bound), a final LayerNorm and the class token's output (``t[:, 0]``) -> linear head."""

    def __init__(self, d: int = 4, heads: int = 2, tokens: int = 4, attention: bool = True) -> None:
        super().__init__()
        self.attention = attention
        self.embed = nn.Conv2d(1, d, 2, 2)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.5)
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, d) * 0.5)
        self.norm1 = nn.LayerNorm(d)
        if attention:
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        else:
            self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)  # (N, T, D)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], dim=1)
        t = t + self.pos
        u = self.norm1(t)
        t = t + (self.attn(u, u, u, need_weights=False)[0] if self.attention else self.mlp(u))
        return self.head(self.norm(t)[:, 0])


class SDPABlock(nn.Module):
    """Tokens (N, T, D) -> q, k, v projections split into heads by view/transpose -> F.scaled_dot_product_attention
    -> heads merged -> out projection -> mean over tokens by adaptive pooling -> head (attention written by hand)."""

    def __init__(self, d: int = 4, heads: int = 2, tokens: int = 3) -> None:
        super().__init__()
        self.h, self.t, self.d = heads, tokens, d
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        b, d = x.size(0), self.d

        def split(z):
            return z.view(b, self.t, self.h, self.d // self.h).transpose(1, 2)

        a = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)))
        o = self.o(a.transpose(1, 2).reshape(b, self.t, d))
        return self.head(self.pool(o.transpose(1, 2)).flatten(1))


class TokenNet(nn.Module):
    """Token ids (N, T) -> Embedding -> LayerNorm -> ReLU -> flatten -> Linear (a bag-of-positions text classifier)."""

    def __init__(self, vocab: int = 11, d: int = 4, tokens: int = 5) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d * tokens, 3)

    def forward(self, x):
        return self.head(torch.flatten(F.relu(self.norm(self.embed(x))), 1))


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, stride=2,
                         padding=1), nn.LeakyReLU(0.1), nn.Flatten(), nn.Linear(4, 3))


def _bn_cnn():
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.Conv2d(3, 4, 3, padding=1, dilation=1), nn.BatchNorm2d(4), nn.SiLU(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16, 3))


ZOO = {
    "mlp": (_mlp, (1, 4, 4)),
    "cnn": (_cnn, (1, 4, 4)),
    "bn_cnn": (_bn_cnn, (1, 4, 4)),
    "resnet18": (lambda: ResNet18(w=2, classes=3, cin=1), (1, 8, 8)),
    "mobilenet_block": (MobileNetBlockNet, (1, 4, 4)),
    "dense_block": (DenseBlockNet, (1, 4, 4)),
    "tiny_vit": (TinyViT, (1, 4, 4)),
    "class_token_vit": (ClassTokenViT, (1, 4, 4)),
    "class_token_mlp": (lambda: ClassTokenViT(attention=False), (1, 4, 4)),
}

#: Zoo models with self-attention: no global Lipschitz bound (refused by hypothesis name, h_lipschitz_upper).
ATTENTION = frozenset({"class_token_vit"})


def _stats(m: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                n = mod.num_features
                mod.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                mod.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(n, generator=g) + 0.5)
                mod.bias.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
            if isinstance(mod, nn.LayerNorm):
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) + 0.5)
                mod.bias.copy_(torch.rand(mod.bias.shape, generator=g) * 0.4 - 0.2)
    return m.eval()


def build(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """The zoo model ``name`` (seeded weights and statistics, eval mode) and its per-sample input shape."""
    torch.manual_seed(seed)
    factory, shape = ZOO[name]
    return _stats(factory(), seed), shape


def resnet18(w: int = 64, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return _stats(ResNet18(w), seed)


def _factory(name: str):
    def make() -> nn.Module:
        return build(name)[0]

    make.__name__ = name
    return make


# zero-argument factories for --arch tests.network.zoo:NAME (weights-only files)
mlp, cnn, bn_cnn, resnet18_small, mobilenet_block, dense_block, tiny_vit, class_token_vit, class_token_mlp = (
    _factory(n) for n in ("mlp", "cnn", "bn_cnn", "resnet18", "mobilenet_block", "dense_block", "tiny_vit",
                          "class_token_vit", "class_token_mlp"))
ARCH = {"mlp": "mlp", "cnn": "cnn", "bn_cnn": "bn_cnn", "resnet18": "resnet18_small",
        "mobilenet_block": "mobilenet_block", "dense_block": "dense_block", "tiny_vit": "tiny_vit",
        "class_token_vit": "class_token_vit", "class_token_mlp": "class_token_mlp"}

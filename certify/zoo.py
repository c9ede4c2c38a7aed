"""The library's own architectures under their public path ``certify.zoo`` (``--arch certify.zoo:digits_mlp``, as
recorded in certificates); they live in :mod:`certify.models.zoo`."""

from certify.models.zoo import digits_cnn, digits_mlp, mnist1d_mlp

__all__ = ["digits_cnn", "digits_mlp", "mnist1d_mlp"]

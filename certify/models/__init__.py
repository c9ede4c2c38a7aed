"""Models: ``load_model`` (one module per format: safetensors, torch state dict, TorchScript), the torch -> network
translation (:mod:`certify.models.tracing`), the stored Gaussian posterior and compressed-model formats, hashing,
prediction, and the zoo of the library's own architectures."""

from certify.models.hashing import file_sha256, model_sha256, weights_sha256
from certify.models.loader import RULED_OUT, LoadedModel, load_model
from certify.models.network import Network, Node
from certify.models.tracing import to_graph, to_network

__all__ = ["RULED_OUT", "LoadedModel", "Network", "Node", "file_sha256", "load_model", "model_sha256", "to_graph",
           "to_network", "weights_sha256"]

"""Help texts that several commands share (kept import-free: building the parser must not import torch)."""

__all__ = ["MODEL_FILE_HELP"]

#: a MODEL argument: every format :func:`certify.models.load_model` reads
MODEL_FILE_HELP = ("model file: .safetensors or torch state dict .pt (with --arch MODULE:FACTORY), TorchScript .pt, "
                   "torch.export .pt2, ONNX .onnx")

"""Which device a run uses, decided once before anything trains."""
from __future__ import annotations

from ..errors import BenchInputError

DEVICE_CHOICES = ("cpu", "cuda", "auto")


def resolve_device(requested: str) -> str:
    """"cpu", "cuda" or "auto" to "cpu" or "cuda"; CUDA asked for but absent is a bad-input error."""
    import torch

    if requested not in DEVICE_CHOICES:
        raise BenchInputError(f"--device {requested!r}: expected one of {', '.join(DEVICE_CHOICES)}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchInputError(
            f"--device cuda: CUDA is not available here (torch {torch.__version__}, "
            f"built for CUDA {torch.version.cuda or 'none'}); use --device cpu or --device auto"
        )
    return requested


def device_name(device: str) -> str:
    """A human name for the device, for meta.json: the GPU's model on CUDA."""
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    return "cpu"

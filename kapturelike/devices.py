"""The one device resolver: a setting ('auto', 'cpu', 'cuda', 'cuda:1', a torch.device, None) -> torch.device."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' and None pick CUDA when available, else the CPU; anything else is torch's device string."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)

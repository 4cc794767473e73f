"""Where torch work runs: the GPU when there is one, else the CPU."""


def pick_device(prefer: str | None = None) -> str:
    """Chooses the torch device for training or scoring.

    Args:
        prefer: "cpu" forces the CPU; a CUDA device name ("cuda", "cuda:1")
            is used when a GPU is available; None means the default GPU when
            there is one.

    Returns:
        A torch device string: "cpu" or a CUDA device name.
    """
    if prefer == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return prefer or "cuda"
    return "cpu"

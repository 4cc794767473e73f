"""The fine-tuned encoder on disk: the LoRA adapter, the full weights or the vector adapter, and the base model
they apply to."""

import json
from pathlib import Path

from recommender.ml.nets.text_encoder import TextEncoder, default_model_path
from recommender.ml.nets.text_finetune.config import ADAPTER, FULL, LORA, FineTuneConfig
from recommender.ml.nets.text_finetune.vector_adapter import AdaptedEncoder, VectorAdapter
from recommender.ml.registry import atomic_directory, load_arrays, save_arrays

FINETUNE_FILE = "finetune.json"
ADAPTER_FOLDER = "adapter"
FULL_WEIGHTS_FILE = "model.safetensors"
VECTOR_ADAPTER_FOLDER = "vector-adapter"


def save_adapter(encoder: TextEncoder | AdaptedEncoder, directory: str | Path, config: FineTuneConfig | None = None) -> None:
    """Writes the fine-tuned part of `encoder` and what is needed to rebuild it, atomically.

    With a LoRA adapter only the adapter is written (peft's
    ``save_pretrained``: a few hundred kB for MiniLM); a fully fine-tuned model
    is written whole as safetensors; a vector adapter as its three arrays. Either way ``finetune.json`` names the
    base model folder and the mode. A run killed midway leaves `directory` as
    it was.

    Args:
        encoder: an encoder that went through :func:`fine_tune_encoder`.
        directory: the artifact folder; replaced as a whole if it exists.
        config: the run's settings, recorded for reference when given.
    """
    mode = _mode_of(encoder)
    manifest = {
        "mode": mode,
        "base_model_path": str(encoder.model_path),
        "base_is_default": _is_default_model(encoder.model_path),
        "max_length": encoder.max_length,
        "batch_size": encoder.batch_size,
        "config": json.loads(config.to_json()) if config is not None else None,
    }
    with atomic_directory(directory) as staging:
        if mode == ADAPTER:
            save_arrays(staging / VECTOR_ADAPTER_FOLDER, {}, encoder.adapter.to_arrays())
        elif mode == LORA:
            encoder.model.save_pretrained(str(staging / ADAPTER_FOLDER))
        else:
            from safetensors.torch import save_model

            save_model(encoder.model, str(staging / FULL_WEIGHTS_FILE))
        (staging / FINETUNE_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))


def load_fine_tuned(directory: str | Path, device: str = "cpu") -> TextEncoder | AdaptedEncoder:
    """Rebuilds the encoder that :func:`save_adapter` wrote.

    Args:
        directory: the artifact folder.
        device: torch device to load onto.

    Returns:
        A TextEncoder in eval mode whose ``encode`` uses the fine-tuned weights.
    """
    directory = Path(directory)
    manifest = json.loads((directory / FINETUNE_FILE).read_text())
    encoder = TextEncoder(
        model_path=_base_path(manifest),
        device=device,
        max_length=manifest["max_length"],
        batch_size=manifest["batch_size"],
    )
    if manifest["mode"] == ADAPTER:
        _, arrays = load_arrays(directory / VECTOR_ADAPTER_FOLDER)
        return AdaptedEncoder(encoder, VectorAdapter.from_arrays(arrays))
    if manifest["mode"] == LORA:
        from peft import PeftModel

        encoder.model = PeftModel.from_pretrained(encoder.model, str(directory / ADAPTER_FOLDER))
    else:
        from safetensors.torch import load_model

        load_model(encoder.model, str(directory / FULL_WEIGHTS_FILE))
    encoder.model.to(encoder.device).eval()
    return encoder


def _mode_of(encoder: TextEncoder | AdaptedEncoder) -> str:
    if isinstance(encoder, AdaptedEncoder):
        return ADAPTER
    from peft import PeftModel

    return LORA if isinstance(encoder.model, PeftModel) else FULL


def _is_default_model(path: str) -> bool:
    try:
        return Path(path).resolve() == Path(default_model_path()).resolve()
    except ModuleNotFoundError:
        return False


def _base_path(manifest: dict) -> str:
    # The shipped MiniLM lives inside the virtualenv, whose path differs between
    # machines; an artifact trained on it follows the package, not the old path.
    path = manifest["base_model_path"]
    if manifest.get("base_is_default") and not Path(path).exists():
        return default_model_path()
    return path

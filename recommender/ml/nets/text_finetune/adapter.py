"""What trains: a LoRA adapter over the frozen encoder, or its own weights, in every layer or the top ones."""

from recommender.ml.nets.text_encoder import TextEncoder
from recommender.ml.nets.text_finetune.config import FULL, FineTuneConfig


def attach_trainable(encoder: TextEncoder, config: FineTuneConfig) -> None:
    """Marks what trains: a (new or existing) LoRA adapter, or every weight."""
    from peft import PeftModel

    n_layers = int(encoder.model.config.num_hidden_layers)
    top = n_layers if config.top_layers is None else config.top_layers
    if not 1 <= top <= n_layers:
        raise ValueError(f"top_layers must be between 1 and {n_layers}")
    if config.mode == FULL:
        if isinstance(encoder.model, PeftModel):
            raise ValueError("the encoder carries a LoRA adapter; full fine-tuning needs a plain model")
        for name, parameter in encoder.model.named_parameters():
            parameter.requires_grad_(config.top_layers is None or _layer_index(name) >= n_layers - top)
        return
    if isinstance(encoder.model, PeftModel):
        return  # a second run goes on training the adapter it already has
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.FEATURE_EXTRACTION,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        layers_to_transform=None if config.top_layers is None else list(range(n_layers - top, n_layers)),
        layers_pattern=None if config.top_layers is None else "layer",
    )
    encoder.model = get_peft_model(encoder.model, lora)


def _layer_index(parameter_name: str) -> int:
    """The transformer layer a parameter belongs to; -1 for the embeddings and pooler."""
    parts = parameter_name.split(".")
    if "layer" in parts:
        following = parts[parts.index("layer") + 1]
        if following.isdigit():
            return int(following)
    return -1

"""The settings of a fine-tuning run, and their defaults on a GPU and on a CPU."""

import json
from dataclasses import asdict, dataclass, field

LORA, FULL = "lora", "full"
MODES = (LORA, FULL)
# Default learning rates: LoRA trains few, freshly initialised weights and needs a larger step.
DEFAULT_LR = {LORA: 2e-4, FULL: 2e-5}
GPU_EPOCHS = 3
# The fewest steps of a product run, whatever the number of pairs.
MIN_STEPS = 50
# On a CPU only the last layers train, over cached outputs of the frozen lower ones (see LowerLayerCache).
CPU_TOP_LAYERS = 2


@dataclass
class FineTuneConfig:
    """Settings of one fine-tuning run.

    Attributes:
        mode: "lora" trains a small adapter over the frozen base; "full" trains every weight.
        lora_r: rank of the LoRA update matrices.
        lora_alpha: LoRA scaling numerator (the update is scaled by alpha / r).
        lora_dropout: dropout on the LoRA input.
        target_modules: the Linear layers that get an adapter; "query" and
            "value" are the attention projections of BERT-style models such as MiniLM.
        lr: AdamW learning rate; None picks 2e-4 for LoRA and 2e-5 for full.
        weight_decay: AdamW weight decay.
        batch_size: pairs per step; the other 2 * (batch_size - 1) texts are the negatives.
        epochs: passes over the pairs.
        min_steps: more passes, when the pairs are so few that `epochs` would
            take fewer steps than this (a small shop's few pairs need several).
        temperature: divides the cosine similarities before the softmax.
        max_length: tokens kept per text while training.
        time_limit_s: stop after this many seconds of training, None for no limit.
        top_layers: adapt only the last N transformer layers (None: all). The
            layers below then stay frozen, so a :class:`LowerLayerCache` can
            compute their output once per item: several times cheaper on a CPU.
        seed: seeds the shuffling and the adapter initialisation.
    """

    mode: str = LORA
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: ["query", "value"])
    lr: float | None = None
    weight_decay: float = 0.01
    batch_size: int = 64
    epochs: int = 1
    min_steps: int = 0
    temperature: float = 0.05
    max_length: int = 64
    time_limit_s: float | None = None
    top_layers: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.mode]

    def to_json(self) -> str:
        """The settings as a JSON object string.

        Returns:
            JSON text that :meth:`from_json` reads back.
        """
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FineTuneConfig":
        """Reads what :meth:`to_json` wrote.

        Args:
            text: a JSON object string.

        Returns:
            The config.
        """
        return cls(**json.loads(text))


def config_for_device(device: str, **overrides) -> FineTuneConfig:
    """The run's settings: on a GPU a few epochs over every layer, on a CPU one epoch of the top layers.

    Args:
        device: the torch device the run trains on.
        **overrides: FineTuneConfig fields; a None value keeps the device's
            default, and ``top_layers=0`` means every layer.

    Returns:
        The config.
    """
    on_gpu = str(device).startswith("cuda")
    settings = {"epochs": GPU_EPOCHS if on_gpu else 1, "min_steps": MIN_STEPS, "top_layers": None if on_gpu else CPU_TOP_LAYERS}
    settings.update({name: value for name, value in overrides.items() if value is not None})
    settings["top_layers"] = settings["top_layers"] or None
    return FineTuneConfig(**settings)

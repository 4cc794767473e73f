"""The settings of a fine-tuning run, and their defaults on a GPU and on a CPU."""

import json
from dataclasses import asdict, dataclass, field

LORA, FULL, ADAPTER = "lora", "full", "adapter"
MODES = (LORA, FULL, ADAPTER)
# Default learning rates: LoRA trains few, freshly initialised weights and needs a larger step; the adapter
# is one small matrix over cached vectors.
DEFAULT_LR = {LORA: 2e-4, FULL: 2e-5, ADAPTER: 1e-3}
# Pairs per step: an encoder step runs the transformer over every text of the batch, an adapter step one
# matrix product, so the adapter affords the larger batch (more in-batch negatives).
DEFAULT_BATCH_SIZE = {LORA: 64, FULL: 64, ADAPTER: 512}
GPU_EPOCHS = 3
# An adapter epoch is seconds, and on Amazon Beauty the third still helps cold items (bench/README.md).
ADAPTER_EPOCHS = 3
# The fewest steps of a product run, whatever the number of pairs.
MIN_STEPS = 50
# On a CPU only the last layers train, over cached outputs of the frozen lower ones (see LowerLayerCache).
CPU_TOP_LAYERS = 2


@dataclass
class FineTuneConfig:
    """Settings of one fine-tuning run.

    Attributes:
        mode: "lora" trains a small adapter over the frozen base; "full" trains every weight; "adapter"
            leaves the encoder frozen and learns a whitening of its vectors and a residual linear map over
            them (see vector_adapter: minutes on a CPU, where the other two cannot get far).
        lora_r: rank of the LoRA update matrices.
        lora_alpha: LoRA scaling numerator (the update is scaled by alpha / r).
        lora_dropout: dropout on the LoRA input.
        target_modules: the Linear layers that get an adapter; "query" and
            "value" are the attention projections of BERT-style models such as MiniLM.
        lr: AdamW learning rate; None picks the mode's default (DEFAULT_LR).
        weight_decay: AdamW weight decay.
        batch_size: pairs per step; the other 2 * (batch_size - 1) texts are the negatives. None picks the
            mode's default (DEFAULT_BATCH_SIZE).
        epochs: passes over the pairs.
        min_steps: more passes, when the pairs are so few that `epochs` would
            take fewer steps than this (a small shop's few pairs need several).
        temperature: divides the cosine similarities before the softmax.
        max_length: tokens kept per text while training.
        time_limit_s: stop after this many seconds of training, None for no limit.
        top_layers: adapt only the last N transformer layers (None: all). The
            layers below then stay frozen, so a :class:`LowerLayerCache` can
            compute their output once per item: several times cheaper on a CPU.
        whitening_eps: added to the variances before whitening (adapter mode): the smaller, the more the
            directions the catalog's texts barely vary along count.
        seed: seeds the shuffling and the adapter initialisation.
    """

    mode: str = LORA
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: ["query", "value"])
    lr: float | None = None
    weight_decay: float = 0.01
    batch_size: int | None = None
    epochs: int = 1
    min_steps: int = 0
    temperature: float = 0.05
    max_length: int = 64
    time_limit_s: float | None = None
    top_layers: int | None = None
    whitening_eps: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.mode]
        if self.batch_size is None:
            self.batch_size = DEFAULT_BATCH_SIZE[self.mode]

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
    """The run's settings: on a GPU a few epochs of LoRA over every layer; on a CPU a few epochs of the vector
    adapter, or one of LoRA or full training over the top layers when one of those modes is asked for.

    Args:
        device: the torch device the run trains on.
        **overrides: FineTuneConfig fields; a None value keeps the device's
            default, and ``top_layers=0`` means every layer.

    Returns:
        The config.
    """
    on_gpu = str(device).startswith("cuda")
    mode = overrides.get("mode") or (LORA if on_gpu else ADAPTER)
    top_layers = None if on_gpu or mode == ADAPTER else CPU_TOP_LAYERS
    epochs = ADAPTER_EPOCHS if mode == ADAPTER else GPU_EPOCHS if on_gpu else 1
    settings = {"mode": mode, "epochs": epochs, "min_steps": MIN_STEPS, "top_layers": top_layers}
    settings.update({name: value for name, value in overrides.items() if value is not None})
    settings["top_layers"] = settings["top_layers"] or None
    return FineTuneConfig(**settings)

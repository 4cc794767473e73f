"""The hyper-parameters of a SASRec model, and their JSON form saved beside its weights."""

import json
from dataclasses import asdict, dataclass


FUSE_MODES = ("add", "text")


@dataclass
class SASRecConfig:
    """Hyper-parameters of a :class:`SASRecModel`.

    Attributes:
        n_items: Catalog size; item indices lie in [0, n_items).
        n_event_types: Number of event type codes; codes lie in [0, n_event_types).
        max_len: Events of a sequence the model reads (the most recent ones).
        hidden: Width of item vectors and hidden states.
        n_layers: Transformer blocks.
        n_heads: Attention heads per block; must divide ``hidden``.
        dropout: Drop probability on the input embeddings and inside every
            attention and feed-forward sub-layer, during training only.
        text_dim: Width of the frozen text embeddings; 0 means no text features.
        fuse: How text joins the id embedding; "add": id vector (for items with training events) +
            Linear(text); "text": Linear(text) alone, no id vectors: every item, seen in training or not,
            is represented the same way.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: Training sequences per step.
        max_epochs: Upper bound on training epochs.
        patience: Validations without a better NDCG@10 before training stops.
        eval_every: Epochs between validations.
        time_limit_s: Wall-clock budget for training; None means no limit.
        seed: Seed of weight initialisation, shuffling and dropout.
    """

    n_items: int
    n_event_types: int = 8
    max_len: int = 50
    hidden: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.2
    text_dim: int = 0
    fuse: str = "add"
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 5
    eval_every: int = 1
    time_limit_s: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        if self.fuse not in FUSE_MODES:
            raise ValueError(f"unknown fuse mode {self.fuse!r}; one of {', '.join(FUSE_MODES)}")
        if self.fuse == "text" and not self.text_dim:
            raise ValueError("fuse 'text' needs text features (text_dim > 0)")
        if self.hidden % self.n_heads:
            raise ValueError("hidden must be a multiple of n_heads")

    def to_json(self) -> str:
        """Serialises the config.

        Returns:
            A JSON object with every field.
        """
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SASRecConfig":
        """Parses what :meth:`to_json` wrote.

        Args:
            text: A JSON object with the config's fields.

        Returns:
            The config.
        """
        return cls(**json.loads(text))

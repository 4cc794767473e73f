"""Contrastive fine-tuning of the item text encoder on co-engagement, with LoRA or in full.

Items that shoppers engage with one after another are pulled together in
embedding space and the other items of the batch pushed apart (InfoNCE with
in-batch negatives). The encoder then places a brand-new item, known only by
its text, near the items it will be bought with, not only near the items whose
words it shares.

torch, transformers and peft are imported inside the functions, so importing
this module stays cheap for the web process.
"""

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from recommender.ml.nets.text_encoder import TextEncoder, default_model_path
from recommender.ml.registry import atomic_directory

LORA, FULL = "lora", "full"
MODES = (LORA, FULL)
FINETUNE_FILE = "finetune.json"
ADAPTER_FOLDER = "adapter"
FULL_WEIGHTS_FILE = "model.safetensors"
# Default learning rates: LoRA trains few, freshly initialised weights and needs a larger step.
DEFAULT_LR = {LORA: 2e-4, FULL: 2e-5}
WARMUP_FRACTION = 0.05
GPU_EPOCHS = 3
# The fewest steps of a product run, whatever the number of pairs.
MIN_STEPS = 50
# On a CPU only the last layers train, over cached outputs of the frozen lower ones (see LowerLayerCache).
CPU_TOP_LAYERS = 2

Progress = Callable[[float, str], None]


def co_engaged_pairs(
    sequences: list[np.ndarray], window: int = 3, max_pairs: int | None = None, seed: int = 0
) -> np.ndarray:
    """Pairs of items a shopper engaged with within `window` steps of each other.

    Pairs are unordered: (a, b) and (b, a) count once, stored as (min, max),
    because the contrastive loss is symmetric. Self-pairs (an item bought
    again) are dropped.

    Args:
        sequences: per shopper, item indices oldest first.
        window: the largest gap in steps between the two events of a pair.
        max_pairs: keep at most this many pairs, drawn at random.
        seed: seed of that draw.

    Returns:
        int64 array (n_pairs, 2), rows sorted, each row (smaller item, larger item).
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    items, owners = _flatten(sequences)
    parts = [np.zeros((0, 2), dtype=np.int64)]
    for gap in range(1, window + 1):
        same_shopper = owners[:-gap] == owners[gap:]
        parts.append(np.stack([items[:-gap][same_shopper], items[gap:][same_shopper]], axis=1))
    pairs = np.concatenate(parts)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    if max_pairs is not None and len(pairs) > max_pairs:
        chosen = np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False)
        pairs = pairs[np.sort(chosen)]
    return pairs.astype(np.int64)


def _flatten(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All items in one array, with the index of the sequence each came from."""
    lengths = [len(sequence) for sequence in sequences]
    if not sequences or sum(lengths) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    items = np.concatenate([np.asarray(sequence, dtype=np.int64) for sequence in sequences])
    return items, np.repeat(np.arange(len(sequences)), lengths)


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


@dataclass
class FineTuned:
    """A fine-tuned encoder with every item embedded before and after the fine-tune.

    Attributes:
        encoder: the fine-tuned encoder, in eval mode.
        config: the run's settings.
        frozen: (n_items, dim) embeddings by the base encoder.
        tuned: (n_items, dim) embeddings by the fine-tuned encoder.
        history: what :func:`fine_tune_encoder` returned, with "pairs" (the number trained on).
        items_per_s: items embedded per second in the final pass (lower layers included).
    """

    encoder: TextEncoder
    config: FineTuneConfig
    frozen: np.ndarray
    tuned: np.ndarray
    history: dict
    items_per_s: float


# Shares of the progress bar: the base embedding, the fine-tune, the final embedding.
PHASES = (0.15, 0.7, 0.15)


def fine_tune_and_embed(
    texts: list[str],
    pairs: np.ndarray,
    config: FineTuneConfig,
    device: str = "cpu",
    model_path: str | None = None,
    progress: Progress | None = None,
) -> FineTuned:
    """Embeds every item with the base encoder, fine-tunes it on `pairs`, and embeds every item again.

    With ``config.top_layers`` the frozen lower layers run once per item and
    both passes only run the top layers over their cached output.

    Args:
        texts: per item index, the item's text.
        pairs: (n, 2) co-engaged item indices, e.g. from :func:`co_engaged_pairs`.
        config: the run's settings.
        device: torch device.
        model_path: the base model folder; the shipped MiniLM when None.
        progress: called with (fraction done, message).

    Returns:
        The encoder and both sets of embeddings.
    """
    report = progress or (lambda fraction, message: None)
    encoder = TextEncoder(model_path=model_path, device=device, max_length=config.max_length)
    cache = None
    lower_s = 0.0
    started = time.perf_counter()
    if config.top_layers is not None:
        cache = LowerLayerCache(encoder, texts, config.top_layers, max_length=config.max_length)
        cache.fill(np.arange(len(texts)), progress=lambda done, total: report(PHASES[0] * done / max(total, 1), f"lower layers {done}/{total}"))
        lower_s = time.perf_counter() - started
        frozen = cache.encode()
    else:
        frozen = encoder.encode(texts, progress=lambda done, total: report(PHASES[0] * done / total, f"embedded {done}/{total} items"))
    history = fine_tune_encoder(
        encoder, texts, pairs, config, device=device, cache=cache,
        progress=lambda fraction, message: report(PHASES[0] + PHASES[1] * fraction, message),
    )
    history["pairs"] = int(len(pairs))
    done = PHASES[0] + PHASES[1]
    started = time.perf_counter()
    if cache is not None:
        tuned = cache.encode()
    else:
        tuned = encoder.encode(texts, progress=lambda count, total: report(done + PHASES[2] * count / total, f"embedded {count}/{total} items"))
    report(1.0, f"embedded {len(texts)} items")
    items_per_s = len(texts) / max(lower_s + time.perf_counter() - started, 1e-9)
    return FineTuned(encoder, config, frozen, tuned, history, items_per_s)


def fine_tune_encoder(
    encoder: TextEncoder,
    texts: list[str],
    pairs: np.ndarray,
    config: FineTuneConfig,
    device: str = "cpu",
    progress: Progress | None = None,
    cache: "LowerLayerCache | None" = None,
) -> dict:
    """Fine-tunes `encoder` in place so that the texts of each pair embed close together.

    The loss is symmetric InfoNCE over the batch: row i of the similarity
    matrix between the left and right texts of the batch should peak at
    column i, and column i at row i. Copies of the same item elsewhere in the
    batch are masked out, as they are not negatives. With mode "lora" the
    encoder's model is wrapped by a peft adapter and the base weights stay
    frozen, so one base model can serve several shops' adapters.

    Args:
        encoder: the encoder to train; afterwards it holds the trained model in eval mode.
        texts: per item index, the item's text.
        pairs: (n, 2) item indices into `texts`, e.g. from :func:`co_engaged_pairs`.
        config: the run's settings.
        device: torch device to train on; the encoder stays on it.
        progress: called with (fraction done, message) after every step.
        cache: frozen lower-layer outputs to reuse (needs ``config.top_layers``);
            one is made, filled as items are first met, when top_layers is set.

    Returns:
        History: "steps", "pairs_seen", "loss_per_epoch" (mean loss of each
        epoch started), "seconds", "stopped_by" ("epochs" or "time_limit").
    """
    import torch

    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        raise ValueError("no pairs to train on")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    encoder.model.to(device)
    encoder.device = device
    _attach_trainable(encoder, config)
    if config.top_layers is not None and cache is None:
        cache = LowerLayerCache(encoder, texts, config.top_layers, max_length=config.max_length)
    parameters = [parameter for parameter in encoder.model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    epochs = max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))
    total_steps = steps_per_epoch * epochs
    precision = _Precision(device)
    history = {"steps": 0, "pairs_seen": 0, "loss_per_epoch": [], "seconds": 0.0, "stopped_by": "epochs"}
    started = time.perf_counter()
    encoder.model.train()
    try:
        for epoch in range(epochs):
            losses = []
            order = rng.permutation(len(pairs))
            for start in range(0, len(order), config.batch_size):
                batch = pairs[order[start : start + config.batch_size]]
                # The schedule follows the time limit too, so a run cut short still decays its rate.
                done = _progress(history["steps"], total_steps, time.perf_counter() - started, config.time_limit_s)
                _set_learning_rate(optimizer, config.lr * _learning_rate_factor(done))
                loss = _train_step(encoder, texts, batch, config, optimizer, precision, cache)
                losses.append(loss)
                history["steps"] += 1
                history["pairs_seen"] += len(batch)
                elapsed = time.perf_counter() - started
                _report(progress, history["steps"], total_steps, elapsed, config, epoch, loss)
                if config.time_limit_s is not None and elapsed >= config.time_limit_s:
                    history["stopped_by"] = "time_limit"
                    break
            history["loss_per_epoch"].append(float(np.mean(losses)) if losses else math.nan)
            if history["stopped_by"] == "time_limit":
                break
    finally:
        # Whatever happened, the encoder must serve in inference mode afterwards.
        encoder.model.eval()
        optimizer.zero_grad(set_to_none=True)
    history["seconds"] = time.perf_counter() - started
    return history


def _attach_trainable(encoder: TextEncoder, config: FineTuneConfig) -> None:
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


def _learning_rate_factor(progress: float) -> float:
    """A linear warm-up over the first 5 % of the run, then a linear decay to zero at its end."""
    if progress < WARMUP_FRACTION:
        return max(progress, 1e-3) / WARMUP_FRACTION
    return max(0.0, (1.0 - progress) / (1.0 - WARMUP_FRACTION))


def _progress(step: int, total_steps: int, elapsed: float, time_limit_s: float | None) -> float:
    """Share of the run done: by steps, or by time when the time limit is nearer."""
    done = step / total_steps
    if time_limit_s:
        done = max(done, elapsed / time_limit_s)
    return min(done, 1.0)


def _set_learning_rate(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class _Precision:
    """Mixed precision on CUDA (bfloat16 where supported, else float16 with loss scaling); full float32 elsewhere."""

    def __init__(self, device: str) -> None:
        import torch

        self.enabled = str(device).startswith("cuda")
        self.dtype = torch.bfloat16 if self.enabled and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.enabled and self.dtype == torch.float16)
        self.device_type = "cuda" if self.enabled else "cpu"

    def autocast(self):
        import torch

        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.enabled)


def _train_step(encoder, texts: list[str], batch: np.ndarray, config: FineTuneConfig, optimizer, precision: _Precision, cache) -> float:
    import torch

    # Each distinct item is encoded once, even when it appears in several pairs of the batch.
    items, positions = np.unique(batch.reshape(-1), return_inverse=True)
    positions = torch.as_tensor(positions.reshape(-1, 2), device=encoder.device)
    with precision.autocast():
        if cache is None:
            embeddings = _embed_for_training(encoder, [texts[item] for item in items], config.max_length)
        else:
            embeddings = cache.upper_embeddings(items)
    embeddings = embeddings.float()
    left, right = embeddings[positions[:, 0]], embeddings[positions[:, 1]]
    loss = _symmetric_info_nce(left, right, positions, config.temperature)
    optimizer.zero_grad(set_to_none=True)
    precision.scaler.scale(loss).backward()
    precision.scaler.step(optimizer)
    precision.scaler.update()
    return float(loss.detach())


def _mean_pool(hidden, mask):
    import torch

    mask = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled.float(), dim=-1)


def _embed_for_training(encoder, texts: list[str], max_length: int):
    """Mean-pooled, L2-normalised embeddings with gradients, pooled as TextEncoder.encode pools."""

    tokens = encoder.tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    ).to(encoder.device)
    hidden = encoder.model(**tokens).last_hidden_state
    return _mean_pool(hidden, tokens["attention_mask"])


class LowerLayerCache:
    """Per item, the output of the frozen lower layers of a BERT-style encoder, computed once.

    When only the top layers train (``FineTuneConfig.top_layers``), the lower
    layers give the same output for an item at every step, so it is stored
    (float32, trimmed to the item's tokens) and only the top layers run
    forward and backward. :meth:`encode` then embeds items through the
    current top layers at a fraction of a full pass; it matches
    ``TextEncoder.encode`` with the same max_length.

    Args:
        encoder: the encoder (plain or with its adapter attached).
        texts: per item index, the item's text.
        top_layers: how many of the last layers are not cached.
        max_length: tokens kept per text.
        batch_size: texts per forward pass when filling the cache.
    """

    def __init__(self, encoder: TextEncoder, texts: list[str], top_layers: int, max_length: int = 64, batch_size: int = 64) -> None:
        self.encoder = encoder
        self.texts = texts
        self.max_length = max_length
        self.batch_size = batch_size
        self.bert = _bert_of(encoder.model)
        self.n_lower = len(self.bert.encoder.layer) - top_layers
        if not 0 <= self.n_lower < len(self.bert.encoder.layer):
            raise ValueError("top_layers must be between 1 and the number of layers")
        self.states: dict[int, object] = {}

    def fill(self, items: np.ndarray, progress: Callable[[int, int], None] | None = None) -> None:
        """Computes the lower-layer output of every item not cached yet.

        Args:
            items: item indices.
            progress: called after each batch with (items done, total missing).
        """

        missing = [int(item) for item in dict.fromkeys(np.asarray(items).tolist()) if item not in self.states]
        missing.sort(key=lambda item: len(self.texts[item]))  # similar lengths pad little
        frozen = [self.bert.embeddings, *self.bert.encoder.layer[: self.n_lower]]
        was_training = [module.training for module in frozen]
        # Filled in the middle of training too: the cached output must be the dropout-free one.
        for module in frozen:
            module.eval()
        try:
            self._fill_missing(missing, progress)
        finally:
            for module, training in zip(frozen, was_training):
                module.train(training)

    def _fill_missing(self, missing: list[int], progress: Callable[[int, int], None] | None) -> None:
        import torch

        with torch.inference_mode():
            for start in range(0, len(missing), self.batch_size):
                chunk = missing[start : start + self.batch_size]
                tokens = self._tokens([self.texts[item] for item in chunk])
                hidden = self.bert.embeddings(input_ids=tokens["input_ids"], token_type_ids=tokens.get("token_type_ids"))
                hidden = self._run_layers(hidden, tokens["attention_mask"], self.bert.encoder.layer[: self.n_lower])
                for row, item in enumerate(chunk):
                    length = int(tokens["attention_mask"][row].sum())
                    self.states[item] = hidden[row, :length].float().clone()
                if progress is not None:
                    progress(min(start + self.batch_size, len(missing)), len(missing))

    def upper_embeddings(self, items: np.ndarray):
        """(len(items), dim) unit embeddings through the top layers, with gradients when they train."""
        import torch

        self.fill(items)
        states = [self.states[int(item)] for item in items]
        lengths = torch.as_tensor([len(state) for state in states], device=self.encoder.device)
        hidden = torch.nn.utils.rnn.pad_sequence(states, batch_first=True)
        mask = (torch.arange(hidden.shape[1], device=hidden.device)[None, :] < lengths[:, None]).long()
        hidden = self._run_layers(hidden, mask, self.bert.encoder.layer[self.n_lower :])
        return _mean_pool(hidden, mask)

    def encode(self, items: np.ndarray | None = None) -> np.ndarray:
        """Embeds items through the current top layers, without gradients.

        Args:
            items: item indices; all texts when None.

        Returns:
            float32 array (len(items), dim) with unit-norm rows.
        """
        import torch

        items = np.arange(len(self.texts)) if items is None else np.asarray(items, dtype=np.int64)
        embeddings = np.zeros((len(items), self.encoder.dim), dtype=np.float32)
        order = np.argsort([len(self.texts[item]) for item in items], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(items), self.batch_size):
                rows = order[start : start + self.batch_size]
                embeddings[rows] = self.upper_embeddings(items[rows]).cpu().numpy()
        return embeddings

    def _tokens(self, texts: list[str]):
        return self.encoder.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.encoder.device)

    @staticmethod
    def _run_layers(hidden, attention_mask, layers):
        # An additive mask (0 to attend, the dtype's minimum to ignore) is what
        # BERT's eager and SDPA attention both accept.
        import torch

        additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in layers:
            output = layer(hidden, additive)
            hidden = output[0] if isinstance(output, tuple) else output
        return hidden


def _bert_of(model):
    """The BERT-style module under a possible peft wrapper: it must have embeddings and encoder.layer."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not (hasattr(base, "embeddings") and hasattr(getattr(base, "encoder", None), "layer")):
        raise ValueError("top_layers needs a BERT-style encoder (embeddings + encoder.layer)")
    return base


def _symmetric_info_nce(left, right, positions, temperature: float):
    """Mean of the left-to-right and right-to-left cross-entropies over the batch similarity matrix.

    positions holds, per pair, the rows of its two texts among the batch's
    distinct items; a column showing the same item as the positive (or as
    the anchor itself) is masked, since it is not a negative.
    """
    import torch

    logits = left @ right.T / temperature
    left_items, right_items = positions[:, 0], positions[:, 1]
    diagonal = torch.eye(len(positions), dtype=torch.bool, device=logits.device)
    same_as_positive = right_items[None, :] == right_items[:, None]
    same_as_anchor = right_items[None, :] == left_items[:, None]
    logits_lr = logits.masked_fill((same_as_positive | same_as_anchor) & ~diagonal, float("-inf"))
    same_as_positive_t = left_items[None, :] == left_items[:, None]
    same_as_anchor_t = left_items[None, :] == right_items[:, None]
    logits_rl = logits.T.masked_fill((same_as_positive_t | same_as_anchor_t) & ~diagonal, float("-inf"))
    labels = torch.arange(len(positions), device=logits.device)
    cross_entropy = torch.nn.functional.cross_entropy
    return (cross_entropy(logits_lr, labels) + cross_entropy(logits_rl, labels)) / 2


def _report(progress: Progress | None, step: int, total_steps: int, elapsed: float, config: FineTuneConfig, epoch: int, loss: float) -> None:
    if progress is None:
        return
    progress(
        _progress(step, total_steps, elapsed, config.time_limit_s),
        f"epoch {epoch + 1}, step {step}/{total_steps}: loss {loss:.3f}",
    )


def save_adapter(encoder: TextEncoder, directory: str | Path, config: FineTuneConfig | None = None) -> None:
    """Writes the fine-tuned part of `encoder` and what is needed to rebuild it, atomically.

    With a LoRA adapter only the adapter is written (peft's
    ``save_pretrained``: a few hundred kB for MiniLM); a fully fine-tuned model
    is written whole as safetensors. Either way ``finetune.json`` names the
    base model folder and the mode. A run killed midway leaves `directory` as
    it was.

    Args:
        encoder: an encoder that went through :func:`fine_tune_encoder`.
        directory: the artifact folder; replaced as a whole if it exists.
        config: the run's settings, recorded for reference when given.
    """
    from peft import PeftModel

    mode = LORA if isinstance(encoder.model, PeftModel) else FULL
    manifest = {
        "mode": mode,
        "base_model_path": str(encoder.model_path),
        "base_is_default": _is_default_model(encoder.model_path),
        "max_length": encoder.max_length,
        "batch_size": encoder.batch_size,
        "config": json.loads(config.to_json()) if config is not None else None,
    }
    with atomic_directory(directory) as staging:
        if mode == LORA:
            encoder.model.save_pretrained(str(staging / ADAPTER_FOLDER))
        else:
            from safetensors.torch import save_model

            save_model(encoder.model, str(staging / FULL_WEIGHTS_FILE))
        (staging / FINETUNE_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))


def load_fine_tuned(directory: str | Path, device: str = "cpu") -> TextEncoder:
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
    if manifest["mode"] == LORA:
        from peft import PeftModel

        encoder.model = PeftModel.from_pretrained(encoder.model, str(directory / ADAPTER_FOLDER))
    else:
        from safetensors.torch import load_model

        load_model(encoder.model, str(directory / FULL_WEIGHTS_FILE))
    encoder.model.to(encoder.device).eval()
    return encoder


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

"""The training loop over co-engaged pairs: symmetric InfoNCE over in-batch negatives, a warm-up and decay
schedule, mixed precision; for the encoder itself, or for any module that embeds items (vector_adapter)."""

import math
import time
from collections.abc import Callable

import numpy as np

from recommender.ml.nets.text_encoder import TextEncoder
from recommender.ml.nets.text_finetune.adapter import attach_trainable
from recommender.ml.nets.text_finetune.config import FineTuneConfig
from recommender.ml.nets.text_finetune.layer_cache import LowerLayerCache
from recommender.ml.nets.text_finetune.pooling import embed_for_training

WARMUP_FRACTION = 0.05

Progress = Callable[[float, str], None]


def fine_tune_encoder(
    encoder: TextEncoder,
    texts: list[str],
    pairs: np.ndarray,
    config: FineTuneConfig,
    device: str = "cpu",
    progress: Progress | None = None,
    cache: LowerLayerCache | None = None,
) -> dict:
    """Fine-tunes `encoder` in place so that the texts of each pair embed close together (see pairs_train).

    With mode "lora" the encoder's model is wrapped by a peft adapter and the base weights stay frozen, so
    one base model can serve several shops' adapters.

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
        The history of pairs_train.
    """
    import torch

    torch.manual_seed(config.seed)  # the adapter's initialisation
    encoder.model.to(device)
    encoder.device = device
    attach_trainable(encoder, config)
    if config.top_layers is not None and cache is None:
        cache = LowerLayerCache(encoder, texts, config.top_layers, max_length=config.max_length)

    def embed(items: np.ndarray):
        if cache is None:
            return embed_for_training(encoder, [texts[item] for item in items], config.max_length)
        return cache.upper_embeddings(items)

    parameters = [parameter for parameter in encoder.model.parameters() if parameter.requires_grad]
    encoder.model.train()
    try:
        return pairs_train(embed, parameters, pairs, config, device=device, progress=progress)
    finally:
        # Whatever happened, the encoder must serve in inference mode afterwards.
        encoder.model.eval()


def pairs_train(
    embed: Callable, parameters: list, pairs: np.ndarray, config: FineTuneConfig, device: str = "cpu",
    progress: Progress | None = None,
) -> dict:
    """Trains `parameters` so that the two items of each pair embed close together.

    The loss is symmetric InfoNCE over the batch: row i of the similarity
    matrix between the left and right items of the batch should peak at
    column i, and column i at row i. Copies of the same item elsewhere in the
    batch are masked out, as they are not negatives.

    Args:
        embed: (distinct item indices of a batch) -> their L2-normalised vectors, a torch tensor that
            depends on `parameters`.
        parameters: the tensors AdamW updates.
        pairs: (n, 2) item indices, e.g. from :func:`co_engaged_pairs`.
        config: the run's settings.
        device: the torch device `embed` computes on.
        progress: called with (fraction done, message) after every step.

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
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    epochs = max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))
    total_steps = steps_per_epoch * epochs
    precision = _Precision(device)
    history = {"steps": 0, "pairs_seen": 0, "loss_per_epoch": [], "seconds": 0.0, "stopped_by": "epochs"}
    started = time.perf_counter()
    try:
        for epoch in range(epochs):
            losses = []
            order = rng.permutation(len(pairs))
            for start in range(0, len(order), config.batch_size):
                batch = pairs[order[start : start + config.batch_size]]
                # The schedule follows the time limit too, so a run cut short still decays its rate.
                done = _progress(history["steps"], total_steps, time.perf_counter() - started, config.time_limit_s)
                _set_learning_rate(optimizer, config.lr * _learning_rate_factor(done))
                loss = _train_step(embed, batch, config, optimizer, precision, device)
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
        optimizer.zero_grad(set_to_none=True)
    history["seconds"] = time.perf_counter() - started
    return history


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


def _train_step(embed: Callable, batch: np.ndarray, config: FineTuneConfig, optimizer, precision: _Precision, device: str) -> float:
    import torch

    # Each distinct item is embedded once, even when it appears in several pairs of the batch.
    items, positions = np.unique(batch.reshape(-1), return_inverse=True)
    positions = torch.as_tensor(positions.reshape(-1, 2), device=device)
    with precision.autocast():
        embeddings = embed(items)
    embeddings = embeddings.float()
    left, right = embeddings[positions[:, 0]], embeddings[positions[:, 1]]
    loss = _symmetric_info_nce(left, right, positions, config.temperature)
    optimizer.zero_grad(set_to_none=True)
    precision.scaler.scale(loss).backward()
    precision.scaler.step(optimizer)
    precision.scaler.update()
    return float(loss.detach())


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

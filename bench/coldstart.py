"""Cold start on Amazon Beauty: brand-new items ranked by frozen vs adapted (or fine-tuned) text embeddings vs
popularity.

The product's fine-tuning run (recommender.ml.trainer, family finetuned_text) holds 10 % of the items
out with all their events (see recommender.ml.coldstart), adapts the frozen vectors (whitening and a
residual map, the CPU default) or fine-tunes the encoder with LoRA on items co-engaged in the remaining
training sequences, embeds every item again and ranks each cold target against the full catalog from
the shopper's warm history.
"""

import argparse
from pathlib import Path

from recommender.ml.device import pick_device
from recommender.ml.nets.text_finetune import ADAPTER, MODES, FineTuneConfig, config_for_device
from recommender.ml.trainer import FINETUNED_TEXT, Budget, fit_family, prepare

from .common import BenchResult, dataset_result
from .common.coldstart import TARGET_GAIN, cold_start_verdict
from .common.datasets import DEMO_DATA, beauty_load, embeddings_cached

CPU_TIME_LIMIT_S = 600.0


def arguments(argv: list[str]) -> argparse.Namespace:
    defaults = FineTuneConfig()
    parser = argparse.ArgumentParser(prog="python -m bench coldstart")
    parser.add_argument("--data", type=Path, default=DEMO_DATA)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--time-limit", type=float, default=None, help=f"seconds of fine-tuning (default {CPU_TIME_LIMIT_S:.0f} on CPU, none on GPU)")
    parser.add_argument("--epochs", type=int, default=None, help="passes over the pairs (default 1 on CPU, 3 on GPU)")
    parser.add_argument("--fraction", type=float, default=0.1, help="share of the catalog held out as cold items")
    parser.add_argument("--window", type=int, default=3, help="steps between two co-engaged events")
    parser.add_argument("--max-pairs", type=int, default=None)
    parser.add_argument("--mode", default=None, choices=MODES, help="default: adapter on CPU, lora on GPU")
    parser.add_argument("--whitening-eps", type=float, default=defaults.whitening_eps)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--lora-r", type=int, default=defaults.lora_r)
    parser.add_argument("--lora-alpha", type=int, default=defaults.lora_alpha)
    parser.add_argument("--target-modules", default=",".join(defaults.target_modules))
    parser.add_argument("--batch-size", type=int, default=None, help="default: 512 in adapter mode, else 64")
    parser.add_argument("--temperature", type=float, default=defaults.temperature)
    parser.add_argument("--max-length", type=int, default=defaults.max_length, help="tokens per text while training")
    parser.add_argument("--top-layers", type=int, default=None, help="train only the last N layers (default 2 on CPU, all on GPU); 0 means all")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def printing_progress(label: str):
    """A progress callback that prints about every tenth of the run."""
    state = {"next": 0.0}

    def report(fraction: float, message: str) -> None:
        if fraction >= state["next"]:
            print(f"{label} {fraction:4.0%} {message}", flush=True)
            state["next"] = fraction + 0.1

    return report


LABELS = {
    "popularity": "popularity (training counts)",
    "frozen": "MiniLM frozen",
    "whitened": "MiniLM whitened (the adapter's first step alone)",
    "fine_tuned": "MiniLM adapted / fine-tuned",
}


def cold_start_rows(report: dict, history: dict, device: str) -> list[dict]:
    """One row per model of a fine-tuning run's cold-start report, NDCG@10 relative to the frozen encoder."""
    frozen = report["frozen"]["ndcg_10"]
    per_step = history["seconds"] / max(history["steps"], 1)
    rows = []
    for name, label in LABELS.items():
        if name not in report:
            continue
        metrics = report[name]
        tuned = name == "fine_tuned"
        rows.append({
            "model": label,
            "hr_10": metrics["hr_10"],
            "ndcg_10": metrics["ndcg_10"],
            "vs_frozen": None if not frozen else f"{metrics['ndcg_10'] / frozen - 1:+.1%}",
            "train_s": round(history["seconds"], 1) if tuned else None,
            "s_per_step": round(per_step, 3) if tuned else None,
            "items_per_s": round(history["items_per_s"], 1) if tuned and history["items_per_s"] is not None else None,
            "cases": metrics["n_cases"],
            "device": device,
        })
    return rows


def run(argv: list[str]) -> BenchResult:
    options = arguments(argv)
    result = dataset_result("coldstart", options.data)
    if result.skipped:
        return result
    device = pick_device(options.device)
    on_gpu = device.startswith("cuda")
    time_limit = options.time_limit if options.time_limit is not None else (None if on_gpu else CPU_TIME_LIMIT_S)
    data = beauty_load(options.data)
    prepared = prepare(data)
    # The adapter starts from the frozen vectors, computed once per catalog (as the product keeps them).
    adapting = config_for_device(device, mode=options.mode).mode == ADAPTER
    frozen = embeddings_cached(data.item_texts, device)[0] if adapting else None
    fitted = fit_family(
        FINETUNED_TEXT, prepared, Budget(device=device, time_limit_s=time_limit, max_epochs=options.epochs), text_embeddings=frozen,
        progress=printing_progress("fine-tune"), window=options.window, max_pairs=options.max_pairs,
        cold_fraction=options.fraction, seed=options.seed, mode=options.mode, lr=options.lr, lora_r=options.lora_r,
        lora_alpha=options.lora_alpha, target_modules=options.target_modules.split(","), batch_size=options.batch_size,
        temperature=options.temperature, max_length=options.max_length, top_layers=options.top_layers,
        whitening_eps=options.whitening_eps,
    )
    report, history = fitted.metrics["cold_start"], fitted.history
    result.rows = cold_start_rows(report, history, device)
    gain, verdict = cold_start_verdict(report)
    result.metrics = {
        "ndcg_10_frozen": report["frozen"]["ndcg_10"], "ndcg_10_fine_tuned": report["fine_tuned"]["ndcg_10"],
        "relative_gain": gain, "target_gain": TARGET_GAIN,
    }
    result.notes += [
        f"Cold items: {report['cold_items']:,} of {prepared.n_items:,} ({options.fraction:.0%}), held out with all their events; "
        f"{report['cases']:,} shoppers whose last event is cold, ranked against the full catalog.",
        f"Fine-tuning: {history['steps']} steps, {history['pairs_seen']:,} of {history['pairs']:,} pairs (window {options.window}), "
        f"loss per epoch {[round(loss, 3) for loss in history['loss_per_epoch']]}, stopped by {history['stopped_by']}; "
        f"settings {fitted.hyperparameters}.",
        verdict,
    ]
    return result

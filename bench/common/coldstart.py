"""The cold-start figures of a fine-tuning run, as the quality and cold-start benchmarks report them."""

TARGET_GAIN = 0.20  # +20 % relative NDCG@10 over the frozen encoder


def cold_start_verdict(report: dict) -> tuple[float, str]:
    """The fine-tuned encoder's relative NDCG@10 gain over the frozen one, and a sentence on the target."""
    frozen = report["frozen"]["ndcg_10"]
    gain = report["fine_tuned"]["ndcg_10"] / frozen - 1.0 if frozen else float("nan")
    return gain, f"Relative NDCG@10 gain over frozen: {gain:+.1%} (target {TARGET_GAIN:+.0%}: {'met' if gain >= TARGET_GAIN else 'not met'})."


def cold_start_note(report: dict, history: dict) -> str:
    """The cold-start figures of a fine-tuning run in one paragraph."""
    labels = (("popularity", "popularity"), ("frozen", "frozen"), ("whitened", "whitened"), ("fine_tuned", "fine-tuned"))
    figures = "; ".join(
        f"{label} HR@10 {report[name]['hr_10']:.4f}, NDCG@10 {report[name]['ndcg_10']:.4f}" for name, label in labels if name in report
    )
    rate = f", {history['items_per_s']:.0f} items embedded/s" if history["items_per_s"] is not None else ""
    return (
        f"Cold start ({report['cold_items']:,} items held out of the fine-tune, {report['cases']:,} shoppers): {figures}. "
        f"{cold_start_verdict(report)[1]} Fine-tune: {history['steps']} steps in {history['seconds']:.0f} s{rate}."
    )

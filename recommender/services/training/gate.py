"""What keeps a trained version from serving on its own, beyond the registry's promotion margin."""

from ...models import Family, ModelVersion


def encoder_held_back(*, version: ModelVersion) -> str:
    """Why a fine-tuned encoder must not serve on its own: it ranks held-out items below the frozen one.

    A short CPU run can leave the encoder worse than MiniLM; serving it would degrade the text and
    sequential families. Promoted by hand, it serves all the same.
    """
    if version.family != Family.FINETUNED_TEXT:
        return ""
    cold = version.metrics["cold_start"]
    tuned, frozen = cold["fine_tuned"]["ndcg_10"], cold["frozen"]["ndcg_10"]
    if tuned is None or frozen is None or tuned >= frozen:
        return ""
    return f"ranks held-out items below the frozen encoder (cold-start NDCG@10 {tuned:.4f} < {frozen:.4f}); promote it by hand to serve it"

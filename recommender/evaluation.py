"""Offline evaluation, as stored with each model version: leave-last-out, full-catalog ranking.

The metrics are computed by recommender.ml.evaluation during each training run (see
recommender.ml.trainer.evaluate); this module presents them side by side.
"""

from .models import Family, ModelVersion

METRIC_COLUMNS = (
    ("hr_10", "HR@10"), ("ndcg_10", "NDCG@10"), ("recall_20", "Recall@20"), ("ndcg_20", "NDCG@20"), ("mrr", "MRR"),
    ("precision_10", "P@10"), ("coverage", "Coverage"), ("ild", "ILD"), ("distinct_categories", "Categories@10"),
    ("novelty", "Novelty"),
)


def _cell(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def evaluation_table(versions: list[ModelVersion], columns=METRIC_COLUMNS) -> str:
    """A Markdown table of the versions' metrics, with each family's NDCG@10 relative to popularity."""
    baseline = next((v.metrics.get("ndcg_10") for v in versions if v.family == Family.POPULARITY and v.metrics), None)
    header = ["family", *(label for _, label in columns), "× popularity", "seconds", "status"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for version in versions:
        ndcg = version.metrics.get("ndcg_10")
        ratio = f"{ndcg / baseline:.2f}" if ndcg is not None and baseline else "—"
        cells = [version.family, *(_cell(version.metrics.get(key)) for key, _ in columns), ratio, f"{version.wall_seconds or 0:.0f}", version.status]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""Offline evaluation, as stored with each model version: leave-last-out, full-catalog ranking.

The metrics are computed by recommender.ml.evaluation during each training run (see
recommender.ml.trainer.evaluate); this module presents them side by side. Each version also holds
its figures for new shoppers (known by one or two events), and the fine-tuned encoder its cold-start
figures (items held out of training entirely, see recommender.ml.coldstart).
"""

from .models import Family, ModelVersion

METRIC_COLUMNS = (
    ("hr_10", "HR@10"), ("ndcg_10", "NDCG@10"), ("recall_20", "Recall@20"), ("ndcg_20", "NDCG@20"), ("mrr", "MRR"),
    ("precision_10", "P@10"), ("coverage", "Coverage"), ("ild", "ILD"), ("distinct_categories", "Categories@10"),
    ("novelty", "Novelty"),
)


def _cell(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(row) + " |" for row in rows)]
    return "\n".join(lines)


def evaluation_table(versions: list[ModelVersion], columns=METRIC_COLUMNS) -> str:
    """A Markdown table of the versions' metrics, with each family's NDCG@10 relative to popularity."""
    baseline = next((v.metrics.get("ndcg_10") for v in versions if v.family == Family.POPULARITY and v.metrics), None)
    header = ["family", *(label for _, label in columns), "× popularity", "seconds", "status"]
    rows = []
    for version in versions:
        ndcg = version.metrics.get("ndcg_10")
        ratio = f"{ndcg / baseline:.2f}" if ndcg is not None and baseline else "—"
        rows.append([version.family, *(_cell(version.metrics.get(key)) for key, _ in columns), ratio, f"{version.wall_seconds or 0:.0f}", version.status])
    return _table(header, rows)


def new_shopper_table(versions: list[ModelVersion]) -> str:
    """HR@10 and NDCG@10 per family for shoppers known by only one or two events, NDCG@10 relative to popularity."""
    measured = [version for version in versions if version.metrics.get("new_shoppers")]
    lengths = list(measured[0].metrics["new_shoppers"]) if measured else []
    baseline = next((v.metrics["new_shoppers"] for v in measured if v.family == Family.POPULARITY), {})
    rows = []
    for version in measured:
        cells = [version.family]
        for length in lengths:
            figures = version.metrics["new_shoppers"][length]
            base = baseline.get(length, {}).get("ndcg_10")
            ratio = f"{figures['ndcg_10'] / base:.2f}" if figures["ndcg_10"] is not None and base else "—"
            cells += [_cell(figures["hr_10"]), _cell(figures["ndcg_10"]), ratio]
        rows.append(cells)
    header = ["family", *(f"{label} {length.replace('_', ' ')}" for length in lengths for label in ("HR@10", "NDCG@10", "× popularity"))]
    return _table(header, rows)


def cold_start_table(versions: list[ModelVersion]) -> str:
    """Held-out items ranked by popularity, the frozen and the fine-tuned encoder; empty when no encoder was fine-tuned."""
    encoder = next((v for v in versions if v.family == Family.FINETUNED_TEXT and v.metrics.get("cold_start")), None)
    if encoder is None:
        return ""
    report = encoder.metrics["cold_start"]
    frozen = report["frozen"]["ndcg_10"]
    rows = []
    for name, label in (("popularity", "popularity"), ("frozen", "frozen encoder"), ("fine_tuned", "fine-tuned encoder")):
        ndcg = report[name]["ndcg_10"]
        gain = f"{ndcg / frozen - 1:+.1%}" if ndcg is not None and frozen else "—"
        rows.append([label, _cell(report[name]["hr_10"]), _cell(ndcg), gain])
    caption = f"Cold start: {report['cold_items']} items held out of training, {report['cases']} shoppers whose last event is one of them."
    return caption + "\n\n" + _table(["model", "HR@10", "NDCG@10", "vs frozen"], rows)

"""Full-catalog leave-last-out metrics of a fitted model, for known shoppers and as new ones."""

import numpy as np

from recommender.ml.blend import Blend
from recommender.ml.evaluation import RankingReport, evaluate_scores
from recommender.ml.trainer.families import FINETUNED_TEXT, SEQUENTIAL
from recommender.ml.trainer.progress import Progress, quiet
from recommender.ml.trainer.shop import Prepared

# Shoppers known by this many events (their last ones before the test target) in the new-shopper evaluation.
NEW_SHOPPER_EVENTS = (1, 2)


def evaluate(
    family: str,
    model,
    prepared: Prepared,
    text_embeddings: np.ndarray | None = None,
    history_length: int | None = None,
    progress: Progress = quiet,
    max_shoppers: int | None = None,
    validation: bool = False,
) -> RankingReport:
    """Full-catalog leave-last-out metrics of a fitted model on the test targets (or the validation targets).

    Args:
        family: the model's family.
        model: a fitted model of that family; the fine-tuned encoder is ranked by text similarity.
        prepared: the shop's data and its split.
        text_embeddings: item vectors for the diversity metric.
        history_length: when given, every shopper is known only by this many
            events, their last ones before the target, as a new shopper would
            be; shoppers with fewer are left out.
        progress: called with (fraction of the shoppers ranked, message) after each batch.
        validation: rank each shopper's one-before-last event from the events before it (what a blend or a
            setting is chosen on, so that the test targets stay unseen).

    Returns:
        The report.
    """
    from recommender.ml.nets.text_similarity import TextSimilarityModel

    split = prepared.split
    full, targets, types = (
        (split.valid_history, split.valid_targets, split.valid_history_types) if validation
        else (split.test_history, split.test_targets, split.test_history_types)
    )
    histories = full
    if history_length is not None:
        histories = [history[-history_length:] for history in full]
        targets = np.where([len(history) >= history_length for history in full], targets, -1)
    targets = _shoppers_sampled(np.asarray(targets), max_shoppers)
    if family == FINETUNED_TEXT:
        text_embeddings = model.tuned
        model = TextSimilarityModel(model.tuned)
    total, ranked = int(np.count_nonzero(np.asarray(targets) >= 0)), [0]

    def scores(user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        batch = _family_scores(family, model, user_indices, histories, types)
        ranked[0] += len(user_indices)
        progress(ranked[0] / max(total, 1), f"ranked the catalog for {ranked[0]:,} of {total:,} shoppers")
        return batch

    popularity = np.bincount(prepared.train.item_ids, minlength=prepared.n_items)
    return evaluate_scores(
        scores,
        histories,
        targets,
        prepared.n_items,
        item_embeddings=text_embeddings,
        item_categories=prepared.data.item_categories,
        item_popularity=popularity,
    )


def _family_scores(family: str, model, user_indices: np.ndarray, histories: list[np.ndarray], types) -> np.ndarray:
    """(users, items) scores of a fitted model of `family`, or of a Blend of several, ranked as one."""
    if isinstance(model, Blend):
        parts = [_family_scores(part, fitted, user_indices, histories, types) for part, fitted, _ in model.parts]
        return model.fuse(parts, histories)
    if family == SEQUENTIAL:  # the sequential model reads the event types too, the last ones of each history
        return model.score(histories, [types[user][len(types[user]) - len(history) :] for user, history in zip(user_indices, histories)])
    return model.score_users(user_indices, histories)


def _shoppers_sampled(targets: np.ndarray, max_shoppers: int | None) -> np.ndarray:
    """`targets` with all but `max_shoppers` of the shoppers left out (-1), the same ones every time: ranking the
    whole catalog for every shopper costs shoppers × items, hours for a large shop."""
    valid = np.flatnonzero(targets >= 0)
    if max_shoppers is None or len(valid) <= max_shoppers:
        return targets
    kept = np.random.default_rng(0).choice(valid, max_shoppers, replace=False)
    sampled = np.full_like(targets, -1)
    sampled[kept] = targets[kept]
    return sampled


def evaluate_new_shoppers(
    family: str, model, prepared: Prepared, text_embeddings: np.ndarray | None = None, progress: Progress = quiet,
    max_shoppers: int | None = None, validation: bool = False,
) -> dict:
    """HR@10 and NDCG@10 when each shopper is known by only their last one or two events.

    Args:
        progress: called with (fraction done, message); each history length is an equal share.

    Returns:
        {"1_event": {"hr_10", "ndcg_10", "n_users"}, "2_events": {...}}.
    """
    reports = {}
    share = 1 / len(NEW_SHOPPER_EVENTS)
    for done, length in enumerate(NEW_SHOPPER_EVENTS):

        def step(fraction: float, message: str, done: int = done, length: int = length) -> None:
            progress(share * (done + fraction), f"as new shoppers known by {length} event{'s' if length > 1 else ''}: {message}")

        report = evaluate(
            family, model, prepared, text_embeddings, history_length=length, progress=step, max_shoppers=max_shoppers,
            validation=validation,
        ).as_dict()
        reports[f"{length}_event{'s' if length > 1 else ''}"] = {key: report[key] for key in ("hr_10", "ndcg_10", "n_users")}
    return reports

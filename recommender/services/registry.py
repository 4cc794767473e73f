"""Which version serves, and the serving models kept loaded in each process.

Every request reads the active version ids from the database, so a promote or a rollback
takes effect at once in every web process and worker, with no restart.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction

from catalog.models import Shop

from ..ml.topk import RankedMemo
from ..models import Family, ModelVersion
from ..signals import version_serving

logger = logging.getLogger(__name__)


class VersionNotServable(Exception):
    pass


@dataclass
class LoadedModel:
    version_id: int
    family: str
    model: object
    item_pks: np.ndarray
    item_index: dict[int, int]
    # Items' nearest items by the model (its artifact never changes): a scan of every item vector each.
    neighbours: RankedMemo = field(default_factory=RankedMemo)


_loaded: dict[int, LoadedModel] = {}


@transaction.atomic
def version_promote(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the one that serves its family; the previous one stays for rollback.

    A fine-tuned encoder changes the item vectors, so the families that read them are retrained
    (their first step embeds the items again with the encoder now serving).
    """
    if version.status != ModelVersion.Status.SUCCEEDED:
        raise VersionNotServable(f"{version.label} is {version.status}; only a succeeded version can serve.")
    ModelVersion.objects.filter(shop=version.shop, family=version.family, is_active=True).exclude(pk=version.pk).update(
        is_active=False
    )
    version.is_active = True
    # Saved rather than updated: the save signal tells the page cache that another version serves.
    version.save(update_fields=["is_active"])
    logger.info("Shop %s: %s (#%s) now serves", version.shop.slug, version.label, version.pk)
    version_serving.send(sender=ModelVersion, version=version)
    return version


def promotion_held_back(*, version: ModelVersion) -> str:
    """Why a newly trained version must not replace the serving one on its own ("" when it may).

    It serves on its own only when it beats the serving version by VITRINE_PROMOTION_MARGIN (a share of the
    serving one's figure) on the family's offline metric: a retrain on much the same data scores much the
    same, and swapping models that rank alike only churns the pages. A family's first version always serves;
    a margin of 0 lets one as good as the serving one serve, a negative one even a slightly worse one.
    A text or sequential version trained on the item vectors of another encoder than the serving one's is
    not compared: it serves, since it reads the vectors the items carry now.
    """
    serving = ModelVersion.objects.filter(shop=version.shop, family=version.family, is_active=True).exclude(pk=version.pk).first()
    if serving is None or serving.primary_metric is None:
        return ""
    if version.hyperparameters.get("encoder") != serving.hyperparameters.get("encoder"):
        # It learnt from another encoder's item vectors, those the items carry now: the serving version's
        # figure measured vectors that are gone.
        return ""
    name = "cold-start NDCG@10" if version.family == Family.FINETUNED_TEXT else "NDCG@10"
    new, old = version.primary_metric, serving.primary_metric
    if new is None:
        return f"No {name} to compare with serving v{serving.number}: promote by hand"
    margin = settings.VITRINE_PROMOTION_MARGIN
    gain = (new - old) / old if old > 0 else (1.0 if new > 0 else 0.0)
    if gain >= margin:
        return ""
    figures, by, needed = f"{name} {new:.4f} against {old:.4f}", f"{100 * gain:+.1f} %", f"{100 * margin:g} %"
    if gain > 0:
        return f"Better than serving v{serving.number} by {by} ({figures}) — below the {needed} margin: promote by hand"
    if gain == 0:
        return f"As good as serving v{serving.number} ({figures}), not better by the {needed} margin: promote by hand"
    return f"Worse than serving v{serving.number} by {by} ({figures}): promote by hand to serve it all the same"


def version_rollback(*, shop: Shop, family: str) -> ModelVersion:
    """Serve the newest succeeded version older than the one serving now."""
    current = ModelVersion.objects.filter(shop=shop, family=family, is_active=True).first()
    older = ModelVersion.objects.filter(shop=shop, family=family, status=ModelVersion.Status.SUCCEEDED)
    if current is not None:
        older = older.filter(created_at__lt=current.created_at)
    previous = older.order_by("-created_at").first()
    if previous is None:
        raise VersionNotServable(f"No earlier succeeded {family} version to roll back to.")
    return version_promote(version=previous)


def model_load(*, version: ModelVersion) -> LoadedModel:
    """The version's model, loaded once per process; models no longer serving are dropped."""
    loaded = _loaded.get(version.pk)
    if loaded is not None:
        return loaded
    from recommender.ml.registry import load_arrays
    from recommender.ml.trainer import load_model

    directory = Path(version.artifact_path)
    _, index = load_arrays(directory / "index")
    item_pks = index["item_pks"]
    loaded = LoadedModel(
        version_id=version.pk,
        family=version.family,
        model=load_model(version.family, directory / "model"),
        item_pks=item_pks,
        item_index={pk: position for position, pk in enumerate(item_pks.tolist())},
    )
    _loaded_prune(keep=set(ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True)))
    _loaded[version.pk] = loaded
    return loaded


def _loaded_prune(*, keep: set[int]) -> None:
    for version_id in list(_loaded):
        if version_id not in keep:
            del _loaded[version_id]

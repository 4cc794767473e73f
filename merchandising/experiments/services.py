"""Writes to experiments: each one audit-logged; starting, stopping and shipping one change what shoppers are
served, so they replace the shop's rules token and every process reads its running experiments again."""

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import Shop
from homepage.cache import homepage_rules_changed
from recommender.models import Family, ModelVersion
from recommender.services import version_promote

from ..models import Draft
from ..services import audit_record, draft_publish, rule_state
from .assignment import SHARE_TOLERANCE, traffic_offset_free
from .models import Allocation, Experiment, Variant
from .report import rate_counts
from .rollups import experiment_variant_totals
from .stats import thompson_shares

EXPERIMENT_FIELDS = {"hypothesis", "primary_metric", "traffic_share", "bandit", "attribution_window_hours"}


def _experiment_locked(experiment: Experiment) -> Experiment:
    # Every state change of a shop's experiments takes its shop's row first: two starts at once cannot both
    # take the last free traffic, nor a variant be added while its experiment starts.
    Shop.objects.select_for_update().filter(pk=experiment.shop_id).first()
    return Experiment.objects.select_related("shop").get(pk=experiment.pk)


def _logged(experiment: Experiment, *, actor, action: str, before: dict | None, rule=None) -> None:
    row = rule or experiment
    audit_record(shop=experiment.shop, actor=actor, action=action, rule=row, before=before, after=rule_state(row),
                 object_repr=f"{row} ({experiment})" if rule is not None else "")


def experiment_create(*, shop: Shop, actor, name: str, primary_metric: str, **fields) -> Experiment:
    """A draft experiment, with no variants yet; `fields` among EXPERIMENT_FIELDS."""
    unknown = set(fields) - EXPERIMENT_FIELDS
    if unknown:
        raise TypeError(f"Unknown experiment fields: {', '.join(sorted(unknown))}")
    created_by = actor if actor is not None and actor.is_authenticated else None
    experiment = Experiment(shop=shop, name=name, primary_metric=primary_metric, created_by=created_by, **fields)
    experiment.full_clean()
    experiment.save()
    _logged(experiment, actor=actor, action="experiment_create", before=None)
    return experiment


@transaction.atomic
def variant_add(
    *, experiment: Experiment, actor, key: str, name: str, share: float, kind: str,
    draft: Draft | None = None, model_version: ModelVersion | None = None,
) -> Variant:
    """A variant of a draft experiment; `draft` for a draft variant, `model_version` for a model version one."""
    experiment = _experiment_locked(experiment)
    if experiment.status != Experiment.Status.DRAFT:
        raise ValidationError("Variants can only be added before the experiment starts.")
    if draft is not None and draft.shop_id != experiment.shop_id:
        raise ValidationError({"draft": "This draft belongs to another shop."})
    if model_version is not None:
        if model_version.shop_id != experiment.shop_id:
            raise ValidationError({"model_version": "This model version belongs to another shop."})
        if model_version.family == Family.FINETUNED_TEXT:
            # It scores nobody: it changes the catalog's stored vectors, which every page shares.
            raise ValidationError({"model_version": "A fine-tuned encoder cannot serve one variant alone."})
        if model_version.status != ModelVersion.Status.SUCCEEDED:
            raise ValidationError({"model_version": "Only a succeeded model version can serve."})
    if (draft is not None) != (kind == Variant.Kind.DRAFT):
        raise ValidationError({"draft": "A draft variant needs a draft, and only a draft variant names one."})
    if (model_version is not None) != (kind == Variant.Kind.MODEL_VERSION):
        raise ValidationError(
            {"model_version": "A model version variant needs a model version, and only such a variant names one."}
        )
    variant = Variant(experiment=experiment, key=key, name=name, share=share, kind=kind, draft=draft, model_version=model_version)
    variant.full_clean()
    variant.save()
    _logged(experiment, actor=actor, action="variant_add", before=None, rule=variant)
    return variant


def _start_problems(experiment: Experiment, variants: list[Variant]) -> list[str]:
    problems = []
    if experiment.status != Experiment.Status.DRAFT:
        problems.append(f"This experiment is {experiment.status}: only a draft experiment starts.")
    if len(variants) < 2:
        problems.append("An experiment needs at least two variants.")
    controls = sum(variant.kind == Variant.Kind.CONTROL for variant in variants)
    if controls != 1:
        problems.append(f"An experiment needs exactly one control variant, not {controls}.")
    total = sum(variant.share for variant in variants)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        problems.append(f"The variants' shares must sum to 100 %, not {total:.4%}.")
    for variant in variants:
        if variant.kind == Variant.Kind.DRAFT and not variant.draft.is_open:
            problems.append(f"The draft of variant {variant.key} was already published or discarded.")
    return problems


@transaction.atomic
def experiment_start(*, experiment: Experiment, actor) -> Experiment:
    """Start serving the variants, on a slice of the shop's traffic that no other running experiment holds."""
    experiment = _experiment_locked(experiment)
    variants = list(experiment.variants.select_related("draft").order_by("pk"))
    problems = _start_problems(experiment, variants)
    running = Experiment.objects.filter(shop=experiment.shop, status=Experiment.Status.RUNNING)
    taken = list(running.values_list("traffic_offset", "traffic_share"))
    offset = traffic_offset_free(taken=taken, share=experiment.traffic_share)
    if offset is None:
        free = 1.0 - sum(share for _, share in taken)
        problems.append(
            f"This experiment needs {experiment.traffic_share:.0%} of the traffic; the running experiments leave "
            f"{max(free, 0.0):.0%} free, {'and not in one piece' if free >= experiment.traffic_share else 'too little'}."
        )
    if problems:
        raise ValidationError(problems)
    before = rule_state(experiment)
    experiment.status, experiment.started_at, experiment.traffic_offset = Experiment.Status.RUNNING, timezone.now(), offset
    experiment.save(update_fields=["status", "started_at", "traffic_offset"])
    Allocation.objects.create(
        experiment=experiment, since=experiment.started_at, shares={variant.key: variant.share for variant in variants}
    )
    _logged(experiment, actor=actor, action="experiment_start", before=before)
    homepage_rules_changed(shop=experiment.shop)
    return experiment


def _ended(experiment: Experiment, *, actor, action: str, status: str, shipped: Variant | None = None) -> Experiment:
    before = rule_state(experiment)
    was_running = experiment.status == Experiment.Status.RUNNING
    experiment.status, experiment.shipped_variant = status, shipped
    experiment.ended_at = experiment.ended_at or timezone.now()
    experiment.save(update_fields=["status", "ended_at", "shipped_variant"])
    _logged(experiment, actor=actor, action=action, before=before)
    if was_running:
        homepage_rules_changed(shop=experiment.shop)
    return experiment


@transaction.atomic
def experiment_stop(*, experiment: Experiment, actor) -> Experiment:
    """Every shopper of the experiment is served the live page again."""
    experiment = _experiment_locked(experiment)
    if experiment.status != Experiment.Status.RUNNING:
        raise ValidationError(f"This experiment is {experiment.status}: only a running experiment stops.")
    return _ended(experiment, actor=actor, action="experiment_stop", status=Experiment.Status.STOPPED)


@transaction.atomic
def experiment_ship(*, experiment: Experiment, actor, variant: Variant) -> Experiment:
    """End the experiment and make `variant` what every shopper is served: its draft published, its model
    version promoted. Shipping control or a holdout turns nothing on: the experiment only ends."""
    experiment = _experiment_locked(experiment)
    if experiment.status not in (Experiment.Status.RUNNING, Experiment.Status.STOPPED):
        raise ValidationError(f"This experiment is {experiment.status}: only a running or stopped experiment ships.")
    if variant.experiment_id != experiment.pk:
        raise ValidationError({"variant": "This variant belongs to another experiment."})
    if variant.kind == Variant.Kind.DRAFT:
        draft_publish(draft=variant.draft, actor=actor)
    elif variant.kind == Variant.Kind.MODEL_VERSION:
        version_promote(version=variant.model_version)
    return _ended(experiment, actor=actor, action="experiment_ship", status=Experiment.Status.SHIPPED, shipped=variant)


@transaction.atomic
def experiment_against_control_create(
    *, shop: Shop, actor, name: str, primary_metric: str, challenger_kind: str, challenger_share: float,
    draft: Draft | None = None, model_version: ModelVersion | None = None, **fields,
) -> Experiment:
    """A draft experiment of control (the live page) against one challenger: a draft's rules, a model version,
    or the page without personalization. `challenger_share` of its shoppers see the challenger."""
    experiment = experiment_create(shop=shop, actor=actor, name=name, primary_metric=primary_metric, **fields)
    variant_add(experiment=experiment, actor=actor, key="control", name="Control", share=1.0 - challenger_share,
                kind=Variant.Kind.CONTROL)
    variant_add(
        experiment=experiment, actor=actor, key="b", name=f"B: {_challenger_name(challenger_kind, draft, model_version)}",
        share=challenger_share, kind=challenger_kind, draft=draft, model_version=model_version,
    )
    return experiment


def _challenger_name(kind: str, draft: Draft | None, model_version: ModelVersion | None) -> str:
    if draft is not None:
        return f"draft #{draft.pk} of {draft.author}"
    if model_version is not None:
        return model_version.label
    return Variant.Kind(kind).label


def _bandit_floor(arms: int) -> float:
    return min(settings.VITRINE_BANDIT_FLOOR, 1.0 / arms)


@transaction.atomic
def bandit_reallocate(*, experiment: Experiment) -> Allocation | None:
    """Move a running bandit experiment's traffic toward the variants likelier to be best on its primary metric
    (Thompson sampling), each keeping the floor share; None while any variant has fewer trials than
    VITRINE_BANDIT_MIN_TRIALS, or when the experiment is not a running bandit one. Its shoppers are served
    the new shares from their next page; the events before it stay counted under the shares of their time."""
    experiment = _experiment_locked(experiment)
    if experiment.status != Experiment.Status.RUNNING or not experiment.bandit:
        return None
    variants = list(experiment.variants.order_by("pk"))
    counts = {
        variant.key: rate_counts(experiment.primary_metric, totals)
        for variant, totals in zip(variants, experiment_variant_totals(experiment=experiment), strict=True)
    }
    if any(one.trials < settings.VITRINE_BANDIT_MIN_TRIALS for one in counts.values()):
        return None
    now = timezone.now()
    # Seeded by the experiment and the hour: a retried run draws the same shares.
    rng = np.random.default_rng([experiment.pk, int(now.timestamp() // 3600)])
    shares = thompson_shares(counts, floor=_bandit_floor(len(variants)), rng=rng)
    allocation = Allocation.objects.create(experiment=experiment, since=now, shares=shares)
    homepage_rules_changed(shop=experiment.shop)
    return allocation


def bandits_reallocate() -> int:
    """Reallocate every running bandit experiment of every shop; how many moved."""
    running = Experiment.objects.filter(status=Experiment.Status.RUNNING, bandit=True).order_by("pk")
    return sum(bandit_reallocate(experiment=experiment) is not None for experiment in running)

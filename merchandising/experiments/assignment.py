"""Which experiment and variant a shopper is served: sticky and stateless.

A shopper's place is a pure function of the shop, the experiment and their storefront id, through SHA-256:
the same id lands in the same variant in every process and on every request, a shopper never seen before
is placed exactly like a known one, and nothing is written to serve a page. One draw of (shop, shopper)
picks the experiment whose slice of traffic holds it, or none; a second draw of (shop, experiment,
shopper), independent of the first, picks the variant by the variants' cumulative shares.

The running experiments of a shop are read once per process and rules token: starting or stopping one
replaces the token, so every process reads them again.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from catalog.models import Shop
from homepage.cache import ProcessCopies, rules_token
from homepage.rulebook import Rulebook, rulebook

from ..services.drafts import DraftConflict, draft_applied
from .models import Allocation, Experiment, Variant

logger = logging.getLogger(__name__)

TRAFFIC_SALT = "traffic"
# Shares are floats: a sum within this of 1 is 1, and a gap this much short of a slice still fits it.
SHARE_TOLERANCE = 1e-9


def unit_draw(*, shop_id: int, salt: int | str, shopper_external_id: str) -> float:
    """A number in [0, 1), uniform over shoppers, fixed for this shop, salt and shopper."""
    # The shop and salt are integers or a fixed word, so the id, last, cannot make two inputs collide.
    digest = hashlib.sha256(f"{shop_id}:{salt}:{shopper_external_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def share_pick(draw: float, shares: Sequence[float]) -> int:
    """The index whose cumulative range of `shares` (summing to 1) holds `draw`."""
    total = 0.0
    for index, share in enumerate(shares):
        total += share
        if draw < total:
            return index
    # Shares summing to a hair under 1 leave a sliver at the top: it belongs to the last arm with traffic.
    return max(index for index, share in enumerate(shares) if share > 0)


@dataclass(frozen=True)
class TrafficSlice:
    """A running experiment's part of the shop's traffic, and its variants' shares in order."""

    experiment_id: int
    offset: float
    share: float
    variant_shares: tuple[float, ...]

    def holds(self, draw: float) -> bool:
        return self.offset <= draw < self.offset + self.share


def assign(*, shop_id: int, shopper_external_id: str, slices: Sequence[TrafficSlice]) -> tuple[int, int] | None:
    """(experiment id, index of the variant) for this shopper, or None when no slice holds them."""
    draw = unit_draw(shop_id=shop_id, salt=TRAFFIC_SALT, shopper_external_id=shopper_external_id)
    for traffic_slice in slices:
        if traffic_slice.holds(draw):
            variant_draw = unit_draw(shop_id=shop_id, salt=traffic_slice.experiment_id, shopper_external_id=shopper_external_id)
            return traffic_slice.experiment_id, share_pick(variant_draw, traffic_slice.variant_shares)
    return None


def traffic_offset_free(*, taken: Sequence[tuple[float, float]], share: float) -> float | None:
    """Where a slice of `share` fits among the (offset, share) slices taken: the lowest free start, or None."""
    start = 0.0
    for offset, width in sorted(taken):
        if offset - start >= share - SHARE_TOLERANCE:
            return start
        start = max(start, offset + width)
    return start if 1.0 - start >= share - SHARE_TOLERANCE else None


def variant_shares(variants: Sequence[Variant], allocation: Allocation | None) -> tuple[float, ...]:
    """The variants' shares (in their order) under an allocation, or as set when it has none yet."""
    if allocation is None:
        return tuple(variant.share for variant in variants)
    return tuple(float(allocation.shares.get(variant.key, 0.0)) for variant in variants)


def allocations_latest(experiments: Sequence[Experiment]) -> dict[int, Allocation]:
    """Each experiment's allocation in force now, by experiment id (none for one that never had any)."""
    latest = Allocation.objects.filter(experiment__in=experiments).order_by("experiment_id", "-since").distinct("experiment_id")
    return {allocation.experiment_id: allocation for allocation in latest}


class Arm:
    """One variant of one running experiment, as this process serves it."""

    def __init__(self, experiment: Experiment, variant: Variant):
        self.experiment = experiment
        self.variant = variant

    @property
    def cache_label(self) -> str:
        """Part of the key and stamp of the pages composed for this arm."""
        return f"{self.experiment.pk}-{self.variant.pk}"

    @property
    def personalized(self) -> bool:
        return self.variant.kind != Variant.Kind.HOLDOUT

    @cached_property
    def rules(self) -> Rulebook | None:
        """A draft variant's rules, replayed once per process and rules token; None: the live rules serve."""
        if self.variant.kind != Variant.Kind.DRAFT:
            return None
        try:
            with draft_applied(draft=self.variant.draft):
                return rulebook(shop=self.experiment.shop)
        except DraftConflict:
            # Its variant then shows the live page: what it would compare no longer exists.
            logger.warning("Shop %s: experiment #%s, variant %s: its draft no longer applies; serving the live rules",
                           self.experiment.shop.slug, self.experiment.pk, self.variant.key, exc_info=True)
            return None


@dataclass(frozen=True)
class RunningExperiments:
    slices: tuple[TrafficSlice, ...]
    arms: dict[int, tuple[Arm, ...]]  # by experiment id, in the order of its slice's shares


def _running_read(shop: Shop) -> RunningExperiments:
    experiments = list(Experiment.objects.filter(shop=shop, status=Experiment.Status.RUNNING).order_by("traffic_offset", "pk"))
    # A model version's training records (metrics, curves) are not needed to serve it.
    unread = ("metrics", "history", "hyperparameters", "data_window", "counts", "error")
    variants = (
        Variant.objects.filter(experiment__in=experiments)
        .select_related("draft", "model_version")
        .defer(*(f"model_version__{name}" for name in unread))
        .order_by("pk")
    )
    by_experiment: dict[int, list[Variant]] = {experiment.pk: [] for experiment in experiments}
    for variant in variants:
        by_experiment[variant.experiment_id].append(variant)
    allocations = allocations_latest(experiments)
    arms, slices = {}, []
    for experiment in experiments:
        experiment.shop = shop
        for variant in by_experiment[experiment.pk]:
            if variant.draft is not None:
                variant.draft.shop = shop
        arms[experiment.pk] = tuple(Arm(experiment, variant) for variant in by_experiment[experiment.pk])
        slices.append(TrafficSlice(
            experiment_id=experiment.pk, offset=experiment.traffic_offset, share=experiment.traffic_share,
            variant_shares=variant_shares(by_experiment[experiment.pk], allocations.get(experiment.pk)),
        ))
    return RunningExperiments(slices=tuple(slices), arms=arms)


_running = ProcessCopies()


def running_experiments(*, shop: Shop, token: str | None = None) -> RunningExperiments:
    """The shop's running experiments as of its rules token (`token` when the caller has read it)."""
    token = rules_token(shop=shop) if token is None else token
    return _running.get(shop, token, lambda: _running_read(shop))


def variant_arm(*, shop: Shop, variant_pk: int) -> Arm | None:
    """The arm of a variant of one of the shop's running experiments, as its shoppers are served it; None when
    no running experiment of the shop has that variant."""
    arms = (arm for experiment_arms in running_experiments(shop=shop).arms.values() for arm in experiment_arms)
    return next((arm for arm in arms if arm.variant.pk == variant_pk), None)


def shopper_arm(*, shop: Shop, shopper_external_id: str, token: str | None = None) -> Arm | None:
    """The experiment arm this shopper is served, or None when they are in no running experiment."""
    running = running_experiments(shop=shop, token=token)
    if not running.slices:
        return None
    found = assign(shop_id=shop.pk, shopper_external_id=shopper_external_id, slices=running.slices)
    if found is None:
        return None
    experiment_id, index = found
    return running.arms[experiment_id][index]

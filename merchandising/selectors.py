from collections import Counter
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.text import slugify

from catalog.bounds import event_window
from catalog.models import CATEGORY_SEPARATOR, Event, EventHour, Item, RailHour, Shop, Shopper
from homepage.rulebook import rulebook, rulebook_substituted
from homepage.services import Page, PageItem, PageRail, homepage_compose, rail_compose, shoppers_recently_active
from homepage.services.compose import PLACEHOLDER
from homepage.services.context import page_context_build
from recommender.models import ModelVersion, ShopperProfile

from .models import Adjustment, AdjustmentTarget, AuditEntry, Block, Campaign, Draft, Pin, Rail, RailKind

MERCHANDISER_GROUP = "merchandiser"
ITEM_SEARCH_LIMIT = 12


def user_can_enter_console(user) -> bool:
    return user.is_active and (user.is_staff or user.groups.filter(name=MERCHANDISER_GROUP).exists())


def shops_for_user(user) -> QuerySet[Shop]:
    if user.is_superuser:
        return Shop.objects.all()
    return Shop.objects.filter(memberships__user=user)


def shop_counts(*, shop: Shop) -> dict[str, int]:
    return {
        "items": Item.objects.filter(shop=shop).count(),
        "shoppers": Shopper.objects.filter(shop=shop).count(),
        "events": EventHour.objects.filter(shop=shop).aggregate(total=Sum("events"))["total"] or 0,
    }


def open_draft(*, shop: Shop, user) -> Draft | None:
    return Draft.objects.filter(shop=shop, author=user, published_at=None, discarded_at=None).first()


def items_search(*, shop: Shop, query: str, limit: int = ITEM_SEARCH_LIMIT) -> list[Item]:
    """Items whose id is the query or whose title holds every word of it; exact ids first."""
    query = query.replace("\x00", "").strip()  # PostgreSQL text holds no NUL; nothing could match one
    if not query:
        return []
    exact = list(Item.objects.filter(shop=shop, external_id=query)[:1])
    titled = Item.objects.filter(shop=shop).exclude(external_id=query)
    for word in query.split()[:6]:
        titled = titled.filter(title__icontains=word)
    return exact + list(titled.order_by("-interaction_count", "pk")[: limit - len(exact)])


def audit_entries(
    *, shop: Shop, action: str = "", user_id: int | None = None, object_type: str = "", since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """The shop's log, newest first, narrowed to a user, a kind of object and the days from `since` to
    `until` (both included, in UTC)."""
    entries = AuditEntry.objects.filter(shop=shop).select_related("user")
    if action:
        entries = entries.filter(Q(action=action) | Q(action__startswith=f"{action}_"))
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if since is not None:
        entries = entries.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until is not None:
        entries = entries.filter(created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    return entries


def audit_filter_choices(*, shop: Shop) -> tuple[list[tuple[int, str]], list[str]]:
    """Who appears in the shop's log (id, username) and the kinds of object it names."""
    entries = AuditEntry.objects.filter(shop=shop)
    users = entries.filter(user__isnull=False).values_list("user_id", "user__username").distinct().order_by("user__username")
    types = entries.exclude(object_type="").values_list("object_type", flat=True).distinct().order_by("object_type")
    return list(users), list(types)


SHOPPER_SEARCH_LIMIT = 10


def shoppers_search(*, shop: Shop, query: str, limit: int = SHOPPER_SEARCH_LIMIT) -> QuerySet[Shopper]:
    """The shop's shoppers whose id starts with the query, those with the most events first."""
    query = query.replace("\x00", "").strip()
    shoppers = Shopper.objects.filter(shop=shop, external_id__startswith=query) if query else Shopper.objects.filter(shop=shop)
    return shoppers.annotate(activity=Count("events")).order_by("-activity", "external_id")[:limit]


def shopper_events_recent(*, shopper: Shopper, limit: int = 20) -> QuerySet[Event]:
    # Outside catalog.bounds' window an occurred_at may be one Python cannot read.
    events = Event.objects.filter(shopper=shopper, occurred_at__range=event_window())
    return events.select_related("item").order_by("-occurred_at", "-pk")[:limit]


def shopper_tags(*, shopper: Shopper) -> dict[str, list[str]]:
    """The shopper's interest tags, categories then brands then keywords; empty before the profile is first built."""
    tags = ShopperProfile.objects.filter(shopper=shopper).values_list("tags", flat=True).first() or {}
    return {kind: tags[kind] for kind in ("categories", "brands", "keywords") if tags.get(kind)}


@dataclass
class ItemMarks:
    entry: PageItem
    change: str = ""  # "new" in this rail, or "up" / "down" `by` slots
    by: int = 0


@dataclass
class RailMarks:
    rail: PageRail
    items: list[ItemMarks]
    change: str = ""  # "new" on the page, or "up" / "down" `by` places among the rails both pages show
    by: int = 0
    title_before: str = ""  # set when the title differs
    gone: list[PageItem] = field(default_factory=list)


@dataclass
class PageMarks:
    rails: list[RailMarks]
    removed: list[PageRail] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed) or any(
            rail.change or rail.title_before or rail.gone or any(item.change for item in rail.items) for rail in self.rails
        )


def _shift(before: int | None, after: int) -> tuple[str, int]:
    if before is None:
        return "new", 0
    if before == after:
        return "", 0
    return ("up", before - after) if before > after else ("down", after - before)


def page_marks(*, page: Page, before: Page | None = None) -> PageMarks:
    """The page's rails and items, each marked with how it differs from `before`: rails added, removed,
    reordered or retitled, items new in a rail, gone from it, or moved up or down. Without `before`,
    nothing is marked."""
    if before is None:
        return PageMarks(rails=[RailMarks(rail=rail, items=[ItemMarks(entry) for entry in rail.items]) for rail in page.rails])
    earlier = {rail.key: rail for rail in before.rails}
    shown = {rail.key for rail in page.rails}
    order_before = [rail.key for rail in before.rails if rail.key in shown]
    order_after = [rail.key for rail in page.rails if rail.key in earlier]
    rails = []
    for rail in page.rails:
        old = earlier.get(rail.key)
        if old is None:
            rails.append(RailMarks(rail=rail, items=[ItemMarks(entry) for entry in rail.items], change="new"))
            continue
        slots = {entry.item.pk: entry.slot for entry in old.items}
        kept = {entry.item.pk for entry in rail.items}
        change, by = _shift(order_before.index(rail.key), order_after.index(rail.key))
        rails.append(
            RailMarks(
                rail=rail,
                items=[ItemMarks(entry, *_shift(slots.get(entry.item.pk), entry.slot)) for entry in rail.items],
                change=change,
                by=by,
                title_before=old.title if old.title != rail.title else "",
                gone=[entry for entry in old.items if entry.item.pk not in kept],
            )
        )
    return PageMarks(rails=rails, removed=[rail for rail in before.rails if rail.key not in shown])


# Overview and Models pages

VERSION_HISTORY = 30


@dataclass(frozen=True)
class DayEvents:
    day: date
    counts: dict[str, int]  # by event type; types with no event are left out


def _day_hours(days: int, until: datetime) -> tuple[list[date], dict]:
    """The `days` days (in the current time zone) ending with the day of `until`, and the filter of their hours."""
    last_day = timezone.localdate(until)
    first_day = last_day - timedelta(days=days - 1)
    zone = timezone.get_current_timezone()
    hours = {
        "hour__gte": datetime.combine(first_day, time.min, tzinfo=zone),
        "hour__lt": datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone),
    }
    return [first_day + timedelta(days=offset) for offset in range(days)], hours


def events_per_day(*, shop: Shop, days: int, until: datetime) -> list[DayEvents]:
    """The shop's events of each type per day (in the current time zone), for the `days` days ending
    with the day of `until`; days without events are listed too. Read from the hourly rollups (catalog.rollups)."""
    listed, hours = _day_hours(days, until)
    rows = (
        EventHour.objects.filter(shop=shop, **hours)
        .annotate(day=TruncDate("hour"))
        .values("day", "type")
        .annotate(count=Sum("events"))
        .order_by()
    )
    counts = {day: {} for day in listed}
    for row in rows:
        counts[row["day"]][row["type"]] = row["count"]
    return [DayEvents(day=day, counts=by_type) for day, by_type in counts.items()]


@dataclass(frozen=True)
class DayOutcomes:
    """What the shop's homepages brought in one day: pages served, items shown, and the clicks and purchases
    sent back from them."""

    day: date
    pages: int = 0
    impressions: int = 0
    clicks: int = 0
    purchases: int = 0

    @property
    def click_through(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def conversion(self) -> float | None:
        """Purchases from a rail per page served."""
        return self.purchases / self.pages if self.pages else None


def outcomes_per_day(*, shop: Shop, days: int, until: datetime) -> list[DayOutcomes]:
    """The shop's homepage outcomes per day (in the current time zone), as events_per_day, from the rail rollups."""
    listed, hours = _day_hours(days, until)
    rows = (
        RailHour.objects.filter(shop=shop, **hours)
        .annotate(day=TruncDate("hour"))
        .values("day")
        .annotate(pages=Sum("pages", filter=Q(rail="")), impressions=Sum("impressions"), clicks=Sum("clicks"),
                  purchases=Sum("purchases"))
        .order_by()
    )
    found = {row["day"]: row for row in rows}
    return [
        DayOutcomes(day=day, **{name: found[day][name] or 0 for name in ("pages", "impressions", "clicks", "purchases")})
        if day in found else DayOutcomes(day=day)
        for day in listed
    ]


# The changes marked on the overview's time axis, by kind: the audit actions that make each.
MARKED_ACTIONS = {
    "publish": ("draft_publish",),
    "promotion": ("model_promote", "model_rollback"),
    "experiment": ("experiment_start",),
}


@dataclass(frozen=True)
class MarkedChange:
    kind: str  # a key of MARKED_ACTIONS
    day: date  # in the current time zone
    entry: AuditEntry


def marked_changes(*, shop: Shop, days: int, until: datetime) -> list[MarkedChange]:
    """The shop's rule publishes, model promotions and experiment starts in the days events_per_day lists, oldest first."""
    listed, _ = _day_hours(days, until)
    kinds = {action: kind for kind, actions in MARKED_ACTIONS.items() for action in actions}
    since = datetime.combine(listed[0], time.min, tzinfo=timezone.get_current_timezone())
    entries = (
        AuditEntry.objects.filter(shop=shop, action__in=kinds, created_at__gte=since, created_at__lte=until)
        .select_related("user").order_by("created_at", "pk")
    )
    return [MarkedChange(kind=kinds[entry.action], day=timezone.localdate(entry.created_at), entry=entry) for entry in entries]


def rail_titles(*, shop: Shop) -> dict[str, str]:
    return dict(Rail.objects.filter(shop=shop).values_list("key", "title"))


def model_versions(*, shop: Shop, family: str, limit: int = VERSION_HISTORY) -> list[ModelVersion]:
    """The family's latest versions, oldest first: the order they are charted in."""
    newest = ModelVersion.objects.filter(shop=shop, family=family).defer("history").order_by("-created_at", "-pk")[:limit]
    return list(reversed(newest))


def model_version(*, shop: Shop, pk: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(shop=shop, pk=pk).first()


def model_version_latest(*, shop: Shop, family: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(shop=shop, family=family).defer("history").order_by("-created_at", "-pk").first()


# Rails and Pins pages

PINS_ENDED_SHOWN_DAYS = 30
T = TypeVar("T")


def rules_read(*, draft: Draft | None, read: Callable[[], T]) -> T:
    """What `read` returns from the rules as the open draft would leave them; from the live rules without
    a draft, or when the draft no longer applies (the preview names the conflict)."""
    if draft is None:
        return read()
    from .services import DraftConflict, draft_applied  # the services read this module: imported late

    try:
        with draft_applied(draft=draft):
            return read()
    except DraftConflict:
        return read()


def console_rails(*, shop: Shop) -> list[Rail]:
    """Every rail of the shop, disabled ones too, in page order."""
    return list(Rail.objects.filter(shop=shop).select_related("campaign").order_by("position", "pk"))


def shopper_find(*, shop: Shop, external_id: str) -> Shopper | None:
    return Shopper.objects.filter(shop=shop, external_id=external_id).first()


@dataclass
class RailPreview:
    rail: PageRail | None  # None: the rail shows nothing to this shopper
    distinct_categories: int
    mean_relevance: float  # the blended (and boosted) score of the shown items, pins counting 1

    @property
    def items(self) -> list[PageItem]:
        return self.rail.items if self.rail else []


def rail_preview(
    *, shop: Shop, rail: Rail, shopper: Shopper | None, diversity: float, max_per_category: int | None,
    max_per_brand: int | None,
) -> RailPreview:
    """The rail as the shopper would get it (alone, at the top of the page) with another λ and caps, on a
    copy of the rail: nothing is saved."""
    trial = copy(rail)
    trial.diversity, trial.max_per_category, trial.max_per_brand = diversity, max_per_category, max_per_brand
    context = page_context_build(shop=shop, shopper=shopper, now=timezone.now(), exclude=set(), debug=True)
    composed = rail_compose(context, trial, size=trial.size, reserved=set())
    items = composed.items if composed else []
    return RailPreview(
        rail=composed,
        distinct_categories=len({entry.item.category_path for entry in items}),
        mean_relevance=sum(entry.explanation["relevance"] for entry in items) / len(items) if items else 0.0,
    )


def pins_listed(*, shop: Shop, now: datetime) -> list[Pin]:
    """The shop's live and scheduled pins, and those ended lately, by rail in page order then slot."""
    recent = Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(days=PINS_ENDED_SHOWN_DAYS))
    pins = Pin.objects.filter(recent, rail__shop=shop).select_related("rail", "item", "campaign")
    return list(pins.order_by("rail__position", "rail__pk", "slot", "starts_at", "pk"))


def rule_status(*, rule: Pin | Adjustment | Block, at: datetime) -> str:
    """live, scheduled (its start or its campaign's is ahead) or ended (its end or its campaign's is past)."""
    if rule.is_live(at):
        return "live"
    ends = [rule.ends_at, rule.campaign.ends_at if rule.campaign else None]
    return "ended" if any(end is not None and end <= at for end in ends) else "scheduled"


# Boosts, buries, blocks and Campaigns pages

RULE_KINDS: dict[str, type[Adjustment] | type[Block]] = {"adjustment": Adjustment, "block": Block}
RULES_ENDED_SHOWN_DAYS = 30
STATUS_ORDER = {"live": 0, "scheduled": 1, "ended": 2}
TARGET_VALUES_LIMIT = 1000


@dataclass
class RuleRow:
    rule: Adjustment | Block
    kind: str  # "adjustment" or "block", as the row's URLs name it
    status: str
    drafted: bool = False  # made by the open draft: not live yet, and changed through the draft, not the row
    items_matched: int = 0

    @property
    def impact_shown(self) -> bool:
        """Whether the row offers its sampled pages: a rule ended changes none, and one the draft made has
        no lasting id to ask by (each preview replays it anew)."""
        return self.status != "ended" and not self.drafted


def _items_of(rule: Adjustment | Block) -> QuerySet[Item]:
    items = Item.objects.filter(shop=rule.shop)
    if rule.item_id is not None:
        return items.filter(pk=rule.item_id)
    if rule.category:
        # As Item.in_category: a category names a node of the tree, "Makeup" holds "Makeup > Lips".
        return items.filter(Q(category_path=rule.category) | Q(category_path__startswith=rule.category + CATEGORY_SEPARATOR))
    if rule.brand:
        return items.filter(brand=rule.brand)
    return items.filter(**{f"attributes__{rule.attribute_key}__isnull": False})


def rule_items_matched(*, rule: Adjustment | Block) -> int:
    """How many of the shop's items the rule matches now, available or not."""
    if isinstance(rule, Adjustment) and rule.target == AdjustmentTarget.ATTRIBUTE:
        # Matched as the page matches them, on the value's text: 250 and "250" alike.
        values = _items_of(rule).values_list(f"attributes__{rule.attribute_key}", flat=True)
        return sum(1 for value in values.iterator() if str(value) == rule.attribute_value)
    return _items_of(rule).count()


def rule_get(*, shop: Shop, kind: str, pk: int) -> Adjustment | Block | None:
    model = RULE_KINDS.get(kind)
    return model.objects.filter(shop=shop, pk=pk).select_related("item", "campaign").first() if model else None


def rules_listed(
    *, shop: Shop, draft: Draft | None, now: datetime, campaign: Campaign | None = None
) -> dict[str, list[RuleRow]]:
    """The shop's boosts and buries, and its blocks (a campaign's alone when one is named), as the open
    draft would leave them: live first, then scheduled, then those ended in the last days."""
    live_pks = {kind: set(model.objects.filter(shop=shop).values_list("pk", flat=True)) for kind, model in RULE_KINDS.items()}
    recent = Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(days=RULES_ENDED_SHOWN_DAYS))

    def read() -> dict[str, list[RuleRow]]:
        listed = {}
        for kind, model in RULE_KINDS.items():
            rules = model.objects.filter(recent, shop=shop).select_related("item", "campaign")
            if campaign is not None:
                rules = rules.filter(campaign=campaign)
            rows = [
                RuleRow(
                    rule=rule, kind=kind, status=rule_status(rule=rule, at=now), drafted=rule.pk not in live_pks[kind],
                    items_matched=rule_items_matched(rule=rule),
                )
                for rule in rules
            ]
            listed[kind] = sorted(rows, key=lambda row: STATUS_ORDER[row.status])  # stable: newest first within
        return listed

    return rules_read(draft=draft, read=read)


def rule_row(*, rule: Adjustment | Block, draft: Draft | None, now: datetime) -> RuleRow | None:
    """A live rule's row as the open draft would leave it; None when the draft deletes it."""
    kind = rule._meta.model_name

    def read() -> RuleRow | None:
        found = rule_get(shop=rule.shop, kind=kind, pk=rule.pk)
        if found is None:
            return None
        return RuleRow(rule=found, kind=kind, status=rule_status(rule=found, at=now), items_matched=rule_items_matched(rule=found))

    return rules_read(draft=draft, read=read)


RULE_IMPACT_SAMPLE = 20


@dataclass(frozen=True)
class RailEmptied:
    title: str  # placeholders shown as "…": each shopper's page fills them in its own way
    shoppers: int


@dataclass(frozen=True)
class RuleImpact:
    sampled: int  # shoppers whose pages were composed, the most recently active first
    changed: int  # of them, those whose page differs with the rule from the page without it
    emptied: list[RailEmptied]  # rails that show items without the rule and nothing with it


def _page_shown(page: Page) -> dict[str, list[int]]:
    return {rail.key: [entry.item.pk for entry in rail.items] for rail in page.rails}


def rule_impact(
    *, rule: Adjustment | Block, draft: Draft | None, now: datetime, sample: int = RULE_IMPACT_SAMPLE
) -> RuleImpact | None:
    """The homepages of up to `sample` recently active shoppers composed with the rule and without it, from the
    rules as the open draft would leave them, at the rule's start if that is ahead; None when the draft deletes
    the rule. Nothing is saved: the page without the rule is composed from a copy of the rules that lacks it."""
    shop = rule.shop
    shoppers = shoppers_recently_active(shop=shop, days=settings.VITRINE_PRECOMPUTE_DAYS, limit=sample)

    def read() -> RuleImpact | None:
        found = rule_get(shop=shop, kind=rule._meta.model_name, pk=rule.pk)
        if found is None:
            return None
        at, rules = max(now, found.starts_at), rulebook(shop=shop)
        others = {
            "adjustments": [other for other in rules.adjustments if not (isinstance(rule, Adjustment) and other.pk == rule.pk)],
            "blocks": [other for other in rules.blocks if not (isinstance(rule, Block) and other.pk == rule.pk)],
        }
        without_rule = replace(rules, **others)
        titles = {rail.key: PLACEHOLDER.sub("…", rail.title) for rail in rules.rails}
        changed, emptied = 0, Counter()
        for shopper in shoppers:
            shown = _page_shown(homepage_compose(shop=shop, shopper=shopper, now=at))
            with rulebook_substituted(shop=shop, rules=without_rule):
                shown_before = _page_shown(homepage_compose(shop=shop, shopper=shopper, now=at))
            changed += shown != shown_before
            emptied.update(key for key, items in shown_before.items() if items and not shown.get(key))
        return RuleImpact(
            sampled=len(shoppers),
            changed=changed,
            emptied=[RailEmptied(title=titles.get(key, key), shoppers=count) for key, count in emptied.most_common()],
        )

    return rules_read(draft=draft, read=read)


def catalog_categories(*, shop: Shop, limit: int = TARGET_VALUES_LIMIT) -> list[str]:
    """The category nodes of the shop's catalog (each path and the paths above it), for rule targets."""
    paths = (
        Item.objects.filter(shop=shop).exclude(category_path="").order_by("category_path")
        .values_list("category_path", flat=True).distinct()[:limit]
    )
    nodes = set()
    for path in paths:
        parts = path.split(CATEGORY_SEPARATOR)
        nodes.update(CATEGORY_SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return sorted(nodes)


def catalog_brands(*, shop: Shop, limit: int = TARGET_VALUES_LIMIT) -> list[str]:
    return list(Item.objects.filter(shop=shop).exclude(brand="").order_by("brand").values_list("brand", flat=True).distinct()[:limit])


def campaign_status(*, campaign: Campaign, at: datetime) -> str:
    if campaign.is_live(at):
        return "live"
    return "scheduled" if at < campaign.starts_at else "ended"


def campaigns_listed(*, shop: Shop, draft: Draft | None) -> list[Campaign]:
    """The shop's campaigns, latest start first, each with its rule counts as the open draft would leave them."""
    campaigns = Campaign.objects.filter(shop=shop).annotate(
        pin_count=Count("pins", distinct=True),
        adjustment_count=Count("adjustments", distinct=True),
        block_count=Count("blocks", distinct=True),
    )
    return rules_read(draft=draft, read=lambda: list(campaigns.order_by("-starts_at", "pk")))


def campaign_get(*, shop: Shop, pk: int) -> Campaign | None:
    return Campaign.objects.filter(shop=shop, pk=pk).first()


def campaign_rails(*, campaign: Campaign, draft: Draft | None) -> list[Rail]:
    """The campaign's own banner rails, as the open draft would leave them."""
    rails = Rail.objects.filter(shop=campaign.shop, campaign=campaign, kind=RailKind.CAMPAIGN).order_by("position", "pk")
    return rules_read(draft=draft, read=lambda: list(rails))


def campaign_pins(*, campaign: Campaign, draft: Draft | None) -> list[Pin]:
    pins = Pin.objects.filter(campaign=campaign, rail__shop=campaign.shop).select_related("rail", "item")
    return rules_read(draft=draft, read=lambda: list(pins.order_by("rail__position", "slot", "pk")))


def rail_key_free(*, shop: Shop, name: str) -> str:
    """A rail key made from a name (slugified), with -2, -3… where the shop already uses it."""
    base = slugify(name)[:56].strip("-") or "campaign"
    taken = set(Rail.objects.filter(shop=shop, key__startswith=base).values_list("key", flat=True))
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key

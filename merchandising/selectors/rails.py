"""The Rails and Pins pages, and the rules every homepage is composed from."""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils.text import slugify

from catalog.models import Shop
from homepage.rules import RuleRows

from ..models import Adjustment, Block, Campaign, Pin, Rail

PINS_ENDED_SHOWN_DAYS = 30


def console_rails(*, shop: Shop) -> list[Rail]:
    """Every rail of the shop, disabled ones too, in page order."""
    return list(Rail.objects.filter(shop=shop).select_related("campaign").order_by("position", "pk"))


def pins_listed(*, shop: Shop, now: datetime) -> list[Pin]:
    """The shop's live and scheduled pins, and those ended lately, by rail in page order then slot."""
    recent = Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(days=PINS_ENDED_SHOWN_DAYS))
    pins = Pin.objects.filter(recent, rail__shop=shop).select_related("rail", "item", "campaign")
    return list(pins.order_by("rail__position", "rail__pk", "slot", "starts_at", "pk"))


def rail_key_free(*, shop: Shop, name: str) -> str:
    """A rail key made from a name (slugified), with -2, -3… where the shop already uses it."""
    base = slugify(name)[:56].strip("-") or "campaign"
    taken = set(Rail.objects.filter(shop=shop, key__startswith=base).values_list("key", flat=True))
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key


def page_rules_read(*, shop: Shop) -> RuleRows:
    """The shop's rules as the homepage reads them (homepage.rules): every rail in page order, each rule with
    its campaign, and each pin with its item."""
    campaigns = list(Campaign.objects.filter(shop=shop))
    by_pk = {campaign.pk: campaign for campaign in campaigns}

    def with_campaigns(rules):
        # One copy of each campaign for every rule of it, instead of a join per kind of rule.
        for rule in rules:
            rule.campaign = by_pk.get(rule.campaign_id)
        return rules

    return RuleRows(
        rails=with_campaigns(list(Rail.objects.filter(shop=shop).order_by("position", "pk"))),
        pins=with_campaigns(list(Pin.objects.filter(rail__shop=shop).select_related("item").order_by("slot", "created_at", "pk"))),
        adjustments=with_campaigns(list(Adjustment.objects.filter(shop=shop).order_by("pk"))),
        blocks=with_campaigns(list(Block.objects.filter(shop=shop).order_by("pk"))),
        campaigns=campaigns,
    )

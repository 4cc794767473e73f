"""The Campaigns pages."""

from datetime import datetime

from django.db.models import Count

from catalog.models import Shop
from homepage.rules import RailKind

from ..models import Campaign, Draft, Pin, Rail
from .preview import rules_read


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

"""Drafts: edits kept aside from the live rules, previewed in a rolled-back transaction, published all at once."""

import pytest
from django.core.exceptions import ValidationError

from homepage import cache
from merchandising.models import AuditEntry, Block, DraftChange, Pin, Rail
from merchandising.selectors import open_draft
from merchandising.services import (
    DraftConflict,
    default_rails_ensure,
    draft_applied,
    draft_change_remove,
    draft_discard,
    draft_open,
    draft_publish,
    rule_delete,
    rules_change,
)
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rails(shop_a):
    return {rail.key: rail for rail in default_rails_ensure(shop=shop_a)}


def _title(rail: Rail) -> str:
    return Rail.objects.get(pk=rail.pk).title


def _retitle(shop, actor, rail, title):
    return rules_change(shop=shop, actor=actor, operation="rail_update", summary=f"Retitle {rail.key}", rail=rail, title=title)


def _rules_token(shop) -> str:
    return cache.rules_token(shop=shop)


def test_without_a_draft_a_change_is_live_and_audit_logged(shop_a, merchandiser_a, rails):
    _retitle(shop_a, merchandiser_a, rails["trending"], "Hot this week")

    assert _title(rails["trending"]) == "Hot this week"
    entry = AuditEntry.objects.get(shop=shop_a, action="rail_update")
    assert entry.user == merchandiser_a and entry.after["title"] == "Hot this week"


def test_in_a_draft_a_change_is_kept_aside_and_nothing_is_logged(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)

    change = _retitle(shop_a, merchandiser_a, rails["trending"], "Hot this week")

    assert isinstance(change, DraftChange) and change.draft == draft and change.summary == "Retitle trending"
    assert _title(rails["trending"]) == "Trending now"
    assert not AuditEntry.objects.filter(shop=shop_a).exists()


def test_a_draft_is_its_authors_only(shop_a, merchandiser_a, rails, django_user_model):
    draft_open(shop=shop_a, author=merchandiser_a)
    colleague = django_user_model.objects.create_user("dave")

    _retitle(shop_a, colleague, rails["trending"], "Live at once")

    assert _title(rails["trending"]) == "Live at once"
    assert not DraftChange.objects.exists()


def test_a_change_that_does_not_validate_is_refused_in_a_draft_as_live(shop_a, merchandiser_a, rails):
    draft_open(shop=shop_a, author=merchandiser_a)

    with pytest.raises(ValidationError) as refused:
        rules_change(shop=shop_a, actor=merchandiser_a, operation="rail_update", summary="Too diverse",
                     rail=rails["trending"], diversity=2.0)

    assert "diversity" in refused.value.message_dict
    assert not DraftChange.objects.exists()


def test_draft_applied_holds_the_draft_inside_and_the_live_rules_after(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    _retitle(shop_a, merchandiser_a, rails["trending"], "Hot this week")
    rules_change(shop=shop_a, actor=merchandiser_a, operation="rail_update", summary="Hide new arrivals",
                 rail=rails["new-arrivals"], enabled=False)

    with draft_applied(draft=draft):
        assert _title(rails["trending"]) == "Hot this week"
        assert not Rail.objects.get(pk=rails["new-arrivals"].pk).enabled

    assert _title(rails["trending"]) == "Trending now"
    assert Rail.objects.get(pk=rails["new-arrivals"].pk).enabled
    assert not AuditEntry.objects.filter(shop=shop_a).exists()


def test_draft_applied_rolls_back_when_its_block_fails(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    _retitle(shop_a, merchandiser_a, rails["trending"], "Hot this week")

    with pytest.raises(RuntimeError), draft_applied(draft=draft):
        raise RuntimeError("the preview failed")

    assert _title(rails["trending"]) == "Trending now"


def test_previews_and_draft_edits_leave_cached_pages_valid_and_publishing_makes_them_stale(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    token = _rules_token(shop_a)

    _retitle(shop_a, merchandiser_a, rails["trending"], "Hot this week")
    with draft_applied(draft=draft):
        Rail.objects.filter(pk=rails["trending"].pk).update(size=3)

    assert _rules_token(shop_a) == token
    draft_publish(draft=draft, actor=merchandiser_a)
    assert _rules_token(shop_a) != token


def test_publish_applies_every_change_in_order_and_audit_logs_each(shop_a, merchandiser_a, rails):
    item = ItemFactory(shop=shop_a)
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    _retitle(shop_a, merchandiser_a, rails["trending"], "First title")
    _retitle(shop_a, merchandiser_a, rails["trending"], "Second title")
    rules_change(shop=shop_a, actor=merchandiser_a, operation="block_create", summary="Block the item", item=item)

    assert draft_publish(draft=draft, actor=merchandiser_a) == 3

    assert _title(rails["trending"]) == "Second title"
    assert Block.objects.filter(shop=shop_a, item=item).exists()
    actions = list(AuditEntry.objects.filter(shop=shop_a, user=merchandiser_a).order_by("pk").values_list("action", flat=True))
    assert actions == ["rail_update", "rail_update", "block_create", "draft_publish"]
    published = AuditEntry.objects.get(action="draft_publish")
    assert published.after["changes"] == ["Retitle trending", "Retitle trending", "Block the item"]
    changes = AuditEntry.objects.filter(shop=shop_a).exclude(pk=published.pk).order_by("pk")
    assert published.after["entries"] == list(changes.values_list("pk", flat=True))  # what a rollback reverts
    assert open_draft(shop=shop_a, user=merchandiser_a) is None
    with pytest.raises(ValidationError):
        draft_publish(draft=draft, actor=merchandiser_a)


def test_a_change_whose_rule_was_deleted_meanwhile_conflicts_and_nothing_is_published(shop_a, merchandiser_a, rails):
    item = ItemFactory(shop=shop_a)
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    _retitle(shop_a, merchandiser_a, rails["trending"], "Hot this week")
    rules_change(shop=shop_a, actor=merchandiser_a, operation="pin_create", summary="Pin to for-you",
                 rail=rails["for-you"], item=item, slot=1)
    rule_delete(rule=rails["for-you"], actor=None)  # someone else, live

    with pytest.raises(DraftConflict, match="Pin to for-you"), draft_applied(draft=draft):
        pass
    with pytest.raises(DraftConflict, match="no longer exists"):
        draft_publish(draft=draft, actor=merchandiser_a)

    assert _title(rails["trending"]) == "Trending now"
    assert not Pin.objects.exists()
    assert not AuditEntry.objects.filter(user=merchandiser_a).exists()
    assert open_draft(shop=shop_a, user=merchandiser_a) == draft


def test_a_reorder_naming_a_rail_deleted_meanwhile_conflicts(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    rules_change(shop=shop_a, actor=merchandiser_a, operation="rails_reorder", summary="Trending first",
                 keys=["trending", "for-you"])
    rule_delete(rule=rails["trending"], actor=None)

    with pytest.raises(DraftConflict, match="Trending first"):
        draft_publish(draft=draft, actor=merchandiser_a)


def test_a_change_that_no_longer_validates_conflicts(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    rules_change(shop=shop_a, actor=merchandiser_a, operation="rail_create", summary="Add a sale rail",
                 key="sale", title="On sale", kind="trending")
    rules_change(shop=shop_a, actor=None, operation="rail_create", summary="", key="sale",
                 title="Taken live", kind="trending")

    with pytest.raises(DraftConflict, match="Add a sale rail"):
        draft_publish(draft=draft, actor=merchandiser_a)
    assert Rail.objects.get(shop=shop_a, key="sale").title == "Taken live"


def test_discard_leaves_the_live_rules_and_logs_what_was_dropped(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    _retitle(shop_a, merchandiser_a, rails["trending"], "Hot this week")

    draft_discard(draft=draft, actor=merchandiser_a)

    assert _title(rails["trending"]) == "Trending now"
    entry = AuditEntry.objects.get(shop=shop_a)
    assert entry.action == "draft_discard" and entry.before == {"changes": ["Retitle trending"]}
    _retitle(shop_a, merchandiser_a, rails["trending"], "Live again")
    assert _title(rails["trending"]) == "Live again"


def test_a_removed_change_is_not_published_and_a_closed_draft_keeps_its_changes(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    dropped = _retitle(shop_a, merchandiser_a, rails["trending"], "Dropped")
    rules_change(shop=shop_a, actor=merchandiser_a, operation="rail_update", summary="Resize", rail=rails["trending"], size=5)

    draft_change_remove(change=dropped)
    draft_publish(draft=draft, actor=merchandiser_a)

    trending = Rail.objects.get(pk=rails["trending"].pk)
    assert (trending.title, trending.size) == ("Trending now", 5)
    with pytest.raises(ValidationError):
        draft_change_remove(change=DraftChange.objects.get(draft=draft))


def test_a_draft_cannot_name_another_shops_rule(shop_a, shop_b, merchandiser_a):
    foreign = default_rails_ensure(shop=shop_b)[0]
    draft_open(shop=shop_a, author=merchandiser_a)

    with pytest.raises(ValueError):
        _retitle(shop_a, merchandiser_a, foreign, "Hijacked")

    assert _title(foreign) != "Hijacked"
    assert not DraftChange.objects.exists()


def test_a_row_made_in_a_draft_keeps_its_id_on_every_replay_and_once_published(shop_a, merchandiser_a, rails):
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    made = rules_change(
        shop=shop_a, actor=merchandiser_a, operation="rail_create", summary="New rail",
        key="gifts", title="Gifts", kind="trending",
    )
    with draft_applied(draft=draft):
        drafted = Rail.objects.get(shop=shop_a, key="gifts")
    with draft_applied(draft=draft):
        assert Rail.objects.get(shop=shop_a, key="gifts").pk == drafted.pk == made.made_pk

    _retitle(shop_a, merchandiser_a, drafted, "Gift ideas")  # an edit naming the drafted row
    assert not Rail.objects.filter(key="gifts").exists()
    draft_publish(draft=draft, actor=merchandiser_a)

    assert Rail.objects.get(pk=drafted.pk).title == "Gift ideas"

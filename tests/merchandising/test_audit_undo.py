"""The audit log as a readable difference, filtered and paged; every change revertable through the services
that made it (guardrails included), and a published draft rolled back all or nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from merchandising.models import AuditEntry, Pin, Rail
from merchandising.services import (
    FieldChange,
    RevertRefused,
    audit_diff,
    audit_entry_revert,
    default_rails_ensure,
    draft_open,
    draft_publish,
    draft_rollback,
    model_version_serve,
    pin_create,
    rail_update,
    rails_reorder,
    rule_delete,
    rules_change,
)
from recommender.models import Family, ModelVersion
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rails(shop_a) -> dict[str, Rail]:
    return {rail.key: rail for rail in default_rails_ensure(shop=shop_a)}


@pytest.fixture
def lipstick(shop_a):
    return ItemFactory(shop=shop_a, title="Red matte lipstick")


@pytest.fixture
def alice(client, merchandiser_a):
    client.force_login(merchandiser_a)
    return client


def _latest(shop, action: str) -> AuditEntry:
    return AuditEntry.objects.filter(shop=shop, action=action).latest("pk")


def _title(rail: Rail) -> str:
    return Rail.objects.get(pk=rail.pk).title


def _version(shop, *, active: bool = False) -> ModelVersion:
    number = ModelVersion.objects.filter(shop=shop, family=Family.MF).count() + 1
    return ModelVersion.objects.create(
        shop=shop, family=Family.MF, number=number, status=ModelVersion.Status.SUCCEEDED, is_active=active,
    )


def _serving(shop) -> ModelVersion | None:
    return ModelVersion.objects.filter(shop=shop, family=Family.MF, is_active=True).first()


# The difference, field by field.

def test_an_update_shows_only_the_fields_it_changed_with_their_labels_and_readable_values(shop_a, merchandiser_a, rails):
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="Hot this week", enabled=False, diversity=0.75)

    assert audit_diff(entry=_latest(shop_a, "rail_update")) == [
        FieldChange("Title", "Trending now", "Hot this week"),
        FieldChange("Enabled", "yes", "no"),
        FieldChange("Diversity", "0.5", "0.75"),
    ]


def test_a_created_pin_shows_its_item_by_title_its_rail_and_its_dates_in_utc(shop_a, merchandiser_a, rails, lipstick):
    pin_create(rail=rails["trending"], item=lipstick, slot=2, starts_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
               ends_at=datetime(2026, 12, 24, 18, 0, tzinfo=UTC), actor=merchandiser_a)

    changes = {change.label: change for change in audit_diff(entry=_latest(shop_a, "pin_create"))}

    assert changes["Item"] == FieldChange("Item", None, "Red matte lipstick")
    assert changes["Rail"].after == "trending (Trending)"
    assert changes["Slot"].after == "2"
    assert changes["Starts at"].after == "2026-12-01 09:30 UTC" and changes["Ends at"].after == "2026-12-24 18:00 UTC"
    assert "Campaign" not in changes and "Note" not in changes  # a new row's empty fields say nothing


def test_a_deleted_rows_item_is_still_named_while_it_exists_and_by_its_id_once_gone(shop_a, merchandiser_a, rails, lipstick):
    pin = pin_create(rail=rails["trending"], item=lipstick, slot=1, actor=merchandiser_a)
    rule_delete(rule=pin, actor=merchandiser_a)
    entry = _latest(shop_a, "pin_delete")
    assert FieldChange("Item", "Red matte lipstick", None) in audit_diff(entry=entry)

    item_pk = lipstick.pk
    lipstick.delete()
    assert FieldChange("Item", f"#{item_pk} (deleted)", None) in audit_diff(entry=entry)


def test_a_reorder_and_a_promotion_read_as_the_page_order_and_the_serving_version(shop_a, merchandiser_a, rails):
    rails_reorder(shop=shop_a, keys=["trending", "for-you"], actor=merchandiser_a)
    order = audit_diff(entry=_latest(shop_a, "rails_reorder"))
    assert order[0].label == "Page order"
    assert order[0].after.startswith("trending, for-you, ") and order[0].before.startswith("campaign, for-you, ")

    older, newer = _version(shop_a), _version(shop_a, active=True)
    model_version_serve(version=older, actor=merchandiser_a)
    assert audit_diff(entry=_latest(shop_a, "model_promote")) == [
        FieldChange("Serving version", str(newer), str(older)),
    ]


def test_the_audit_page_shows_the_difference_and_a_revert_button(alice, shop_a, merchandiser_a, rails):
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="Hot this week")

    page = alice.get("/console/audit/").content.decode()

    assert "Title:" in page and "<del>Trending now</del> → <ins>Hot this week</ins>" in page
    assert 'aria-label="Revert #' in page


# Filters and pages.

def test_the_log_filters_by_user_object_type_and_date_range(alice, shop_a, merchandiser_a, rails, lipstick, django_user_model):
    colleague = django_user_model.objects.create_user("dave")
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="By alice")
    pin_create(rail=rails["trending"], item=lipstick, slot=1, actor=colleague)
    old = _latest(shop_a, "rail_update")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))

    def listed(**params) -> set[str]:
        page = alice.get("/console/audit/", params).content.decode()
        return {action for action in ("rail_update", "pin_create") if f"<code>{action}</code>" in page}

    assert listed() == {"rail_update", "pin_create"}
    assert listed(user=merchandiser_a.pk) == {"rail_update"}
    assert listed(user=colleague.pk) == {"pin_create"}
    assert listed(object_type="pin") == {"pin_create"}
    assert listed(since="2026-01-15", until="2026-01-15") == {"rail_update"}
    assert listed(since="2026-01-16") == {"pin_create"}
    assert listed(until="2026-01-14") == set()
    assert listed(since="not a date") == {"rail_update", "pin_create"}  # an unreadable filter filters nothing
    assert alice.get("/console/audit/", {"user": "x", "page": "zz"}).status_code == 200


def test_the_log_is_paged_and_an_htmx_request_gets_the_log_alone(alice, shop_a, merchandiser_a, rails):
    for number in range(30):
        rail_update(rail=rails["trending"], actor=merchandiser_a, title=f"Title {number}")

    first, second = alice.get("/console/audit/").content.decode(), alice.get("/console/audit/?page=2").content.decode()

    assert first.count('data-testid="audit-entry"') == 25 and second.count('data-testid="audit-entry"') == 5
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    fragment = alice.get("/console/audit/", {"object_type": "rail", "page": "2"}, **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="audit-log">') and "<h1>" not in fragment
    assert 'href="?object_type=rail&amp;page=1"' in fragment


# Reverts.

def test_reverting_an_update_restores_the_old_values_and_is_audited(alice, shop_a, merchandiser_a, rails):
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="Hot this week", size=6)
    entry = _latest(shop_a, "rail_update")

    response = alice.post(f"/console/audit/{entry.pk}/revert/", follow=True)

    trending = Rail.objects.get(pk=rails["trending"].pk)
    assert (trending.title, trending.size) == ("Trending now", 12)
    revert = AuditEntry.objects.latest("pk")
    assert revert.object_repr.startswith(f"Reverted #{entry.pk}: ") and revert.user == merchandiser_a
    assert FieldChange("Title", "Hot this week", "Trending now") in audit_diff(entry=revert)
    assert f"Reverted #{entry.pk}: Title Hot this week → Trending now; Size 6 → 12" in response.content.decode()
    assert f"reverted by <a href=\"#audit-{revert.pk}\">#{revert.pk}</a>" in response.content.decode()


def test_an_entry_is_reverted_once_and_not_over_a_later_change(shop_a, merchandiser_a, rails):
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="First")
    first = _latest(shop_a, "rail_update")
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="Second")

    with pytest.raises(RevertRefused, match="Title changed again since"):
        audit_entry_revert(entry=first, actor=merchandiser_a)
    assert _title(rails["trending"]) == "Second"

    second = _latest(shop_a, "rail_update")
    audit_entry_revert(entry=second, actor=merchandiser_a)
    with pytest.raises(RevertRefused, match="already reverted"):
        audit_entry_revert(entry=second, actor=merchandiser_a)
    audit_entry_revert(entry=first, actor=merchandiser_a)  # the later one undone, the earlier one can be
    assert _title(rails["trending"]) == "Trending now"


def test_reverting_a_create_deletes_the_row(shop_a, merchandiser_a, rails, lipstick):
    pin = pin_create(rail=rails["trending"], item=lipstick, slot=3, actor=merchandiser_a)

    audit_entry_revert(entry=_latest(shop_a, "pin_create"), actor=merchandiser_a)

    assert not Pin.objects.filter(pk=pin.pk).exists()
    assert _latest(shop_a, "pin_delete").object_repr.startswith("Reverted #")


def test_reverting_a_delete_makes_the_row_again_with_its_old_fields(shop_a, merchandiser_a, rails, lipstick):
    ends = timezone.now() + timedelta(days=3)
    pin = pin_create(rail=rails["trending"], item=lipstick, slot=3, ends_at=ends, note="Holiday", actor=merchandiser_a)
    rule_delete(rule=pin, actor=merchandiser_a)

    audit_entry_revert(entry=_latest(shop_a, "pin_delete"), actor=merchandiser_a)

    again = Pin.objects.get(rail=rails["trending"])
    assert (again.item, again.slot, again.note) == (lipstick, 3, "Holiday")
    assert abs(again.ends_at - ends) < timedelta(milliseconds=1)  # the log keeps milliseconds


def test_a_delete_whose_item_is_gone_is_refused_saying_so(shop_a, merchandiser_a, rails, lipstick):
    pin = pin_create(rail=rails["trending"], item=lipstick, slot=3, actor=merchandiser_a)
    rule_delete(rule=pin, actor=merchandiser_a)
    lipstick.delete()

    with pytest.raises(RevertRefused, match=r"The item #\d+ it named no longer exists"):
        audit_entry_revert(entry=_latest(shop_a, "pin_delete"), actor=merchandiser_a)
    assert not Pin.objects.exists()


def test_a_revert_a_guardrail_refuses_is_refused_with_its_reason_and_changes_nothing(alice, shop_a, merchandiser_a, rails, lipstick):
    pin = pin_create(rail=rails["trending"], item=lipstick, slot=2, actor=merchandiser_a)
    rule_delete(rule=pin, actor=merchandiser_a)
    deleted = _latest(shop_a, "pin_delete")
    other = ItemFactory(shop=shop_a, title="Rose lip gloss")
    pin_create(rail=rails["trending"], item=other, slot=2, actor=merchandiser_a)  # the slot is taken since
    count = AuditEntry.objects.count()

    response = alice.post(f"/console/audit/{deleted.pk}/revert/", follow=True)

    page = response.content.decode()
    assert f"#{deleted.pk} was not reverted: Slot 2 of “trending” already holds “Rose lip gloss”" in page
    assert list(Pin.objects.values_list("item__title", flat=True)) == ["Rose lip gloss"]
    assert AuditEntry.objects.count() == count


def test_reverting_a_reorder_puts_back_the_previous_order(shop_a, merchandiser_a, rails):
    before = list(Rail.objects.filter(shop=shop_a).order_by("position").values_list("key", flat=True))
    rails_reorder(shop=shop_a, keys=["recently-viewed", "trending"], actor=merchandiser_a)

    audit_entry_revert(entry=_latest(shop_a, "rails_reorder"), actor=merchandiser_a)

    assert list(Rail.objects.filter(shop=shop_a).order_by("position").values_list("key", flat=True)) == before


def test_reverting_a_promotion_serves_the_previous_version_again(alice, shop_a, merchandiser_a):
    older, newer = _version(shop_a), _version(shop_a, active=True)
    alice.post(f"/console/models/versions/{older.pk}/promote/")
    promoted = _latest(shop_a, "model_promote")
    assert promoted.before == {"serving": newer.pk} and _serving(shop_a) == older

    alice.post(f"/console/audit/{promoted.pk}/revert/")

    assert _serving(shop_a) == newer
    revert = _latest(shop_a, "model_promote")
    assert revert.object_repr.startswith(f"Reverted #{promoted.pk}: ") and revert.after == {"serving": newer.pk}


def test_a_promotion_with_nothing_serving_before_cannot_be_reverted(shop_a, merchandiser_a):
    only = _version(shop_a)
    model_version_serve(version=only, actor=merchandiser_a)

    with pytest.raises(RevertRefused, match="nothing to go back to"):
        audit_entry_revert(entry=_latest(shop_a, "model_promote"), actor=merchandiser_a)
    assert _serving(shop_a) == only


def test_a_promotion_in_the_admin_is_audited_and_revertable(admin_client, admin_user, shop_a):
    older, newer = _version(shop_a), _version(shop_a, active=True)
    admin_client.post("/admin/recommender/modelversion/", {"action": "promote", "_selected_action": [older.pk]})
    assert _serving(shop_a) == older

    promoted = _latest(shop_a, "model_promote")
    assert promoted.user == admin_user and promoted.before == {"serving": newer.pk}
    audit_entry_revert(entry=promoted, actor=admin_user)
    assert _serving(shop_a) == newer


def test_a_rail_edit_in_the_admin_is_reverted_like_the_consoles(admin_client, admin_user, shop_a, rails):
    rail = rails["trending"]
    admin_client.post(f"/admin/merchandising/rail/{rail.pk}/change/", {
        "shop": shop_a.pk, "key": rail.key, "title": "Retitled in the admin", "kind": rail.kind, "size": 5,
        "enabled": "on", "position": rail.position, "blend_weights": "{}", "diversity": rail.diversity,
        "exploration_share": rail.exploration_share, "max_per_category": rail.max_per_category or "",
        "max_per_brand": rail.max_per_brand or "",
        "pins-TOTAL_FORMS": "0", "pins-INITIAL_FORMS": "0", "pins-MIN_NUM_FORMS": "0", "pins-MAX_NUM_FORMS": "1000",
    })
    changed = _latest(shop_a, "admin_change")
    assert audit_diff(entry=changed) == [FieldChange("Title", "Trending now", "Retitled in the admin"), FieldChange("Size", "12", "5")]

    audit_entry_revert(entry=changed, actor=admin_user)

    trending = Rail.objects.get(pk=rail.pk)
    assert (trending.title, trending.size) == ("Trending now", 12)


def test_a_change_of_another_shop_cannot_be_reverted(client, merchandiser_b, shop_a, merchandiser_a, rails):
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="Only A")
    client.force_login(merchandiser_b)

    assert client.post(f"/console/audit/{_latest(shop_a, 'rail_update').pk}/revert/").status_code == 404
    assert _title(rails["trending"]) == "Only A"


# Drafts: full history, and a publish rolled back as one.

def _drafted(shop, actor, *changes) -> None:
    draft_open(shop=shop, author=actor)
    for rail, title in changes:
        rules_change(shop=shop, actor=actor, operation="rail_update", summary=f"Retitle {rail.key}", rail=rail, title=title)


def test_a_published_draft_keeps_its_changes_on_its_page_and_rolls_back_at_once(alice, shop_a, merchandiser_a, rails, lipstick):
    _drafted(shop_a, merchandiser_a, (rails["trending"], "Hot"))
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    rules_change(shop=shop_a, actor=merchandiser_a, operation="pin_create", summary="Pin the lipstick",
                 rail=rails["for-you"], item=lipstick, slot=1)
    draft_publish(draft=draft, actor=merchandiser_a)
    assert _title(rails["trending"]) == "Hot" and Pin.objects.count() == 1

    page = alice.get(f"/console/draft/{draft.pk}/").content.decode()
    assert "Retitle trending" in page and "Pin the lipstick" in page and "Roll back this draft" in page

    response = alice.post(f"/console/draft/{draft.pk}/rollback/", follow=True)

    assert _title(rails["trending"]) == "Trending now" and not Pin.objects.exists()
    assert f"Draft #{draft.pk} rolled back" in response.content.decode()
    rollback = _latest(shop_a, "draft_rollback")
    published = _latest(shop_a, "draft_publish")
    assert rollback.object_repr == f"Reverted #{published.pk}: draft #{draft.pk}"
    page = alice.get(f"/console/draft/{draft.pk}/").content.decode()
    assert "Retitle trending" in page and "rolled back" in page and "Roll back this draft" not in page


def test_a_draft_rollback_one_change_refuses_reverts_none(shop_a, merchandiser_a, rails):
    _drafted(shop_a, merchandiser_a, (rails["trending"], "Hot"), (rails["for-you"], "Yours"))
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    draft_publish(draft=draft, actor=merchandiser_a)
    rail_update(rail=rails["trending"], actor=merchandiser_a, title="Changed live since")
    count = AuditEntry.objects.count()

    with pytest.raises(RevertRefused, match="“trending .*”: Title changed again since"):
        draft_rollback(draft=draft, actor=merchandiser_a)

    # The later change, for-you's, was reverted first, then undone with the rest.
    assert (_title(rails["trending"]), _title(rails["for-you"])) == ("Changed live since", "Yours")
    assert AuditEntry.objects.count() == count


def test_an_unpublished_draft_has_nothing_to_roll_back(alice, shop_a, merchandiser_a, rails):
    _drafted(shop_a, merchandiser_a, (rails["trending"], "Hot"))
    draft = draft_open(shop=shop_a, author=merchandiser_a)

    with pytest.raises(RevertRefused, match="never published"):
        draft_rollback(draft=draft, actor=merchandiser_a)
    assert "Nothing was rolled back" in alice.post(f"/console/draft/{draft.pk}/rollback/", follow=True).content.decode()

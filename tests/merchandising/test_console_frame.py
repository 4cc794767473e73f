"""The console's frame: which shop a merchandiser works in, the item autocomplete, the audit log."""

import pytest

from merchandising.models import AuditEntry, Membership, Rail
from merchandising.services import default_rails_ensure, rail_update
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_in_two_shops(merchandiser_a, shop_b):
    Membership.objects.create(user=merchandiser_a, shop=shop_b)
    return merchandiser_a


def test_a_member_of_two_shops_switches_between_them_and_the_choice_sticks(client, alice_in_two_shops):
    client.force_login(alice_in_two_shops)
    first = client.get("/console/").content.decode()
    assert 'id="shop-switch"' in first and "<h2>Shop A</h2>" in first
    assert "<h2>Shop B</h2>" in client.get("/console/?shop=shop-b").content.decode()
    assert "<h2>Shop B</h2>" in client.get("/console/").content.decode()  # kept for the session


def test_asking_for_a_shop_one_is_not_a_member_of_finds_nothing(client, merchandiser_a, shop_b):
    client.force_login(merchandiser_a)
    assert client.get("/console/?shop=shop-b").status_code == 404
    assert client.get("/console/?shop=no-such-shop").status_code == 404


def test_a_merchandiser_of_no_shop_is_told_to_ask_for_one(client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("carol")
    user.groups.add(Group.objects.get(name="merchandiser"))
    client.force_login(user)
    response = client.get("/console/")
    assert response.status_code == 403
    assert "not a member of any shop" in response.content.decode()


def test_the_403_page_says_why(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory"))
    response = client.get("/console/")
    assert response.status_code == 403
    assert "merchandiser group" in response.content.decode()


def test_item_search_finds_by_title_words_or_exact_id_in_the_own_shop_only(client, merchandiser_a, shop_a, shop_b):
    ItemFactory(shop=shop_a, external_id="B00RED", title="Red matte lipstick")
    ItemFactory(shop=shop_a, external_id="B00ROSE", title="Rose lip gloss")
    ItemFactory(shop=shop_b, external_id="B00OTHER", title="Red matte lipstick from shop B")
    client.force_login(merchandiser_a)
    by_words = client.get("/console/items/search/", {"q": "matte red"}).content.decode()
    assert "B00RED" in by_words and "B00ROSE" not in by_words and "B00OTHER" not in by_words
    assert "B00ROSE" in client.get("/console/items/search/", {"q": "B00ROSE"}).content.decode()
    assert "No item matches" in client.get("/console/items/search/", {"q": "B00OTHER"}).content.decode()


def test_item_search_takes_hostile_input_without_failing(client, merchandiser_a):
    client.force_login(merchandiser_a)
    for query in ("\x00", "%", "' OR 1=1 --", "x" * 5000):
        assert client.get("/console/items/search/", {"q": query}).status_code == 200


def test_a_rail_change_is_in_the_audit_log_with_who_before_and_after(client, merchandiser_a, shop_a):
    rail = default_rails_ensure(shop=shop_a)[0]
    rail_update(rail=rail, actor=merchandiser_a, diversity=0.8)
    entry = AuditEntry.objects.get(shop=shop_a, action="rail_update")
    assert entry.user == merchandiser_a
    assert entry.before["diversity"] != 0.8 and entry.after["diversity"] == 0.8
    client.force_login(merchandiser_a)
    page = client.get("/console/audit/").content.decode()
    assert "rail_update" in page and "alice" in page


def test_the_audit_log_shows_nothing_of_another_shop(client, merchandiser_b, merchandiser_a, shop_a):
    rail = default_rails_ensure(shop=shop_a)[0]
    rail_update(rail=rail, actor=merchandiser_a, title="Only for shop A")
    client.force_login(merchandiser_b)
    assert "Only for shop A" not in client.get("/console/audit/").content.decode()
    assert "No changes yet" in client.get("/console/audit/").content.decode()


def test_admin_edits_are_audit_logged_and_the_log_is_read_only_there(admin_client, shop_a):
    rail = default_rails_ensure(shop=shop_a)[0]
    response = admin_client.post(
        f"/admin/merchandising/rail/{rail.pk}/change/",
        {
            "shop": shop_a.pk, "key": rail.key, "title": "Retitled in the admin", "kind": rail.kind, "size": rail.size,
            "enabled": "on", "position": rail.position, "blend_weights": "{}", "diversity": rail.diversity,
            "exploration_share": rail.exploration_share,
            "pins-TOTAL_FORMS": "0", "pins-INITIAL_FORMS": "0", "pins-MIN_NUM_FORMS": "0", "pins-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.filter(shop=shop_a, action="admin_change").get()
    assert entry.before["title"] == rail.title and entry.after["title"] == "Retitled in the admin"
    assert admin_client.get("/admin/merchandising/auditentry/").status_code == 200
    assert admin_client.get("/admin/merchandising/auditentry/add/").status_code == 403
    assert Rail.objects.get(pk=rail.pk).title == "Retitled in the admin"


def test_a_merchandiser_who_is_not_staff_logs_in_through_the_console_login(client, merchandiser_a):
    assert not merchandiser_a.is_staff
    page = client.get("/console/", follow=True)
    assert page.redirect_chain[-1][0].startswith("/accounts/login/")
    response = client.post("/accounts/login/?next=/console/", {"username": "alice", "password": "not-a-real-password", "next": "/console/"})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert "<h2>Shop A</h2>" in client.get("/console/").content.decode()


def test_the_pins_page_of_a_shop_without_rails_offers_the_default_rails(client, merchandiser_a, shop_a):
    client.force_login(merchandiser_a)
    page = client.get("/console/pins/").content.decode()
    assert "for-you" in page

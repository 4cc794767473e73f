import pytest
from django.utils import timezone

from catalog.models import Item
from homepage.services import homepage_compose
from merchandising.models import Rail

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["rail", "pin", "adjustment", "block", "campaign"])
def test_every_rule_model_has_a_searchable_admin(admin_client, pattern_shop, model):
    homepage_compose(shop=pattern_shop, shopper=None)  # seeds the default rails

    response = admin_client.get(f"/admin/merchandising/{model}/", {"q": "lip"})

    assert response.status_code == 200


def test_a_block_saved_in_the_admin_reaches_the_next_page(admin_client, pattern_shop, storefront_a):
    shown = storefront_a.get("/api/v1/homepage/visitor").json()
    top = Item.objects.get(shop=pattern_shop, external_id=shown["rails"][0]["items"][0]["item_id"])

    response = admin_client.post(
        "/admin/merchandising/block/add/",
        {"shop": pattern_shop.pk, "item": top.pk, "category": "", "brand": "", "note": "",
         "starts_at_0": timezone.now().strftime("%Y-%m-%d"), "starts_at_1": "00:00:00"},
    )

    assert response.status_code == 302, response.content[:2000]
    page = storefront_a.get("/api/v1/homepage/visitor").json()
    assert top.external_id not in [item["item_id"] for rail in page["rails"] for item in rail["items"]]
    assert Rail.objects.filter(shop=pattern_shop).exists()

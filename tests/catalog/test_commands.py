import pytest
from django.core.management import call_command

from catalog.models import ApiKey, Shop


@pytest.mark.django_db
def test_create_api_token_creates_the_shop_and_prints_a_working_key(capsys, client):
    call_command("create_api_token", "web", "--shop", "new-shop")
    raw_key = capsys.readouterr().out.split()[-1]

    api_key = ApiKey.objects.get(name="web")
    assert api_key.shop == Shop.objects.get(slug="new-shop")
    assert api_key.key_hash != raw_key and api_key.matches(raw_key)
    response = client.post(
        "/api/v1/items", [{"item_id": "a", "title": "A"}], content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {raw_key}",
    )
    assert response.json()["created"] == 1

import pytest

pytestmark = pytest.mark.django_db


def test_the_console_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/console/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_user_outside_the_merchandiser_group_gets_a_403(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory"))
    assert client.get("/console/").status_code == 403


def test_a_merchandiser_sees_only_their_shops(client, merchandiser_a, shop_b):
    client.force_login(merchandiser_a)
    page = client.get("/console/").content.decode()
    assert "Shop A" in page
    assert "Shop B" not in page
    assert "import_dataset" in page  # an empty shop says how to load data


def test_admin_pages_of_every_catalog_model_load(admin_client, merchandiser_a):
    for model in ("shop", "apikey", "item", "shopper", "event"):
        assert admin_client.get(f"/admin/catalog/{model}/").status_code == 200
    assert admin_client.get("/admin/catalog/event/add/").status_code == 403


def test_the_overview_shows_each_familys_serving_version_and_a_bounded_run(client, merchandiser_a, pattern_shop, train):
    from recommender.models import Family

    train(pattern_shop, Family.POPULARITY, Family.SEQUENTIAL, time_limit_s=3)
    client.force_login(merchandiser_a)
    page = client.get("/console/").content.decode()
    assert "Sequential transformer" in page
    assert "Bounded CPU run: at most 3 s" in page
    assert "never trained" in page  # matrix factorization and text were not trained

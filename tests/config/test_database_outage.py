"""The database lost for real: requests answer 503 with Retry-After, and are served again, without a restart, once it is back."""

import socket
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection, connections

from catalog.models import Event
from merchandising.models import Membership
from tests.factories import ItemFactory

# Transactions of their own: a connection is dropped and opened again under them.
pytestmark = pytest.mark.django_db(transaction=True)


def _events(*event_ids: str) -> list[dict]:
    return [
        {"event_id": event_id, "shopper_id": "s1", "item_id": "sku-1", "type": "view", "occurred_at": "2026-11-20T10:00:00Z"}
        for event_id in event_ids
    ]


def _assert_database_unavailable_json(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"


def _backend_terminate(pid: int) -> None:
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


@contextmanager
def _database_unreachable():
    """This process's connection points at a port where nothing listens, until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    reachable = {name: connection.settings_dict[name] for name in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(reachable)


def test_a_storefront_request_on_a_dropped_connection_answers_503_and_the_next_one_is_served(shop_a, storefront_a):
    ItemFactory(shop=shop_a, external_id="sku-1")
    assert storefront_a.post("/api/v1/events", _events("e1"), format="json").json()["created"] == 1
    _backend_terminate(connection.connection.info.backend_pid)

    _assert_database_unavailable_json(storefront_a.post("/api/v1/events", _events("e2"), format="json"))

    assert storefront_a.post("/api/v1/events", _events("e2"), format="json").json()["created"] == 1
    assert set(Event.objects.filter(shop=shop_a).values_list("event_id", flat=True)) == {"e1", "e2"}


def test_with_the_database_refusing_connections_the_storefront_gets_503_json_until_it_is_back(shop_a, storefront_a):
    assert storefront_a.get("/api/v1/homepage/visitor").status_code == 200

    with _database_unreachable():
        _assert_database_unavailable_json(storefront_a.get("/api/v1/homepage/visitor"))
        _assert_database_unavailable_json(storefront_a.post("/api/v1/events", _events("e1"), format="json"))

    assert storefront_a.get("/api/v1/homepage/visitor").status_code == 200
    assert storefront_a.post("/api/v1/events", _events("e1"), format="json").status_code == 200


def test_with_the_database_refusing_connections_the_console_answers_a_plain_503(client, shop_a):
    # Staff rather than a merchandiser: an earlier test's flush may have removed the groups the migrations made.
    staff = User.objects.create_user("staff", is_staff=True)
    Membership.objects.create(user=staff, shop=shop_a)
    client.force_login(staff)

    with _database_unreachable():
        response = client.get("/console/")
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert response["Content-Type"].startswith("text/plain")

    assert client.get("/console/").status_code == 200

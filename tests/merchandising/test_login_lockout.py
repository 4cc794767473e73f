from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "not-a-real-password"  # the conftest merchandisers'
CONSOLE_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def log_in(client: Client, username: str, password: str, *, url: str = CONSOLE_LOGIN, address: str = "127.0.0.1"):
    return client.post(url, {"username": username, "password": password, "next": "/console/"}, REMOTE_ADDR=address)


def assert_locked_out(response, client: Client) -> None:
    assert response.status_code == 429
    page = response.content.decode()
    assert "Login paused" in page
    assert "paused for 15 minutes" in page
    assert "vitrine.css" in page  # the console's own page, not a bare message
    assert "_auth_user_id" not in client.session
    assert client.get("/console/").status_code == 302


def test_five_wrong_passwords_lock_the_login_even_against_the_right_one(client, merchandiser_a):
    for _ in range(4):
        assert log_in(client, "alice", "wrong").status_code == 200  # the form again, with its error
    assert_locked_out(log_in(client, "alice", "wrong"), client)

    assert_locked_out(log_in(client, "alice", PASSWORD), client)


def test_a_right_password_before_the_limit_logs_in(client, merchandiser_a):
    for _ in range(4):
        log_in(client, "alice", "wrong")
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/console/"


def test_the_admin_login_is_locked_too(client, admin_user):
    for _ in range(5):
        response = log_in(client, "admin", "wrong", url=ADMIN_LOGIN)
    assert_locked_out(response, client)
    assert_locked_out(log_in(client, "admin", "password", url=ADMIN_LOGIN), client)


def test_an_account_is_locked_whatever_the_address_the_guesses_come_from(client, merchandiser_a):
    for n in range(5):
        log_in(Client(), "alice", "wrong", address=f"198.51.100.{n}")
    assert_locked_out(log_in(client, "alice", PASSWORD, address="192.0.2.10"), client)


def test_an_address_guessing_many_accounts_is_locked_for_every_account(client, merchandiser_a):
    for n in range(5):
        log_in(client, f"nobody-{n}", "wrong", address="198.51.100.9")
    assert_locked_out(log_in(client, "alice", PASSWORD, address="198.51.100.9"), client)
    assert log_in(Client(), "alice", PASSWORD, address="192.0.2.10").status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, merchandiser_a):
    for _ in range(5):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert log_in(client, "alice", PASSWORD).status_code == 302
    assert User.objects.get(username="alice").last_login is not None

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_merchandiser_logs_in_through_the_login_form_and_lands_in_the_console(page, live_server, merchandiser_a):
    page.goto("/console/")
    expect(page.get_by_label("Password")).to_be_visible()  # sent to the login form first

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-a-real-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()

    assert page.url == f"{live_server.url}/console/"
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("heading", name="Shop A")).to_be_visible()
    expect(page.get_by_role("button", name="Log out alice")).to_be_visible()

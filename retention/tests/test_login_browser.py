import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_signs_in_and_sees_the_dashboard(marketer, signed_in_page, live_server):
    # given a marketer
    # when they sign in through the login form
    page = signed_in_page(marketer)
    # then the dashboard greets them
    assert page.locator("h1").inner_text() == "Dashboard"
    assert "alice" in page.locator(".sidebar-foot").inner_text()


def test_wrong_password_is_refused(marketer, page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "correct username and password" in page.locator(".message.error").inner_text()

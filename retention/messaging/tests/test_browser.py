import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_live_preview_follows_typing(signed_in_page, marketer, live_server):
    # given
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/messaging/templates/campaign/42/email/")

    # when
    page.fill("#id_subject", "Happy birthday, {{ customer.first_name }}!")
    page.fill("#id_text_body", "Your code: {{ code }}")

    # then
    page.get_by_test_id("preview-subject").filter(has_text="Happy birthday, Ada!").wait_for()
    assert page.get_by_test_id("preview-text").inner_text().startswith("Your code: SAMPLE-7K2Q9")

    # when: a broken tag
    page.fill("#id_text_body", "{% if code %}")

    # then: the problem shows in the preview, before any save
    page.get_by_test_id("preview-errors").wait_for()
    assert "Unclosed tag" in page.get_by_test_id("preview-errors").inner_text()

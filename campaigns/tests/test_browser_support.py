"""The support desk in Chromium: an agent finds a customer, issues a sorry code and sees it."""

import os

import pytest
from django.core import mail

from campaigns.models import Code, DiscountType
from campaigns.tests.factories import CampaignFactory
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SCREENSHOT_DIR")  # set it to keep screenshots for a look


def test_agent_searches_issues_a_code_and_sees_it(agent, signed_in_page, live_server):
    # given a customer with an order and a support campaign
    anna = CustomerFactory(email="anna@example.com", first_name="Anna", last_name="Berg", source_id="shop-4821")
    OrderFactory(customer=anna, source_id="ORD-1001", amount=8990)
    CampaignFactory(name="Sorry codes", discount_type=DiscountType.AMOUNT, percent=None, amount=500,
                    is_support=True, support_amount_options=[500, 1000, 2000], code_prefix="SORRY-")
    page = signed_in_page(agent)
    # when the agent searches by the start of the address
    page.goto(f"{live_server.url}/support/")
    page.get_by_label("Email or customer id").fill("anna@")
    page.get_by_role("link", name="Open").click()
    page.wait_for_selector("#issue")
    page.get_by_label("Offer").select_option(label="10.00 EUR off")
    page.get_by_label("Reason").fill("Parcel arrived two weeks late")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/support_form.png", full_page=True)
    page.get_by_role("button", name="Issue code").click()
    # then the desk says where the code went and the codes list shows it
    result = page.locator("#issue-result")
    result.wait_for()
    code = Code.objects.get()
    assert result.inner_text() == f"Code {code.code} (10.00 EUR off) sent to anna@example.com."
    assert page.locator("#codes tbody tr").first.locator("td").first.inner_text() == code.code
    assert code.customer_id == anna.pk
    assert [message.to for message in mail.outbox] == [["anna@example.com"]]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/support_issued.png", full_page=True)

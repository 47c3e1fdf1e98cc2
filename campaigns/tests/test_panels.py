"""The customer page's Codes panel."""

import pytest
from django.urls import reverse

from campaigns.tests.factories import CodeFactory
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_customer_page_lists_the_customers_codes_with_their_status(client, marketer):
    # given a customer with one fresh code and one used code, and someone else's code
    customer = CustomerFactory()
    CodeFactory(code="FRESH123", customer=customer)
    CodeFactory(code="SPENT456", customer=customer, uses_count=1)
    CodeFactory(code="OTHER789")
    client.force_login(marketer)
    # when a marketer opens the customer page
    body = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    # then the panel shows the customer's codes only
    assert "FRESH123" in body and "SPENT456" in body and "OTHER789" not in body
    assert ">active<" in body and ">used<" in body


@pytest.mark.parametrize("count", [1, 30])
def test_the_panel_costs_the_same_queries_whatever_the_number_of_codes(
        client, marketer, django_assert_max_num_queries, count):
    customer = CustomerFactory()
    CodeFactory.create_batch(count, customer=customer)
    client.force_login(marketer)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("<code>TESTCODE") == min(count, 20)

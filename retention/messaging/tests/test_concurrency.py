"""Two workers claiming the same delivery at once, on PostgreSQL with real threads."""


import pytest
from django.core import mail

from retention.messaging.models import DeliveryStatus
from retention.messaging.services.deliveries import send_delivery
from retention.tests.concurrency import run_together

from .factories import DeliveryFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_send_one_message():
    # given
    delivery = DeliveryFactory()

    # when
    results = run_together(8, lambda number: send_delivery(delivery_id=delivery.pk))

    # then
    delivery.refresh_from_db()
    assert sum(result is not None for result in results) == 1
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert len(mail.outbox) == 1

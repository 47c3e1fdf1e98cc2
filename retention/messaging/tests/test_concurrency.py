"""Two workers claiming the same delivery at once, on PostgreSQL with real threads."""

import threading

import pytest
from django.core import mail
from django.db import connection, connections

from retention.messaging.models import DeliveryStatus
from retention.messaging.services.deliveries import send_delivery

from .factories import DeliveryFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def test_two_workers_send_one_message():
    # given
    delivery = DeliveryFactory()
    start = threading.Barrier(8)
    results = []

    def worker():
        try:
            start.wait()
            results.append(send_delivery(delivery_id=delivery.pk))
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    delivery.refresh_from_db()
    assert sum(result is not None for result in results) == 1
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert len(mail.outbox) == 1

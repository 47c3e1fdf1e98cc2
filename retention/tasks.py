"""Thin Celery tasks of the core: each calls one service. Stable names: beat rows store them."""

from celery import shared_task


@shared_task(name="retention.purge_idempotency_records", acks_late=True)
def purge_idempotency_records_task() -> int:
    from retention.services.idempotency import purge_expired_idempotency_records

    return purge_expired_idempotency_records()


@shared_task(name="retention.run_customer_import", acks_late=True)
def run_customer_import_task(import_id: int) -> None:
    from retention.services.imports import run_customer_import

    run_customer_import(import_id=import_id)

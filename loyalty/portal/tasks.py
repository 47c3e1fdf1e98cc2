"""The sign-in mail, sent by a worker after the token's transaction commits."""

from smtplib import SMTPException

from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string

from retention.emails import email_hash
from retention.models import Customer, EmailSuppression


def send_sign_in_link(*, customer_id: int, link: str) -> bool:
    """Mail `link` to the customer; False when there is no one to mail.

    Transactional (the customer asked for it): no marketing consent needed, but an erased customer or a
    suppressed address (hard bounce, erasure) gets nothing.
    """
    customer = Customer.objects.filter(pk=customer_id, erased_at__isnull=True).first()
    if customer is None or not customer.email:
        return False
    if EmailSuppression.objects.filter(email_hash=email_hash(customer.email)).exists():
        return False
    context = {"customer": customer, "link": link, "minutes": 15}
    send_mail(
        subject="Your sign-in link to your rewards",
        message=render_to_string("portal/emails/sign_in_link.txt", context),
        html_message=render_to_string("portal/emails/sign_in_link.html", context),
        from_email=None,
        recipient_list=[customer.email],
    )
    return True


@shared_task(name="loyalty.send_portal_sign_in_link", acks_late=True,
             autoretry_for=(SMTPException, ConnectionError), retry_backoff=True, max_retries=5)
def send_sign_in_link_task(customer_id: int, link: str) -> None:
    send_sign_in_link(customer_id=customer_id, link=link)

"""Invitation emails a referrer sends from the portal, through retention's messaging.

Messaging delivers to customers, so an address nobody holds yet becomes a prospect customer
(source_id "referral-invite:<hash>", tagged `referral-prospect`) before the invitation is queued.
"""

import hashlib
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals.models import Invitation, ReferralCode
from retention.actors import Actor
from retention.audit import record_audit
from retention.emails import email_hash, normalise_email
from retention.errors import DomainError, InvalidInput
from retention.messaging.models import Channel, Delivery, MessageKind, MessageTemplate
from retention.messaging.rendering import MessageContext
from retention.messaging.services.deliveries import queue_message
from retention.models import Customer
from retention.ratelimit import hit
from retention.services.customers import upsert_customer

TEMPLATE_NAME = "referral_invitation"
INVITES_PER_DAY = 10
DAY = 24 * 60 * 60


class InvitationRefused(DomainError):
    status = 422
    code = "invitation_refused"


class InvitationRateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__(f"At most {INVITES_PER_DAY} invitations a day; try again later.")
        self.retry_after = retry_after


def _prospect(email: str, actor: Actor) -> Customer:
    existing = Customer.objects.filter(email=email, erased_at__isnull=True).order_by("pk").first()
    if existing is not None:
        return existing
    source_id = "referral-invite:" + hashlib.sha256(email.encode()).hexdigest()[:32]
    customer, _created = upsert_customer(source_id=source_id, data={"email": email, "tags": ["referral-prospect"]},
                                         actor=actor)
    return customer


def invite_by_email(*, code: ReferralCode, email: str, now: datetime | None = None) -> Delivery:
    """Send the referrer's link to `email` once (a second invitation to the same address is refused).

    At most INVITES_PER_DAY per referrer (InvitationRateLimited, 429). Without a `referral_invitation`
    email template nothing can be sent (InvitationRefused). Suppressed addresses are skipped by messaging.
    """
    now = now or timezone.now()
    email = normalise_email(email)
    if "@" not in email:
        raise InvalidInput("An email address.", fields={"email": ["Enter a valid email address."]})
    if email == normalise_email(code.customer.email):
        raise InvitationRefused("You cannot invite yourself.", fields={"email": ["That is your own address."]})
    template = MessageTemplate.objects.filter(name=TEMPLATE_NAME, channel=Channel.EMAIL).first()
    if template is None:
        raise InvitationRefused("Invitations are not set up yet.", fields={"email": ["No invitation template."]})
    if Invitation.objects.filter(code=code, email_hash=email_hash(email)).exists():
        raise InvitationRefused("You already invited this friend.", fields={"email": ["Already invited."]})
    allowed, retry_after = hit("referral-invite", str(code.pk), INVITES_PER_DAY, DAY)
    if not allowed:
        raise InvitationRateLimited(retry_after)
    actor = Actor.customer(code.customer.source_id)
    friend = _prospect(email, actor)
    return _queue(code=code, friend=friend, email=email, template=template, actor=actor, now=now)


@transaction.atomic(durable=True)
def _queue(*, code: ReferralCode, friend: Customer, email: str, template: MessageTemplate, actor: Actor,
           now: datetime) -> Delivery:
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(code=code, email_hash=email_hash(email), created_at=now)
    except IntegrityError:
        raise InvitationRefused("You already invited this friend.", fields={"email": ["Already invited."]})
    link = code.program.link_for(code.code)
    name = code.customer.first_name or "A friend"
    delivery = queue_message(
        customer=friend, channel=Channel.EMAIL, template=template, kind=MessageKind.TRANSACTIONAL,
        context=MessageContext(code=code.code, portal_url=link, discount_text=f"{name} invites you"),
        occasion_key=f"referral-invite:{code.pk}", now=now)
    record_audit(actor=actor, action="referral.invited", target=invitation,
                 after={"code": code.code, "delivery": delivery.pk})
    return delivery

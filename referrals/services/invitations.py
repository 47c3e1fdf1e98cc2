"""Invitation emails a referrer sends from the portal, through retention's messaging.

The invited address gets a transactional email through messaging's queue_to_address: no Customer row is
created for someone who never signed up (so no `customer_created`, no sign-up bonus, no welcome trigger).
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals.models import Invitation, ReferralCode
from retention.actors import Actor
from retention.audit import record_audit
from retention.emails import email_hash, normalise_email
from retention.errors import DomainError, InvalidInput
from retention.messaging.models import Channel, Delivery, MessageTemplate
from retention.messaging.rendering import MessageContext
from retention.messaging.services.deliveries import queue_to_address
from retention.ratelimit import hit

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
    return _queue(code=code, email=email, template=template, actor=actor, now=now)


@transaction.atomic(durable=True)
def _queue(*, code: ReferralCode, email: str, template: MessageTemplate, actor: Actor, now: datetime) -> Delivery:
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(code=code, email_hash=email_hash(email), created_at=now)
    except IntegrityError:
        raise InvitationRefused("You already invited this friend.", fields={"email": ["Already invited."]})
    link = code.program.link_for(code.code)
    name = code.customer.first_name or "A friend"
    delivery = queue_to_address(
        address=email, template=template,
        context=MessageContext(code=code.code, portal_url=link, discount_text=f"{name} invites you"),
        why=f"You receive this one email because {code.customer.first_name or 'a friend'} asked us to send you "
            "their invitation. We keep no record of your address and will not write again unless you sign up.",
        occasion_key=f"referral-invite:{code.pk}", now=now)
    record_audit(actor=actor, action="referral.invited", target=invitation,
                 after={"code": code.code, "delivery": delivery.pk})
    return delivery

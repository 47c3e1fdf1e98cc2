"""Public landing pages: a unique code for an email address, one per address, within the campaign's cap.

Decisions (documented for the page and the shop's integrators):
- One code per normalised address and campaign (LandingClaim's unique constraint). A second claim with the
  same address returns the SAME code and mails it again to that address; the page does not show it,
  because whoever types someone else's address must not learn their code.
- An address already known as a shop customer gets a code assigned to that customer (it works only with
  their account). An unknown address becomes a customer "landing:<hash>" and gets an UNASSIGNED one-time
  code: the shop will know the person under its own id, and an assigned code would refuse them.
- The cap ("the first 500") is the campaign's `max_redemptions` applied to codes issued, checked with the
  campaign row locked: at the cap the page says the offer has ended.
- Marketing consent is optional and is not a condition of the code (GDPR: freely given). When ticked it
  is recorded with source "landing_page", the wording version, IP address and user agent.
- The core's customer and consent services run their own (durable) transactions, so a claim is three
  steps: create the customer when unknown, the claim itself in one transaction, then the consent. A claim
  refused after a new customer was created leaves that bare customer (an address, no consent, no code).
"""

import hashlib
from contextlib import suppress
from datetime import datetime

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Code, CodeSource, LandingClaim
from retention.actors import Actor
from retention.audit import record_audit
from retention.emails import normalise_email
from retention.errors import DomainError
from retention.models import ConsentChannel, ConsentSource, Customer

CONSENT_WORDING_VERSION = "landing-2026-11"
CONSENT_WORDING = "Yes, email me offers and news. I can unsubscribe at any time."
LANDING_SOURCE_PREFIX = "landing:"
# Claims allowed per client IP address and window (retention.ratelimit); past it the page answers 429.
RATE_LIMIT_CLAIMS = 10
RATE_LIMIT_WINDOW_SECONDS = 600


class LandingRefused(DomainError):
    """The visitor cannot have a code; the message is shown on the page as is."""

    status = 422
    code = "landing_refused"


class OfferEnded(LandingRefused):
    code = "offer_ended"

    def __init__(self, message: str = "This offer has ended.", **kwargs):
        super().__init__(message, **kwargs)


def landing_source_id(email: str) -> str:
    """A stable source_id for an address the shop has not told us about (no address in clear)."""
    return LANDING_SOURCE_PREFIX + hashlib.sha256(email.encode()).hexdigest()[:32]


def is_offer_open(campaign: Campaign, now: datetime | None = None) -> bool:
    """Whether the page may give codes now: enabled, active, still issuing and under its cap."""
    if not campaign.landing_enabled or campaign.is_issuing_stopped:
        return False
    if campaign.status_at(now) != CampaignStatus.ACTIVE:
        return False
    cap = campaign.max_redemptions
    return cap is None or (campaign.codes_issued < cap and campaign.redemptions_count < cap)


def customer_by_email(email: str) -> Customer | None:
    """The customer holding `email`, preferring the shop's own record to one a landing page created."""
    return (
        Customer.objects.filter(email=email, erased_at__isnull=True)
        .annotate(is_landing=Case(When(source_id__startswith=LANDING_SOURCE_PREFIX, then=Value(1)), default=Value(0),
                                  output_field=IntegerField()))
        .order_by("is_landing", "id")
        .first()
    )


def _check_eligible(campaign: Campaign, customer: Customer) -> None:
    from retention.segments import is_member

    if campaign.countries and customer.country and customer.country not in campaign.countries:
        raise LandingRefused("Sorry, this offer is not available in your country.", code="country_not_allowed")
    if campaign.landing_first_time_only and customer.orders_count > 0:
        raise LandingRefused("Sorry, this offer is for first-time customers only.", code="first_order_only")
    if campaign.segment_id and not is_member(customer, campaign.segment):
        raise LandingRefused("Sorry, this offer is not available to you.", code="segment_mismatch")


def claim_landing_code(
    *,
    campaign: Campaign,
    email: str,
    consent: bool,
    ip_address: str | None,
    user_agent: str,
    now: datetime | None = None,
) -> Code:
    """Give the address a code of the campaign's landing page and mail it (see the module's decisions).

    Returns the code; `code.is_new_claim` is False when the address had claimed before (same code, mailed
    again). Raises OfferEnded when the page is closed or the cap is reached, LandingRefused when a rule of
    the campaign excludes the customer.
    """
    from retention.services.customers import upsert_customer

    now = now or timezone.now()
    email = normalise_email(email)
    actor = Actor.system("landing_page")
    existing = LandingClaim.objects.filter(campaign=campaign, email=email).select_related("code").first()
    if existing is None:
        if not is_offer_open(campaign, now):
            raise OfferEnded()
        customer = customer_by_email(email)
        if customer is not None:
            _check_eligible(campaign, customer)  # refuse before writing anything
        else:
            customer, _created = upsert_customer(
                source_id=landing_source_id(email), data={"email": email}, actor=actor,
                consent_source=ConsentSource.LANDING_PAGE, ip_address=ip_address, user_agent=user_agent, now=now,
            )
        code = _claim(campaign=campaign, email=email, customer=customer, ip_address=ip_address, actor=actor,
                      now=now)
    else:
        code = existing.code
        code.is_new_claim = False
        customer = existing.customer
        transaction.on_commit(lambda: _send(code.pk))
    if consent:
        _record_landing_consent(customer=customer, actor=actor, ip_address=ip_address, user_agent=user_agent,
                                now=now)
    return code


@transaction.atomic(durable=True)
def _claim(*, campaign: Campaign, email: str, customer: Customer, ip_address, actor: Actor, now) -> Code:
    from campaigns.services.codes import issue_code

    # The campaign row lock makes the cap check and the one-claim-per-address check race-free.
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    existing = LandingClaim.objects.filter(campaign=campaign, email=email).select_related("code").first()
    if existing is not None:  # the same address, a moment earlier, in another request
        existing.code.is_new_claim = False
        transaction.on_commit(lambda: _send(existing.code_id))
        return existing.code
    if not is_offer_open(campaign, now):
        raise OfferEnded()
    customer = Customer.objects.get(pk=customer.pk)
    _check_eligible(campaign, customer)
    is_shop_customer = not customer.source_id.startswith(LANDING_SOURCE_PREFIX)
    code = issue_code(campaign=campaign, customer=customer if is_shop_customer else None, actor=actor,
                      source=CodeSource.LANDING, now=now)
    LandingClaim.objects.create(campaign=campaign, email=email, customer=customer, code=code, ip_address=ip_address)
    record_audit(actor=actor, action="landing.claimed", target=code,
                 after={"campaign": campaign.slug, "customer": customer.source_id, "assigned": is_shop_customer})
    transaction.on_commit(lambda: _send(code.pk))
    code.is_new_claim = True
    return code


def _send(code_id: int) -> None:
    from campaigns.tasks import send_code_email_task

    send_code_email_task.delay(code_id, "landing_code")


def _record_landing_consent(*, customer: Customer, actor: Actor, ip_address, user_agent: str, now) -> None:
    from retention.services.customers import record_consent

    # A suppressed address cannot grant consent (DomainError); the code is theirs all the same.
    with suppress(DomainError):
        record_consent(customer=customer, channel=ConsentChannel.EMAIL_MARKETING, granted=True,
                       source=ConsentSource.LANDING_PAGE, actor=actor, wording_version=CONSENT_WORDING_VERSION,
                       ip_address=ip_address, user_agent=user_agent, now=now)

"""Portal sessions: the signed-in customer lives under its own session key, apart from staff logins.

No Django user is ever logged in here, so a customer gains nothing in the back-office, and a staff
login gains nothing in the portal: every portal page reads PORTAL_SESSION_KEY only.
"""

from functools import wraps

from django.shortcuts import redirect

from retention.models import Customer

PORTAL_SESSION_KEY = "portal_customer_id"


def sign_in_customer(request, customer: Customer) -> None:
    # A new session key on sign-in defeats session fixation; cycle_key keeps a staff login in the same
    # browser (it is a separate key) instead of flushing it.
    request.session.cycle_key()
    request.session[PORTAL_SESSION_KEY] = customer.pk


def sign_out_customer(request) -> None:
    request.session.pop(PORTAL_SESSION_KEY, None)


def portal_customer(request) -> Customer | None:
    """The signed-in customer, or None (also when the profile was erased since)."""
    customer_id = request.session.get(PORTAL_SESSION_KEY)
    if customer_id is None:
        return None
    customer = Customer.objects.filter(pk=customer_id, erased_at__isnull=True).first()
    if customer is None:
        sign_out_customer(request)
    return customer


def customer_required(view):
    """Portal view decorator: sets request.portal_customer or sends the visitor to the sign-in page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        customer = portal_customer(request)
        if customer is None:
            return redirect("loyalty:portal:sign_in")
        request.portal_customer = customer
        return view(request, *args, **kwargs)

    return wrapper

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone

from retention.models import Customer, Order, Segment
from retention.roles import MARKETING, SUPPORT, has_role


def _figures() -> dict:
    customers = Customer.objects.filter(erased_at__isnull=True).aggregate(
        total=Count("pk"),
        consenting=Count("pk", filter=Q(email_marketing_consent=True) | Q(sms_marketing_consent=True)),
    )
    since = timezone.now() - timedelta(days=30)
    return {
        "customers": customers["total"],
        "consenting": customers["consenting"],
        "recent_orders": Order.objects.filter(created_at__gte=since).count(),
        "segments": Segment.objects.count(),
    }


@login_required
def dashboard(request):
    # Marketers start on the campaign dashboard; the core names it by setting, so it imports no app to its right.
    marketer_home = settings.RETENTION.get("MARKETER_HOME")
    if marketer_home and has_role(request.user, MARKETING):
        return redirect(marketer_home)
    # Outsiders (signed in, no role) get only the greeting: the figures are business data.
    figures = _figures() if has_role(request.user, MARKETING, SUPPORT) else None
    return render(request, "retention/dashboard.html", {"nav": "dashboard", "figures": figures})

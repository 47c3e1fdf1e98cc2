from django.shortcuts import render

from retention.filters import AuditEntryFilter
from retention.models import AuditEntry
from retention.roles import MARKETING, role_required
from retention.views.common import paginate

_MISSING = object()


def changes(entry: AuditEntry) -> list[dict]:
    """The entry's before/after as rows of field, old and new value; unchanged fields are left out."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    rows = []
    for field in [*before, *(key for key in after if key not in before)]:
        old, new = before.get(field, _MISSING), after.get(field, _MISSING)
        if old == new and entry.before is not None and entry.after is not None:
            continue
        rows.append({
            "field": field,
            "old": None if old is _MISSING else old,
            "new": None if new is _MISSING else new,
            "has_old": old is not _MISSING,
            "has_new": new is not _MISSING,
        })
    return rows


@role_required(MARKETING)
def audit_list(request):
    entries = AuditEntry.objects.select_related("actor_user", "actor_api_key")
    audit_filter = AuditEntryFilter(request.GET or None, queryset=entries)
    page = paginate(request, audit_filter.qs)
    for entry in page.object_list:
        entry.changes = changes(entry)
    return render(request, "retention/audit_list.html",
                  {"filter": audit_filter, "page_obj": page, "nav": "audit"})

"""Segments: list with live counts, the rule builder with its live preview, static member lists."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from retention.actors import Actor
from retention.errors import DomainError, InvalidInput
from retention.forms import METADATA_FIELD, SegmentForm, StaticMembersForm, rule_rows, rules_from_post
from retention.models import Customer, Segment, SegmentKind
from retention.roles import MARKETING, SUPPORT, role_required
from retention.segments import FIELDS, compile_rules, customers_in, field_for, segment_count, validate_rules
from retention.services import segments as segment_services
from retention.views.common import paginate

PREVIEW_SIZE = 10
UNKNOWN_SHOWN = 50
OPERATOR_WORDS = {
    "eq": "is", "ne": "is not", "in": "is one of", "not_in": "is none of", "gt": "is more than",
    "gte": "is at least", "lt": "is less than", "lte": "is at most", "contains": "contains",
}


def rule_in_words(rule: dict) -> str:
    field = field_for(rule.get("field"))
    label = rule.get("field", "?") if field is None else field.label
    if field is not None and field.name == METADATA_FIELD:
        label = f"metadata “{rule['field'].removeprefix('metadata.')}”"
    value = rule.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else {True: "yes", False: "no"}.get(value, value)
    return f"{label} {OPERATOR_WORDS.get(rule.get('op'), rule.get('op'))} {shown}"


def segment_in_words(segment: Segment) -> str:
    if segment.kind == SegmentKind.STATIC:
        return "Uploaded list"
    if not segment.rules:
        return "Everyone"
    joiner = " and " if segment.match == "all" else " or "
    return joiner.join(rule_in_words(rule) for rule in segment.rules)


def _builder_context(form: SegmentForm, rows: list[dict], row_errors: dict, **extra) -> dict:
    # One blank row at the end lets a browser without JavaScript add a rule per save.
    rows = [*rows, {"field": "", "key": "", "op": "", "value": ""}]
    for index, row in enumerate(rows):
        row["errors"] = row_errors.get(index, [])
    return {
        "form": form, "rows": rows, "fields": FIELDS, "operators": OPERATOR_WORDS, "metadata_field": METADATA_FIELD,
        "fields_spec": {field.name: {"ops": list(field.ops), "type": field.type, "help": field.help}
                        for field in FIELDS},
        "members_form": extra.pop("members_form", None) or StaticMembersForm(),
        "nav": "segments", **extra,
    }


def _row_errors(errors: dict[str, list[str]]) -> tuple[dict[int, list[str]], dict[str, list[str]]]:
    """Split the engine's "rules.2.value" keys into errors per builder row and the remaining field errors."""
    per_row: dict[int, list[str]] = {}
    others: dict[str, list[str]] = {}
    for key, problems in errors.items():
        parts = key.split(".")
        if parts[0] == "rules" and len(parts) > 1 and parts[1].isdigit():
            what = parts[2] if len(parts) > 2 else "rule"
            per_row.setdefault(int(parts[1]), []).extend(f"{what}: {problem}" for problem in problems)
        else:
            others[key] = problems
    return per_row, others


def _unknown_message(request, unknown: list[str]) -> None:
    if unknown:
        shown = ", ".join(unknown[:UNKNOWN_SHOWN]) + (f" and {len(unknown) - UNKNOWN_SHOWN} more"
                                                     if len(unknown) > UNKNOWN_SHOWN else "")
        messages.warning(request, f"{len(unknown)} not found, so not added: {shown}")


@role_required(MARKETING, SUPPORT)
def segment_list(request):
    segments = list(Segment.objects.all())
    for segment in segments:
        segment.in_words = segment_in_words(segment)
    return render(request, "retention/segment_list.html", {"segments": segments, "nav": "segments"})


@role_required(MARKETING, SUPPORT)
def segment_count_fragment(request, pk: int):
    """The live count of one segment, loaded by htmx after the list so a slow count delays nothing else."""
    segment = get_object_or_404(Segment, pk=pk)
    return render(request, "retention/segment_list.html#count", {"segment": segment, "count": segment_count(segment)})


@role_required(MARKETING, SUPPORT)
def segment_detail(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    members = customers_in(segment).prefetch_related("tags")
    page = paginate(request, members)
    return render(request, "retention/segment_detail.html", {
        "segment": segment, "in_words": segment_in_words(segment), "page_obj": page,
        "members_form": StaticMembersForm(), "nav": "segments",
    })


def _save(request, form: SegmentForm, segment: Segment | None):
    """Validate and save through the segment service; answer the page again with every problem in place."""
    rules = rules_from_post(request.POST)
    members_form = StaticMembersForm(request.POST, request.FILES)
    if form.is_valid() and members_form.is_valid():
        data = form.cleaned_data
        is_static = (segment.kind if segment else data["kind"]) == SegmentKind.STATIC
        fields = {"name": data["name"], "slug": data["slug"], "match": data["match"],
                  "description": data["description"], "rules": [] if is_static else rules}
        members = members_form.cleaned_data["identifiers"] if is_static else None
        actor = Actor.for_user(request.user)
        try:
            if segment is None:
                segment, unknown = segment_services.create_segment(
                    **fields, kind=data["kind"], members=members, actor=actor)
            else:
                # An edit with nothing uploaded keeps the current members of a static segment.
                segment, unknown = segment_services.update_segment(
                    segment=segment, **fields, members=members or None, actor=actor)
        except InvalidInput as error:
            row_errors, others = _row_errors(error.fields)
            for key, problems in others.items():
                form.add_error(key if key in form.fields else None, problems)
        else:
            messages.success(request, f"Segment “{segment.name}” saved.")
            _unknown_message(request, unknown)
            return redirect("segments:detail", pk=segment.pk)
    else:
        row_errors, _others = _row_errors(validate_rules(rules))
    context = _builder_context(form, rule_rows(rules), row_errors, segment=segment, members_form=members_form)
    return render(request, "retention/segment_form.html", context, status=400)


@role_required(MARKETING)
def segment_create(request):
    form = SegmentForm(request.POST or None)
    if request.method == "POST":
        return _save(request, form, None)
    return render(request, "retention/segment_form.html", _builder_context(form, [], {}))


@role_required(MARKETING)
def segment_edit(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    initial = {field: getattr(segment, field) for field in ("name", "slug", "description", "kind", "match")}
    form = SegmentForm(request.POST or None, initial=initial, segment=segment)
    if request.method == "POST":
        return _save(request, form, segment)
    return render(request, "retention/segment_form.html",
                  _builder_context(form, rule_rows(segment.rules), {}, segment=segment))


@role_required(MARKETING)
@require_POST
def segment_preview(request):
    """htmx: the builder's current rules answered with the count and first customers, or the problems."""
    rules = rules_from_post(request.POST)
    match = request.POST.get("match", "all")
    errors = validate_rules(rules)
    context = {"rules": rules, "errors": errors}
    if not errors:
        members = Customer.objects.filter(erased_at__isnull=True).filter(compile_rules(match, rules))
        context.update(count=members.count(), sample=members[:PREVIEW_SIZE])
    else:
        context["row_errors"] = sorted(_row_errors(errors)[0].items())
    return render(request, "retention/segment_form.html#preview", context)


@role_required(MARKETING)
@require_POST
def segment_members_upload(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk, kind=SegmentKind.STATIC)
    form = StaticMembersForm(request.POST, request.FILES)
    if not form.is_valid() or not form.cleaned_data["identifiers"]:
        messages.error(request, " ".join(form.non_field_errors()) or "Upload or paste at least one source_id or email.")
        return redirect("segments:detail", pk=segment.pk)
    segment, unknown = segment_services.update_segment(
        segment=segment, members=form.cleaned_data["identifiers"], actor=Actor.for_user(request.user))
    messages.success(request, f"Members of “{segment.name}” replaced.")
    _unknown_message(request, unknown)
    return redirect("segments:detail", pk=segment.pk)


@role_required(MARKETING)
def segment_delete(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    if request.method == "POST":
        try:
            segment_services.delete_segment(segment=segment, actor=Actor.for_user(request.user))
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("segments:detail", pk=segment.pk)
        messages.success(request, f"Segment “{segment.name}” deleted.")
        return redirect("segments:list")
    return render(request, "retention/confirm_delete.html", {
        "nav": "segments", "title": "Delete segment", "object_label": segment.name,
        "warning": "Campaigns cannot use it any more. Customers are not affected.",
        "cancel_url": reverse("segments:detail", args=[segment.pk]),
    })

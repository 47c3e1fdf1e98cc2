"""Segments: rules checked by retention.segments.validate_rules; static members matched by source_id or email."""

from django.db import transaction

from retention.actors import Actor
from retention.audit import record_audit, snapshot
from retention.emails import normalise_email
from retention.errors import DomainError, InvalidInput
from retention.models import Customer, Segment, SegmentKind, SegmentMatch, StaticSegmentMember
from retention.segments import validate_rules

AUDITED_FIELDS = ["name", "slug", "kind", "match", "rules", "description"]
UNSET = object()


@transaction.atomic(durable=True)
def create_segment(
    *,
    name: str,
    slug: str,
    match: str = SegmentMatch.ALL,
    rules: list | None = None,
    kind: str = SegmentKind.DYNAMIC,
    members: list[str] | None = None,
    description: str = "",
    actor: Actor,
) -> tuple[Segment, list[str]]:
    """Create a segment; return (segment, members that matched no customer).

    Invalid rules or a taken slug raise InvalidInput with field errors ("rules.2.value", "slug").
    """
    rules = rules or []
    _check(slug=slug, match=match, rules=rules, kind=kind)
    segment = Segment.objects.create(name=name, slug=slug, match=match, rules=rules, kind=kind,
                                     description=description)
    unknown = _replace_members(segment, members or []) if kind == SegmentKind.STATIC else []
    record_audit(actor=actor, action="segment.created", target=segment, after=snapshot(segment, AUDITED_FIELDS))
    return segment, unknown


@transaction.atomic(durable=True)
def update_segment(
    *,
    segment: Segment,
    name=UNSET,
    slug=UNSET,
    match=UNSET,
    rules=UNSET,
    description=UNSET,
    members: list[str] | None = None,
    actor: Actor,
) -> tuple[Segment, list[str]]:
    """Change the given fields (and, for a static segment, replace its members when `members` is given)."""
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    before = snapshot(segment, AUDITED_FIELDS)
    changes = {key: value for key, value in
               {"name": name, "slug": slug, "match": match, "rules": rules, "description": description}.items()
               if value is not UNSET}
    merged = {**before, **changes}
    _check(slug=merged["slug"], match=merged["match"], rules=merged["rules"], kind=segment.kind,
           exclude_pk=segment.pk)
    for key, value in changes.items():
        setattr(segment, key, value)
    segment.save()
    unknown = []
    if members is not None and segment.kind == SegmentKind.STATIC:
        unknown = _replace_members(segment, members)
    record_audit(actor=actor, action="segment.updated", target=segment, before=before,
                 after={**snapshot(segment, AUDITED_FIELDS), "members_replaced": members is not None})
    return segment, unknown


@transaction.atomic(durable=True)
def delete_segment(*, segment: Segment, actor: Actor) -> None:
    """Delete a segment; DomainError `segment_in_use` while anything else (a campaign) points at it.

    Deleting a segment a campaign is narrowed to would silently widen that campaign to everyone.
    """
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    for relation in Segment._meta.related_objects:
        if relation.related_model is StaticSegmentMember:
            continue
        if relation.related_model._base_manager.filter(**{relation.field.name: segment}).exists():
            raise DomainError(f"Segment {segment.slug!r} is used by {relation.related_model._meta.verbose_name}.",
                              code="segment_in_use")
    record_audit(actor=actor, action="segment.deleted", target=segment, before=snapshot(segment, AUDITED_FIELDS))
    segment.delete()


def _check(*, slug: str, match: str, rules, kind: str, exclude_pk: int | None = None) -> None:
    errors = {}
    if match not in SegmentMatch.values:
        errors["match"] = [f"must be one of {', '.join(SegmentMatch.values)}"]
    if kind not in SegmentKind.values:
        errors["kind"] = [f"must be one of {', '.join(SegmentKind.values)}"]
    if kind == SegmentKind.DYNAMIC:
        errors.update(validate_rules(rules))
    if Segment.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        errors["slug"] = ["a segment with this slug already exists"]
    if errors:
        raise InvalidInput("Invalid segment.", fields=errors)


def _replace_members(segment: Segment, members: list[str]) -> list[str]:
    """Each member is a source_id, or an email when it holds "@"; return those matching no customer."""
    wanted = list(dict.fromkeys(member.strip() for member in members if member and member.strip()))
    emails = {normalise_email(member) for member in wanted if "@" in member}
    found = Customer.objects.filter(erased_at__isnull=True).filter(
        source_id__in=wanted) | Customer.objects.filter(erased_at__isnull=True, email__in=emails)
    by_source, by_email, ids = {}, {}, set()
    for pk, source_id, email in found.values_list("pk", "source_id", "email"):
        by_source[source_id] = pk
        by_email.setdefault(email, pk)
        ids.add(pk)
    unknown = [member for member in wanted if member not in by_source and normalise_email(member) not in by_email]
    StaticSegmentMember.objects.filter(segment=segment).delete()
    StaticSegmentMember.objects.bulk_create([StaticSegmentMember(segment=segment, customer_id=pk) for pk in ids])
    return unknown

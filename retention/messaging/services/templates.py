"""Writing message templates: validation happens here, so an error shows on save, never at send time."""

from django.db import transaction

from retention.actors import Actor
from retention.audit import record_audit, snapshot
from retention.messaging.errors import TemplateInvalid
from retention.messaging.models import MessageTemplate
from retention.messaging.queries import SHARED, template_for_owner
from retention.messaging.rendering import TEMPLATE_FIELDS, validate_template


@transaction.atomic(durable=True)
def save_message_template(
    *, owner_type: str, owner_id: str, channel: str, fields: dict[str, str], actor: Actor
) -> MessageTemplate:
    """Create or update the template of (owner_type, owner_id, channel).

    `fields` holds the channel's text fields (email: subject, html_body, text_body; sms: body;
    webhook: json_body). Raises TemplateInvalid with every problem (field, line, reason) and
    writes nothing when the template does not compile, render or (webhook) yield valid JSON.
    Owner "shared" stores a shared template named `owner_id`.
    """
    problems = validate_template(channel=channel, fields=fields)
    if problems:
        raise TemplateInvalid(problems)
    names = list(TEMPLATE_FIELDS[channel])
    template = template_for_owner(owner_type=owner_type, owner_id=owner_id, channel=channel, for_update=True)
    before = snapshot(template, names) if template else None
    if template is None:
        template = (
            MessageTemplate(name=owner_id, channel=channel)
            if owner_type == SHARED
            else MessageTemplate(owner_type=owner_type, owner_id=owner_id, channel=channel)
        )
    for name in names:
        setattr(template, name, fields.get(name, "") or "")
    template.save()
    record_audit(
        actor=actor, action="message_template.saved", target=template, before=before, after=snapshot(template, names)
    )
    return template

"""Messaging's writes, one module per sub-domain.

- templates.save_message_template(): validate and store a template.
- deliveries.queue_message() / queue_messages(): write deliveries inside the caller's transaction.
- deliveries.queue_to_address(): a transactional email to someone who is not a customer (no Customer row).
- deliveries.send_delivery() / sweep_deliveries(): claim, send, retry, give up.
- webhooks.emit_webhook() / send_webhook_delivery() / send_test_event() / verify_signature().
- unsubscribes.unsubscribe_customer(): the consent withdrawal behind an unsubscribe link.
"""

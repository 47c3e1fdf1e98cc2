"""Referral writes, one module per sub-domain. Public functions are keyword-only and run in ONE durable
transaction unless marked "not durable"; time-dependent ones take `now=None`.

- programs.create_program(*, data, actor) / update_program(*, program, data, actor)
  set_program_enabled(*, program, enabled, actor)
- codes.get_or_create_referral_code(*, program, customer, actor, now=None)
  start_code_job(*, program, segment, actor) / run_code_job(*, job_id)
- referrals.register_referral(*, code, friend, actor, ip_address=None, device_id="", now=None)
  register_referrals(*, entries, actor, now=None): many sign-ups, a result (Referral or refusal) per entry
- conversions.convert_for_order(*, order_id, now=None) / convert_for_event(*, event_id, now=None)
  convert_for_orders(*, order_ids, now=None): many orders, set-based (convert_for_order is its one-order case)
  queue_conversion(*, order_id) / convert_queued_orders(*, now=None): order_recorded's queue and its collector
  cancel_for_refund(*, order_id, now=None) / release_held_referrals(*, now=None)
  approve_referral(*, referral, actor, note="", now=None) / reject_referral(*, referral, actor, note, now=None)
  set_payout_status(*, reward, status, actor)
- invitations.invite_by_email(*, code, email, now=None)

Refusals raise referrals.errors.ReferralError (422, `code` = ReferralReason) or retention.errors.InvalidInput.
"""

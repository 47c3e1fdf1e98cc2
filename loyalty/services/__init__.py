"""Loyalty's writes, one module per sub-domain. Every public function is keyword-only and runs in ONE
durable transaction (except where marked "not durable"); time-dependent ones take `now=None`.

- programs.create_program(*, data, actor) / update_program(*, program, data, actor)
- earning.earn_for_order(*, order_id, now=None) / reverse_order_points(*, order_id, now=None)
  earn_for_orders(*, order_ids, now=None): the same for many orders in one set-based transaction (bulk)
  earn_for_event(*, event_id, now=None) / earn_signup_bonus(*, customer_id, now=None)
- rewards.redeem_reward(*, account_or_customer, reward, actor, now=None) -> RewardRedemption
  fulfil_reward_redemption(*, redemption, actor, now=None); unavailability(reward, account) (a read)
- adjustments.adjust_points(*, account, points, reason, actor, now=None) -> LedgerEntry | AdjustmentRequest
  approve_adjustment(*, request, actor, now=None) / reject_adjustment(*, request, actor, now=None)
- expiry.release_pending_points(*, now=None) / expire_points(*, now=None) / send_expiry_reminders(*, now=None)
- tiers.reevaluate_tiers(*, now=None)
- ledger.account_for(*, program, customer): the account, created on first use (not durable)
- ledger.credit(account, ...) / credit_many(credits, *, now) / debit(account, ...): other apps' point moves
  (not durable: inside the caller's transaction, accounts locked); credit_many is credit for many in 3 statements

Refusals raise loyalty.errors.LoyaltyError (422, `code` = LoyaltyReason) or retention.errors.InvalidInput.
"""

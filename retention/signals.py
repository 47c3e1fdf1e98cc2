"""What happened in the core. Apps to the right listen in their receivers.py.

Every signal is sent after the writing transaction commits, so receivers see committed rows.
"""

from django.dispatch import Signal

# customer: Customer
customer_created = Signal()
# order: Order, previous_status: str | None (None when the order is new)
order_recorded = Signal()
# event: Event
event_recorded = Signal()
# customer: Customer
customer_erased = Signal()
# seed_demo finished adding customers; each receiver adds its app's demo content and returns a line
# for the command's output (or None).
demo_data_seeded = Signal()

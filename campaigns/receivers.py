"""Listens to retention's signals: the welcome trigger (on sign-up, or on the first paid order)."""

from django.db.models import Exists
from django.db.models.signals import post_delete

from campaigns.models import Campaign
from retention.models import Customer, OrderStatus
from retention.signals import customer_created, order_recorded

# Welcome runs as a task: the signal comes after the customer's commit, and issuing and rendering must neither
# slow down nor fail the sign-up or the order that caused it.

def welcome_on_signup(sender, customer, **kwargs) -> None:
    if not Campaign.objects.filter(trigger__type="welcome").exists():
        return
    from campaigns.tasks import fire_welcome_task

    fire_welcome_task.delay(customer.pk, "signup")


def welcome_on_first_order(sender, order, previous_status=None, **kwargs) -> None:
    # The paid order that made orders_count 1 is the first; "welcome" is unique per customer, so a replay
    # of the signal changes nothing.
    if order.status != OrderStatus.PAID:
        return
    # One query for both questions: this runs for every paid order.
    welcome_campaigns = Campaign.objects.filter(trigger__type="welcome")
    if not Customer.objects.filter(Exists(welcome_campaigns), pk=order.customer_id, orders_count=1).exists():
        return
    from campaigns.tasks import fire_welcome_task

    fire_welcome_task.delay(order.customer_id, "first_order")


def drop_calendar_schedule(sender, instance, **kwargs) -> None:
    from campaigns.services.calendar import delete_calendar_schedule

    delete_calendar_schedule(instance.pk)


def connect() -> None:
    customer_created.connect(welcome_on_signup, dispatch_uid="campaigns.welcome_on_signup")
    order_recorded.connect(welcome_on_first_order, dispatch_uid="campaigns.welcome_on_first_order")
    post_delete.connect(drop_calendar_schedule, sender=Campaign, dispatch_uid="campaigns.drop_calendar_schedule")
    from campaigns.views_calendar import customer_calendar_panel
    from retention.panels import register_customer_panel

    register_customer_panel(key="calendar", title="Calendar campaigns", order=60,
                            template_name="campaigns/trigger_customer_panel.html", context=customer_calendar_panel)

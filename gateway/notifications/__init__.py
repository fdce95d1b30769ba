"""Order-status notifications (issue 6): the customer hears of their parcel on the channel
their order names. config.py reads config/notifications.yml, compose.py words the
message, notifier.py schedules, claims and sends it."""

from gateway.notifications.config import NotificationConfig
from gateway.notifications.notifier import Notifier

__all__ = ["NotificationConfig", "Notifier"]

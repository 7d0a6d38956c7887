"""Bounces and complaints reported by a transactional provider (django-anymail's tracking webhooks):
the address is suppressed, so nothing more is sent to it, and instructors see it on the roster."""
from anymail.signals import tracking
from django.dispatch import receiver

from server.notifications.services import suppress

STOPPING = {"bounced", "rejected", "complained", "unsubscribed"}


@receiver(tracking)
def on_tracking_event(sender, event, esp_name, **kwargs):
    if event.event_type in STOPPING and event.recipient:
        suppress(event.recipient, f"{event.event_type} ({esp_name}): {event.description or event.mta_response or ''}")

"""manage.py mailsink [--port 1025] [--dir var/mail]: a local SMTP server that writes every message it
receives as an .eml file (the demo's mailbox; never for production)."""
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from server.notifications.sink import MailSink, start


class Command(BaseCommand):
    help = "Run a local SMTP sink on loopback that writes each message it receives under a folder."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)
        parser.add_argument("--dir", default=str(settings.VAR_DIR / "mail"))

    def handle(self, *args, host, port, dir, **options):
        controller = start(MailSink(dir), host=host, port=port)
        self.stdout.write(f"SMTP sink on {host}:{controller.port}, writing messages to {dir}/")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        controller.stop()

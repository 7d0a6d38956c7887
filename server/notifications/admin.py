from django.contrib import admin, messages

from server.notifications.models import MailPreference, Message, Suppression
from server.notifications.services import mail_configured


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "recipient", "state", "attempts", "sent_at", "last_error")
    list_filter = ("state", "kind")
    search_fields = ("recipient", "key", "subject")
    readonly_fields = [f.name for f in Message._meta.fields]

    def changelist_view(self, request, extra_context=None):
        if not mail_configured():
            messages.warning(request, "E-mail is off: EMAIL_HOST is not set (see .env.example), so nothing is "
                                      "sent and new messages are marked 'not sent'.")
        failed = Message.objects.filter(state=Message.FAILED).count()
        if failed:
            messages.error(request, f"{failed} message{'s' if failed != 1 else ''} could not be sent after a day "
                                    "of retrying: see the ones marked 'Gave up after retrying'.")
        return super().changelist_view(request, extra_context)


admin.site.register(MailPreference)
admin.site.register(Suppression)

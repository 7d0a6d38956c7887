from django.contrib import admin

from server.lti.models import ContextLink, Deployment, Platform, ToolKey


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 1


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    """LMS registrations: launches from one are refused until a staff member approves it."""

    list_display = ("name", "issuer", "client_id", "approved", "created_at")
    list_filter = ("approved",)
    inlines = [DeploymentInline]


@admin.register(ContextLink)
class ContextLinkAdmin(admin.ModelAdmin):
    list_display = ("platform", "context_id", "title", "course", "created_at")
    readonly_fields = ("platform", "context_id", "created_at")


@admin.register(ToolKey)
class ToolKeyAdmin(admin.ModelAdmin):
    """Bellman's keys, shown without their private part (manage.py lti_keys rotates and retires them)."""

    list_display = ("kid", "signs_from", "retired_at", "created_at")
    fields = ("kid", "public_jwk", "signs_from", "retired_at", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

"""The users in the admin: staff accounts, their roles, and the enrolment codes for the second
factor."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.services import staff_issue_enrolment_code


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "last_login")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (gettext_lazy("Personal info"), {"fields": ("full_name", "preferred_language")}),
        (
            gettext_lazy("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups")},
        ),
        (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["issue_enrolment_code"]

    @admin.action(
        description=gettext_lazy(
            "Issue a second-factor enrolment code (replaces the authenticator)"
        )
    )
    def issue_enrolment_code(self, request: HttpRequest, queryset: Any) -> None:
        for user in queryset.filter(is_staff=True, is_active=True):
            code = staff_issue_enrolment_code(user=user)
            self.message_user(
                request,
                _("Enrolment code for %(email)s (shown once, valid 72 hours): %(code)s")
                % {"email": user.email, "code": code},
                messages.WARNING,
            )

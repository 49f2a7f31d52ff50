"""The user, who signs in with an e-mail address and reads in a preferred language, with the
account's own states (frozen when reported stolen, closed), and the sign-in history."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role


class EmailUserManager(UserManager["User"]):
    """Users sign in with their e-mail address; there is no separate username."""

    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=10,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )

    # Set when the applicant reports the account stolen: nothing can be changed until a
    # supervisor has checked and unfrozen it.
    frozen_at = models.DateTimeField(_("frozen"), null=True, blank=True)
    # Set when the applicant closes the account; the real-name record and history stay.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    # A one-time code that lets a member of staff enrol an authenticator (DESIGN §8: a password
    # alone never opens the admin, not even to set up the second factor). Only its hash is kept.
    enrolment_code_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    enrolment_code_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = EmailUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # The staff lists of the workbench (assignee filter, reassign form) among many applicants.
        indexes = [
            models.Index(fields=["email"], condition=Q(is_staff=True), name="user_staff_email")
        ]

    def __str__(self) -> str:
        return self.email

    def has_role(self, role: Role | str) -> bool:
        return self.groups.filter(name=str(role)).exists()


class SignInRecord(models.Model):
    """One successful sign-in: when, from where, with what (shown to the person themselves)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_ins")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("device"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")
        ordering = ("-at", "-pk")
        indexes = [models.Index(fields=["user", "-at"], name="signin_user_at")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.at:%Y-%m-%d %H:%M}"

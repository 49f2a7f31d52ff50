from django.contrib.admin.apps import AdminConfig


class KycAdminConfig(AdminConfig):
    """The admin with the second-factor sign-in (accounts/two_factor.py)."""

    default_site = "accounts.two_factor.KycAdminSite"

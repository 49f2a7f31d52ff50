"""The URLs: the applicant portal, accounts, the REST API and its schema, and the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from cases import views as case_views

portal = [
    path("", case_views.case_list, name="cases"),
    path("new/<str:program>/", case_views.case_start, name="start"),
    path("<uuid:uuid>/", case_views.case_detail, name="case"),
    path("<uuid:uuid>/declared/", case_views.case_declared, name="declared"),
    path("<uuid:uuid>/document/<int:pk>/", case_views.case_document, name="document"),
    path("<uuid:uuid>/upload/<str:slot>/", case_views.case_upload, name="upload"),
    path("<uuid:uuid>/submit/", case_views.case_submit, name="submit"),
    path("<uuid:uuid>/resubmit/", case_views.case_resubmit, name="resubmit"),
    path("<uuid:uuid>/reapply/", case_views.case_reapply, name="reapply"),
]

accounts = [
    path("signup/", account_views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="portal/password_reset.html",
            email_template_name="portal/password_reset_email.txt",
            subject_template_name="portal/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="portal/password_reset_confirm.html"
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="portal/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("language/", account_views.language, name="language"),
    path("security/", account_views.security, name="security"),
    path("security/stolen/", account_views.report_theft, name="report_theft"),
    path("security/close/", account_views.close_account, name="close_account"),
    path("my-data.json", account_views.data_download, name="data_download"),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("cases/", include((portal, "portal"))),
    path("accounts/", include(accounts)),
    path("api/v1/", include("cases.integrations.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

"""The REST API v1's routes, mounted at /api/v1/ by kycreview/urls.py."""

from django.urls import path, re_path

from cases.integrations.api import views

urlpatterns = [
    path("cases/", views.CaseListCreate.as_view(), name="api-cases"),
    path("cases/<str:uuid>/", views.CaseDetail.as_view(), name="api-case"),
    path("cases/<str:uuid>/history/", views.CaseHistory.as_view(), name="api-case-history"),
    path(
        "cases/<str:uuid>/documents/<str:slot>/",
        views.CaseUpload.as_view(),
        name="api-case-upload",
    ),
    path("cases/<str:uuid>/submit/", views.CaseSubmit.as_view(), name="api-case-submit"),
    path("cases/<str:uuid>/resubmit/", views.CaseResubmit.as_view(), name="api-case-resubmit"),
    path(
        "cases/<str:uuid>/report-theft/",
        views.CaseReportTheft.as_view(),
        name="api-case-report-theft",
    ),
    path("cases/<str:uuid>/close/", views.CaseClose.as_view(), name="api-case-close"),
    # Anything else under /api/v1/ is a 404 in the API's own JSON shape, not an HTML page.
    re_path(r"^.*$", views.NotFoundView.as_view(), name="api-not-found"),
]

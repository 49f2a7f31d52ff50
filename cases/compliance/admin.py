"""The auditors' pages in the admin (supervisors and auditors, read-only): case histories to
search (reference, applicant, exact ID number, reviewer, period) that open on a case's complete
timeline and its state "as of" any instant; and the audit trail verification: every run with
what it found, the latest anchor, and buttons to verify now (it reads only) and to anchor now
(supervisors)."""

from __future__ import annotations

import base64
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Case as DbCase
from django.db.models import QuerySet, Value, When
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from cases import rules
from cases.admin.base import ReadOnly, log_access, person
from cases.admin.queues import QueueAdmin
from cases.audit import client_ip
from cases.compliance.evidence import evidence_open, evidence_request, may_include_files
from cases.compliance.reports import (
    REPORTS,
    REPORTS_BY_NAME,
    WEEKS_SHOWN,
    Filters,
    default_filters,
    figures_as_of,
    week_of,
)
from cases.compliance.retention import (
    first_signer,
    holding,
    legal_hold_countersign,
    legal_hold_decline,
    legal_hold_propose,
    legal_hold_propose_lift,
    purge_due_at,
)
from cases.compliance.timeline import case_as_of, case_timeline, cases_handled_by
from cases.compliance.verification import load_anchors
from cases.enqueue import AUDIT_ANCHOR, AUDIT_VERIFY, enqueue
from cases.errors import CaseActionError, InvalidState, NotPermitted, security_log
from cases.models import (
    AccessKind,
    AuditCase,
    Case,
    ChainVerification,
    EvidenceExport,
    LegalHold,
    Program,
    ReportFact,
)
from cases.selectors import case_for_staff
from cases.states import ExportStatus, HoldStatus


def _reads(request: HttpRequest) -> bool:
    return bool(request.user.has_perm("cases.view_all_cases"))


def _anchors(request: HttpRequest) -> bool:
    return bool(request.user.has_perm("cases.configure_programs"))


@admin.register(ChainVerification)
class ChainVerificationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "started_at",
        "ok",
        "cases_checked",
        "events_checked",
        "anchors_checked",
        "anchor_name",
        "requested_by",
        "alerted_at",
    )
    list_filter = ("ok",)
    list_select_related = ("requested_by",)
    fields = (
        "started_at",
        "finished_at",
        "requested_by",
        "ok",
        "cases_checked",
        "events_checked",
        "anchors_checked",
        "anchor_name",
        "anchored_at",
        "problem_list",
        "alerted_at",
    )
    readonly_fields = fields
    change_list_template = "admin/cases/verification_change_list.html"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    @admin.display(description=gettext_lazy("problems"))
    def problem_list(self, run: ChainVerification) -> str:
        return format_html_join("", "<p>{}</p>", ((p,) for p in run.problems)) or "—"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("verify-now/", view(self.verify_now_view), name="cases_verify_now"),
            path("anchor-now/", view(self.anchor_now_view), name="cases_anchor_now"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        anchors, anchor_error = load_anchors()
        context = {
            "latest_anchor": anchors[-1] if anchors else None,
            "anchor_count": len(anchors),
            "anchor_error": anchor_error,
            "latest_run": ChainVerification.objects.first(),
            "can_anchor": _anchors(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def verify_now_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a verification of every chain; it writes only its own record."""
        if request.method != "POST" or not _reads(request):
            return HttpResponseForbidden()
        enqueue(AUDIT_VERIFY, requested_by_id=person(request).pk)
        self.message_user(
            request,
            _("The verification is running; its result appears in this list when it is done."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:cases_chainverification_changelist"))

    def anchor_now_view(self, request: HttpRequest) -> HttpResponse:
        """Queue an anchor of the chains that moved since the last one."""
        if request.method != "POST" or not _anchors(request):
            return HttpResponseForbidden()
        enqueue(AUDIT_ANCHOR)
        self.message_user(
            request,
            _("The heads are being anchored; the new anchor shows here when it is written."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:cases_chainverification_changelist"))


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnly, admin.ModelAdmin):
    """Every legal hold, those waiting for a countersignature first; each opens on its case's
    history, where supervisors sign."""

    list_display = ("case_link", "status", "reason", "proposed_by", "proposed_at", "placed_by")
    list_filter = ("status",)
    list_select_related = ("case", "proposed_by", "placed_by")
    search_fields = ("=case__reference",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        waiting = [HoldStatus.PROPOSED, HoldStatus.LIFT_PROPOSED]
        return (
            super()
            .get_queryset(request)
            .annotate(waiting=_waiting_first(waiting))
            .order_by("-waiting", "-proposed_at", "-pk")
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    @admin.display(description=gettext_lazy("case"))
    def case_link(self, hold: LegalHold) -> str:
        url = reverse("admin:cases_timeline", args=[hold.case.uuid])
        return format_html('<a href="{}#retention">{}</a>', url, hold.case)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        hold = (
            self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        )
        if hold is None:
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:cases_timeline", args=[hold.case.uuid]) + "#retention"
        )


def _waiting_first(statuses: list[HoldStatus]) -> Any:
    return DbCase(When(status__in=statuses, then=Value(1)), default=Value(0))


class BulkExportForm(forms.Form):
    program = forms.ModelChoiceField(
        label=gettext_lazy("Program"),
        queryset=Program.objects.all(),
        required=False,
        empty_label=gettext_lazy("every program"),
    )
    opened_from = forms.DateField(
        label=gettext_lazy("Opened from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    opened_to = forms.DateField(
        label=gettext_lazy("Opened until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    include_files = forms.BooleanField(
        label=gettext_lazy("With the document files"), required=False
    )


class CaseExportForm(forms.Form):
    include_files = forms.BooleanField(
        label=gettext_lazy("With the document files"), required=False
    )


@admin.register(EvidenceExport)
class EvidenceExportAdmin(ReadOnly, admin.ModelAdmin):
    """Evidence packs: every export (who asked for which cases, when), with its progress; its
    requester downloads it while it is kept. The form on top asks for a bulk export."""

    list_filter = ("status",)
    list_select_related = ("requested_by", "case", "program")
    change_list_template = "admin/cases/evidence_change_list.html"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return rules.may_export_evidence(person(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return rules.may_export_evidence(person(request))

    @admin.display(description=gettext_lazy("cases"))
    def selection(self, export: EvidenceExport) -> str:
        if export.case is not None:
            url = reverse("admin:cases_timeline", args=[export.case.uuid])
            return format_html('<a href="{}">{}</a>', url, export.case)
        return _("%(program)s, opened %(start)s – %(end)s (%(n)s cases)") % {
            "program": export.program or _("every program"),
            "start": export.opened_from,
            "end": export.opened_to,
            "n": export.total,
        }

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, export: EvidenceExport) -> str:
        return format_html(
            '<progress max="100" value="{}" data-export="{}"></progress> {}/{}',
            export.percent,
            export.uuid,
            export.done,
            export.total,
        )

    def get_list_display(self, request: HttpRequest) -> Any:
        viewer = person(request).pk

        @admin.display(description=gettext_lazy("download"))
        def download(export: EvidenceExport) -> str:
            """Only the requester downloads (the pack may hold files only they may see)."""
            if export.status != ExportStatus.READY or export.requested_by_id != viewer:
                return "—"
            url = reverse("admin:cases_evidence_download", args=[export.uuid])
            return format_html('<a href="{}" class="kyc-download">{}</a>', url, _("Download"))

        return (
            "requested_at",
            "requested_by",
            "selection",
            "status",
            "progress",
            "size",
            "expires_at",
            download,
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("request/", view(self.request_view), name="cases_evidence_request"),
            path("<uuid:uuid>/download/", view(self.download_view), name="cases_evidence_download"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        return super().changelist_view(request, extra_context=self._context(request, extra_context))

    def _context(self, request: HttpRequest, extra: Any = None, form: Any = None) -> dict[str, Any]:
        user = person(request)
        busy = EvidenceExport.objects.filter(
            requested_by=user, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
        ).exists()
        bulk = form or BulkExportForm()
        if not may_include_files(user):
            bulk.fields.pop("include_files", None)
        return {"bulk_form": bulk, "refresh": busy, **(extra or {})}

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for one case's pack (`case` = its UUID) or a bulk export (the form's period)."""
        user = person(request)
        if request.method != "POST" or not rules.may_export_evidence(user):
            return HttpResponseForbidden()
        case = None
        if request.POST.get("case"):
            case = case_for_staff(user, request.POST["case"])
            form: forms.Form = CaseExportForm(request.POST)
        else:
            form = BulkExportForm(request.POST)
        if not form.is_valid():
            return self._refused(request, form, status=400)
        data = form.cleaned_data
        try:
            evidence_request(
                actor=user,
                case=case,
                program=data.get("program"),
                opened_from=data.get("opened_from"),
                opened_to=data.get("opened_to"),
                include_files=bool(data.get("include_files")),
            )
        except NotPermitted as exc:
            form.add_error(None, exc.message)
            return self._refused(request, form, status=403)
        except CaseActionError as exc:
            form.add_error(None, exc.message)
            return self._refused(request, form, status=400)
        self.message_user(
            request,
            _("The evidence pack is being built; it can be downloaded here when it is ready."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:cases_evidenceexport_changelist"))

    def _refused(self, request: HttpRequest, form: forms.Form, *, status: int) -> HttpResponse:
        bulk = form if isinstance(form, BulkExportForm) else None
        if bulk is None:
            for error in form.non_field_errors():
                self.message_user(request, str(error), messages.ERROR)
        response = super().changelist_view(
            request, extra_context=self._context(request, None, bulk)
        )
        response.status_code = status
        return response

    def download_view(self, request: HttpRequest, uuid: Any) -> HttpResponseBase:
        """The archive, for whoever asked for it; the download is logged for each case in it."""
        export = EvidenceExport.objects.filter(uuid=uuid).select_related("case").first()
        if export is None:
            raise Http404
        try:
            handle = evidence_open(export, user=person(request), ip=client_ip(request.META))
        except NotPermitted as exc:
            security_log.warning(
                "denied evidence download export=%s user=%s", uuid, person(request).pk
            )
            return HttpResponseForbidden(exc.message)
        except CaseActionError as exc:
            return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
        name = f"evidence-{export.case.reference if export.case else export.uuid}.zip"
        response = FileResponse(
            handle, as_attachment=True, filename=name, content_type="application/zip"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


class ReportFilterForm(forms.Form):
    program = forms.ModelChoiceField(
        label=gettext_lazy("Program"),
        queryset=Program.objects.all(),
        required=False,
        empty_label=gettext_lazy("every program"),
    )
    first_week = forms.DateField(
        label=gettext_lazy("From the week of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    last_week = forms.DateField(
        label=gettext_lazy("To the week of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_week"), data.get("last_week")
        if first and last and last < first:
            raise forms.ValidationError(_("The period ends before it starts."))
        if first and last and (last - first).days > 7 * MAX_REPORT_WEEKS:
            raise forms.ValidationError(_("Choose at most %(n)s weeks.") % {"n": MAX_REPORT_WEEKS})
        return data

    def filters(self) -> Filters:
        """The period (whole weeks) and program to report on; the last 12 weeks by default."""
        default = default_filters()
        data = self.cleaned_data if self.is_valid() else {}
        last = week_of(data.get("last_week") or default.last_week)
        first = week_of(data.get("first_week") or (last - timedelta(weeks=WEEKS_SHOWN - 1)))
        program = data.get("program")
        return Filters(first_week=first, last_week=last, program=program.code if program else "")


MAX_REPORT_WEEKS = 104


@admin.register(ReportFact)
class ReportAdmin(ReadOnly, admin.ModelAdmin):
    """The compliance reports (supervisors and auditors): each a chart, a table and a CSV, read
    from the summary table the periodic refresh keeps."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<slug:name>/", view(self.report_view), name="cases_report"),
            path("", view(self.changelist_view), name="cases_reportfact_changelist"),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not _reads(request):
            return HttpResponseForbidden()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reports"),
            "opts": self.model._meta,
            "reports": REPORTS,
            "as_of": figures_as_of(),
        }
        return TemplateResponse(request, "admin/cases/reports.html", context)

    def report_view(self, request: HttpRequest, name: str) -> HttpResponseBase:
        """One report for the chosen period and program; `?format=csv` for its table as CSV."""
        if not _reads(request):
            return HttpResponseForbidden()
        report = REPORTS_BY_NAME.get(name)
        if report is None:
            raise Http404
        form = ReportFilterForm(request.GET or None)
        status = 400 if form.is_bound and not form.is_valid() else 200
        filters = form.filters()
        figures = report.build(filters)
        if request.GET.get("format") == "csv" and status == 200:
            response = HttpResponse(figures.csv(), content_type="text/csv; charset=utf-8")
            period = f"{filters.first_week:%Y%m%d}-{filters.last_week + timedelta(days=6):%Y%m%d}"
            response["Content-Disposition"] = (
                f'attachment; filename="{report.name}-{filters.program or "all"}-{period}.csv"'
            )
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": report.title,
            "opts": self.model._meta,
            "report": report,
            "reports": REPORTS,
            "form": form,
            "filters": filters,
            "period_end": filters.last_week + timedelta(days=6),
            "figures": figures,
            "chart": base64.b64encode(figures.chart.encode()).decode(),
            "as_of": figures_as_of(),
            "csv_query": _with_csv(request),
        }
        return TemplateResponse(request, "admin/cases/report.html", context, status=status)


def _with_csv(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


# --- case histories ------------------------------------------------------------------------


class ReviewerFilter(admin.SimpleListFilter):
    """Cases a given member of staff acted on (claimed, decided, signed, released ...)."""

    title = gettext_lazy("handled by")
    parameter_name = "handled_by"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        staff = User.objects.filter(is_staff=True).order_by("email").values_list("pk", "email")
        return [(str(pk), email) for pk, email in staff]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(pk__in=cases_handled_by(int(value)))


class PeriodFilter(admin.ListFilter):
    """Cases opened within a period: `opened_from` and `opened_to` (dates, both inclusive, on
    the installation's clock)."""

    title = gettext_lazy("opened in the period")
    template = "admin/cases/period_filter.html"
    parameters = ("opened_from", "opened_to")

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        self.form = PeriodForm(
            {name: params.pop(name)[-1] for name in self.parameters if name in params}
        )
        self.used_parameters = dict(self.form.data)

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: Any) -> Any:
        keep = [
            (name, value)
            for name, values in self.request.GET.lists()
            if name not in self.parameters
            for value in values
        ]
        clear = changelist.get_query_string(remove=self.parameters)
        return [{"form": self.form, "clear": clear, "keep": keep}]

    def expected_parameters(self) -> list[str | None]:
        return list(self.parameters)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.form.is_valid():
            return queryset
        start, end = self.form.cleaned_data["opened_from"], self.form.cleaned_data["opened_to"]
        zone = timezone.get_current_timezone()
        if start:
            queryset = queryset.filter(
                created_at__gte=datetime.combine(start, time.min, tzinfo=zone)
            )
        if end:
            queryset = queryset.filter(
                created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
            )
        return queryset


class PeriodForm(forms.Form):
    opened_from = forms.DateField(label=gettext_lazy("from"), required=False)
    opened_to = forms.DateField(label=gettext_lazy("to"), required=False)


@admin.register(AuditCase)
class AuditCaseAdmin(QueueAdmin):
    """Every case, searched by reference, applicant e-mail or exact ID number (the search is
    logged), filtered by who handled it and when it was opened; each opens on its timeline."""

    queue = "all"

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("program", "state", ReviewerFilter, PeriodFilter)

    def get_list_display(self, request: HttpRequest) -> Any:
        return (
            "reference_link",
            "program",
            "applicant_masked",
            "state_badge",
            "created_at",
            "assignee",
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    @admin.display(description=gettext_lazy("reference"))
    def reference_link(self, case: Case) -> str:
        url = reverse("admin:cases_timeline", args=[case.uuid])
        return format_html('<a href="{}">{}</a>', url, case.reference or case.uuid)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        found = self.get_queryset(request).filter(pk=object_id).values_list("uuid", flat=True)
        if not str(object_id).isdigit() or not found:
            raise Http404
        return redirect("admin:cases_timeline", uuid=found[0])

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<uuid:uuid>/timeline/", view(self.timeline_view), name="cases_timeline"),
            path("<uuid:uuid>/legal-hold/", view(self.legal_hold_view), name="cases_legal_hold"),
            *super().get_urls(),
        ]

    def timeline_view(self, request: HttpRequest, uuid: Any) -> HttpResponse:
        """The complete timeline, and the case as of an instant (`?as_of=`). The read is logged."""
        if not _reads(request):
            return HttpResponseForbidden()
        case = case_for_staff(person(request), uuid)
        log_access(request, AccessKind.VIEW_CASE, case=case, detail="timeline")
        return self._render_timeline(request, case)

    def _render_timeline(
        self, request: HttpRequest, case: Case, *, status: int = 200, hold_form: Any = None
    ) -> HttpResponse:
        form = AsOfForm(request.GET or None)
        as_of = case_as_of(case, form.cleaned_data["as_of"]) if form.is_valid() else None
        current_hold = holding(case)
        context = {
            **self.admin_site.each_context(request),
            "title": _("History of %(ref)s") % {"ref": case.reference},
            "opts": self.model._meta,
            "case": case,
            "entries": case_timeline(case),
            "form": form,
            "as_of": as_of,
            "as_of_assignee": User.objects.filter(pk=as_of.assignee_id).first()
            if as_of and as_of.assignee_id
            else None,
            "purge_due_at": purge_due_at(case),
            "purged_count": case.documents.filter(purged_at__isnull=False).count(),
            "hold": current_hold,
            "holds": case.legal_holds.select_related(
                "proposed_by", "placed_by", "lift_proposed_by", "lifted_by", "declined_by"
            ),
            "hold_forms": _hold_forms(request, current_hold, hold_form),
            "can_export": rules.may_export_evidence(person(request)),
            "can_export_files": may_include_files(person(request)),
        }
        return TemplateResponse(request, "admin/cases/audit_timeline.html", context, status=status)

    def legal_hold_view(self, request: HttpRequest, uuid: Any) -> HttpResponse:
        """Propose, countersign, decline or propose lifting a legal hold (supervisors)."""
        if (
            request.method != "POST"
            or not _reads(request)
            or not rules.may_place_legal_hold(person(request))
        ):
            return HttpResponseForbidden()
        case = case_for_staff(person(request), uuid)
        action = request.POST.get("action", "")
        form_class = HOLD_FORMS.get(action)
        if form_class is None:
            return HttpResponseBadRequest(_("Unknown legal hold action."))
        form = form_class(request.POST, prefix=action)
        if not form.is_valid():
            return self._render_timeline(request, case, status=400, hold_form=form)
        text = form.cleaned_data["text"]
        actor = person(request)
        hold = holding(case)
        try:
            if action == "propose":
                legal_hold_propose(case=case, actor=actor, reason=text)
            elif hold is None:
                raise InvalidState(_("This case has no legal hold to act on."))
            elif action == "countersign":
                legal_hold_countersign(hold=hold, actor=actor, note=text)
            elif action == "decline":
                legal_hold_decline(hold=hold, actor=actor, note=text)
            else:
                legal_hold_propose_lift(hold=hold, actor=actor, reason=text)
        except NotPermitted as exc:
            form.add_error(None, exc.message)
            return self._render_timeline(request, case, status=403, hold_form=form)
        except CaseActionError as exc:
            form.add_error(None, exc.message)
            return self._render_timeline(request, case, status=400, hold_form=form)
        self.message_user(request, HOLD_DONE[action], messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:cases_timeline", args=[case.uuid]))


class HoldForm(forms.Form):
    action = ""
    label: Any = ""
    text_label = gettext_lazy("Reason")
    text_required = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"] = forms.CharField(
            label=self.text_label,
            required=self.text_required,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )


class ProposeHoldForm(HoldForm):
    action = "propose"
    label = gettext_lazy("Propose a legal hold")


class CountersignHoldForm(HoldForm):
    action = "countersign"
    label = gettext_lazy("Countersign")
    text_label = gettext_lazy("Note")
    text_required = False


class DeclineHoldForm(HoldForm):
    action = "decline"
    label = gettext_lazy("Decline")
    text_label = gettext_lazy("Why")


class LiftHoldForm(HoldForm):
    action = "lift"
    label = gettext_lazy("Propose lifting the hold")


HOLD_FORMS: dict[str, type[HoldForm]] = {
    form.action: form
    for form in (ProposeHoldForm, CountersignHoldForm, DeclineHoldForm, LiftHoldForm)
}
HOLD_DONE = {
    "propose": gettext_lazy(
        "Legal hold proposed; the files are kept from now on. A second supervisor countersigns."
    ),
    "countersign": gettext_lazy("Countersigned."),
    "decline": gettext_lazy("Declined."),
    "lift": gettext_lazy(
        "Lifting proposed; the hold stays until a second supervisor countersigns."
    ),
}


def _hold_forms(request: HttpRequest, hold: LegalHold | None, bound: Any) -> list[HoldForm]:
    """The legal hold forms this person may use now (the bound one, with its errors, in place)."""
    user = person(request)
    if not rules.may_place_legal_hold(user):
        return []
    if hold is None:
        actions = ["propose"]
    elif hold.status == HoldStatus.ACTIVE:
        actions = ["lift"]
    else:
        actions = ["countersign", "decline"] if first_signer(hold) != user.pk else []
    return [
        bound if bound is not None and bound.action == action else HOLD_FORMS[action](prefix=action)
        for action in actions
    ]


class AsOfForm(forms.Form):
    as_of = forms.DateTimeField(
        label=gettext_lazy("As of"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("The case as it was at this instant, rebuilt from its events."),
    )

    def clean_as_of(self) -> datetime:
        value: datetime = self.cleaned_data["as_of"]
        return value if timezone.is_aware(value) else timezone.make_aware(value)

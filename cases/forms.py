"""The workbench's decision forms. Each validates its input and calls one service; the service
checks permission and state again and writes the event."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cases import rules, services
from cases.models import Case, CaseEvent, Document, ReasonCode
from cases.services.clock import case_sla_retarget
from cases.states import Decision, Slot, Verdict


def _reason_choices(decision: str) -> list[tuple[str, str]]:
    reasons = ReasonCode.objects.filter(is_active=True).order_by("category", "code")
    return [
        (r.code, f"{r.code} — {r.guidance()}" if r.guidance() else r.code)
        for r in reasons
        if decision in r.decisions
    ]


def _slot_choices(case: Case) -> list[tuple[str, str]]:
    codes = [Slot.DECLARED_DATA, *[s for s in case.program.slot_codes if s != Slot.DECLARED_DATA]]
    return [(code, str(Slot(code).label)) for code in codes]


class ReasonCheckboxes(forms.CheckboxSelectMultiple):
    """Reason checkboxes that carry the slots each reason re-requests (data-slots), so the
    review screen pre-ticks the items to upload again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason_slots: dict[str, list[str]] = {}

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        slots = self.reason_slots.get(str(value))
        if slots:
            option["attrs"]["data-slots"] = " ".join(slots)
        return option


class ActionForm(forms.Form):
    """One decision on one case by one person."""

    action = ""
    label: Any = ""
    decision = ""  # the catalogue's `decisions` value that the reasons must fit
    # Whether the applicant hears about it: the screen offers a preview of the e-mail.
    previewable = False
    danger = False

    def __init__(self, *args: Any, case: Case, user: Any, **kwargs: Any) -> None:
        self.case, self.user = case, user
        kwargs["prefix"] = self.action
        super().__init__(*args, **kwargs)
        if "reason_codes" in self.fields:
            field = self.fields["reason_codes"]
            field.choices = _reason_choices(self.decision)  # type: ignore[attr-defined]
            if isinstance(field.widget, ReasonCheckboxes):
                field.widget.reason_slots = {
                    r.code: list(r.slots) for r in ReasonCode.objects.filter(is_active=True)
                }
        if "reason_code" in self.fields:
            field = self.fields["reason_code"]
            field.choices = [("", "—"), *_reason_choices(self.decision)]  # type: ignore[attr-defined]
        if "slots" in self.fields:
            self.fields["slots"].choices = _slot_choices(case)  # type: ignore[attr-defined]

    def perform(self) -> CaseEvent | None:
        raise NotImplementedError


class ClaimForm(ActionForm):
    action, label = "claim", _("Claim")

    def perform(self) -> CaseEvent:
        return services.case_claim(case=self.case, actor=self.user)


class ReleaseForm(ActionForm):
    action, label = "release", _("Release to the queue")
    reason = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}))

    def perform(self) -> CaseEvent:
        return services.case_release(
            case=self.case, actor=self.user, reason=self.cleaned_data["reason"]
        )


class RequestMaterialsForm(ActionForm):
    action, label, decision, previewable = (
        "request_materials",
        _("Request materials"),
        Decision.REQUEST_MATERIALS,
        True,
    )
    reason_codes = forms.MultipleChoiceField(label=_("Reasons"), widget=ReasonCheckboxes)
    slots = forms.MultipleChoiceField(
        label=_("Items to upload again"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Ticked from the reasons you choose; leave empty to ask for what they name."),
    )
    message = forms.CharField(
        label=_("Message to the applicant"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        return services.case_request_materials(
            case=self.case,
            actor=self.user,
            reason_codes=data["reason_codes"],
            message=data["message"],
            slots=data["slots"] or None,
        )


class ApproveForm(ActionForm):
    action, label, previewable = "approve", _("Approve"), True
    note = forms.CharField(
        label=_("Internal note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def perform(self) -> CaseEvent:
        return services.case_approve(
            case=self.case, actor=self.user, note=self.cleaned_data["note"]
        )


class RejectForm(ActionForm):
    action, label, decision, previewable, danger = (
        "reject",
        _("Reject"),
        Decision.REJECT,
        True,
        True,
    )
    reason_codes = forms.MultipleChoiceField(label=_("Reasons"), widget=ReasonCheckboxes)
    slots = forms.MultipleChoiceField(
        label=_("Items to upload when applying again"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    message = forms.CharField(
        label=_("Message to the applicant"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    note = forms.CharField(
        label=_("Internal note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        return services.case_reject(
            case=self.case,
            actor=self.user,
            reason_codes=data["reason_codes"],
            message=data["message"],
            slots=data["slots"] or None,
            note=data["note"],
        )


class FreezeForm(ActionForm):
    action, label, decision, previewable, danger = (
        "freeze",
        _("Freeze the account"),
        Decision.FREEZE,
        True,
        True,
    )
    reason_code = forms.ChoiceField(label=_("Reason"))
    note = forms.CharField(
        label=_("Internal note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        return services.case_freeze(
            case=self.case, actor=self.user, reason_code=data["reason_code"], note=data["note"]
        )


class UnfreezeForm(ActionForm):
    action, label, decision = "unfreeze", _("Propose unfreezing"), Decision.UNFREEZE
    reason_code = forms.ChoiceField(label=_("Reason"))
    note = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 2}))

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        return services.case_unfreeze(
            case=self.case, actor=self.user, reason_code=data["reason_code"], note=data["note"]
        )


class CloseForm(ActionForm):
    action, label, decision, previewable, danger = (
        "close",
        _("Close"),
        Decision.CLOSE,
        True,
        True,
    )
    reason_code = forms.ChoiceField(label=_("Reason"))
    note = forms.CharField(
        label=_("Internal note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        return services.case_close(
            case=self.case, actor=self.user, reason_code=data["reason_code"], note=data["note"]
        )


class CountersignForm(ActionForm):
    action, label = "countersign", _("Countersign")
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def perform(self) -> CaseEvent:
        return services.case_countersign(
            case=self.case, actor=self.user, note=self.cleaned_data["note"]
        )


class SendBackForm(ActionForm):
    action, label = "send_back", _("Send back to the proposer")
    note = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}))

    def perform(self) -> CaseEvent:
        return services.case_send_back(
            case=self.case, actor=self.user, note=self.cleaned_data["note"]
        )


class AssignForm(ActionForm):
    action, label = "assign", _("Assign")
    reviewer = forms.ModelChoiceField(label=_("Reviewer"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reviewers = User.objects.filter(is_active=True, is_staff=True).order_by("email")
        field = self.fields["reviewer"]
        field.queryset = reviewers.filter(  # type: ignore[attr-defined]
            pk__in=[u.pk for u in reviewers if rules.is_reviewer(u)]
        )

    def perform(self) -> CaseEvent:
        return services.case_assign(
            case=self.case, actor=self.user, reviewer=self.cleaned_data["reviewer"]
        )


class RetargetForm(ActionForm):
    action, label = "retarget", _("Change the review target")
    target_days = forms.IntegerField(label=_("Business days"), min_value=1, max_value=5)
    reason = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}))

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        return case_sla_retarget(
            case=self.case, actor=self.user, target_days=data["target_days"], reason=data["reason"]
        )


class VerdictForm(ActionForm):
    action, label, decision = "verdict", _("Document verdict"), Decision.REUPLOAD
    document = forms.IntegerField(widget=forms.HiddenInput)
    verdict = forms.ChoiceField(
        label=_("Verdict"),
        choices=[
            (Verdict.ACCEPTED, _("Accept")),
            (Verdict.REUPLOAD_REQUESTED, _("Request a new upload")),
        ],
    )
    reason_code = forms.ChoiceField(label=_("Reason"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("verdict") == Verdict.REUPLOAD_REQUESTED and not data.get("reason_code"):
            self.add_error("reason_code", _("Say why a new upload is needed."))
        return data

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        document = Document.objects.filter(case=self.case, pk=data["document"]).first()
        if document is None:
            raise forms.ValidationError(_("This document is not part of the case."))
        return services.document_set_verdict(
            document=document,
            actor=self.user,
            verdict=data["verdict"],
            reason_code=data["reason_code"] or "",
        )


ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.action: form
    for form in (
        ClaimForm,
        ReleaseForm,
        RequestMaterialsForm,
        ApproveForm,
        RejectForm,
        FreezeForm,
        UnfreezeForm,
        CloseForm,
        CountersignForm,
        SendBackForm,
        AssignForm,
        RetargetForm,
        VerdictForm,
    )
}
# django-fsm-2 transition name → form; assign/retarget are offered to supervisors separately.
TRANSITION_FORMS = {
    "claim": ClaimForm,
    "release": ReleaseForm,
    "request_materials": RequestMaterialsForm,
    "approve": ApproveForm,
    "reject": RejectForm,
    "freeze": FreezeForm,
    "unfreeze": UnfreezeForm,
    "close": CloseForm,
}


# --- the applicant portal ---------------------------------------------------------------------


class DeclaredDataForm(forms.Form):
    """The applicant's declared data; checked field by field as the services check it."""

    full_name = forms.CharField(label=_("Your name as printed on your ID card"), max_length=200)
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=24)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)

    BUSINESS_ONLY = ("company_name", "credit_code", "contact_email")

    def __init__(self, *args: Any, program: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if program != "business":
            for name in self.BUSINESS_ONLY:
                del self.fields[name]
        else:
            self.fields["full_name"].label = _("Legal representative's name")
            self.fields["id_number"].label = _("Legal representative's resident ID number")

    def clean(self) -> dict[str, Any]:
        from cases.validation import declared_data_errors

        data = super().clean() or {}
        for field, errors in declared_data_errors(data).items():
            if field in self.fields:
                for error in errors:
                    self.add_error(field, error)
        return data

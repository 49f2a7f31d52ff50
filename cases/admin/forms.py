"""The review screen's decision forms. Each validates its input and calls one service; the service
checks permission and state again and writes the event."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cases import rules, services
from cases.models import Case, CaseEvent, Document, ReasonCode
from cases.sla.clock import case_sla_retarget
from cases.states import Decision, Slot, Transition, Verdict


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
    # The transition it performs, when it performs one (assign is offered separately).
    transition: Transition | None = None
    label: Any = ""
    decision = ""  # the catalogue's `decisions` value that the reasons must fit
    # Whether the applicant hears about it: the screen offers a preview of the e-mail.
    previewable = False
    danger = False

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
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
    transition = Transition.CLAIM
    action, label = transition, _("Claim")

    def perform(self) -> CaseEvent:
        return services.case_claim(case=self.case, actor=self.user)


class ReleaseForm(ActionForm):
    transition = Transition.RELEASE
    action, label = transition, _("Release to the queue")
    reason = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}))

    def perform(self) -> CaseEvent:
        return services.case_release(
            case=self.case, actor=self.user, reason=self.cleaned_data["reason"]
        )


class RequestMaterialsForm(ActionForm):
    transition = Transition.REQUEST_MATERIALS
    action, label, decision, previewable = (
        transition,
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
    transition = Transition.APPROVE
    action, label, previewable = transition, _("Approve"), True
    note = forms.CharField(
        label=_("Internal note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def perform(self) -> CaseEvent:
        return services.case_approve(
            case=self.case, actor=self.user, note=self.cleaned_data["note"]
        )


class RejectForm(ActionForm):
    transition = Transition.REJECT
    action, label, decision, previewable, danger = (
        transition,
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
    transition = Transition.FREEZE
    action, label, decision, previewable, danger = (
        transition,
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
    transition = Transition.UNFREEZE
    action, label, decision = transition, _("Propose unfreezing"), Decision.UNFREEZE
    reason_code = forms.ChoiceField(label=_("Reason"))
    note = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 2}))

    def perform(self) -> CaseEvent:
        data = self.cleaned_data
        return services.case_unfreeze(
            case=self.case, actor=self.user, reason_code=data["reason_code"], note=data["note"]
        )


class CloseForm(ActionForm):
    transition = Transition.CLOSE
    action, label, decision, previewable, danger = (
        transition,
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
    # A transition, but offered to supervisors on its own terms (cases/admin/review.py).
    action, label = Transition.ASSIGN, _("Assign")
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


# Every form of the review screen, in the order the screen shows them: the usual outcomes first.
ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.action: form
    for form in (
        ClaimForm,
        ApproveForm,
        RequestMaterialsForm,
        RejectForm,
        CountersignForm,
        SendBackForm,
        ReleaseForm,
        AssignForm,
        RetargetForm,
        UnfreezeForm,
        FreezeForm,
        CloseForm,
        VerdictForm,
    )
}
# The forms a person is offered from the transitions the state graph gives them.
TRANSITION_FORMS: dict[str, type[ActionForm]] = {
    form.transition: form for form in ACTION_FORMS.values() if form.transition is not None
}

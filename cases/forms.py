"""The applicant portal's form: the declared data, checked field by field as the services check
it (the review screen's decision forms are in cases/admin/forms.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.validation import declared_data_errors


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
        data = super().clean() or {}
        for field, errors in declared_data_errors(data).items():
            if field in self.fields:
                for error in errors:
                    self.add_error(field, error)
        return data

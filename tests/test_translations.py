"""The translation catalogues: zh-hans complete and compiled, and what people read comes out in
their language (labels, service errors, e-mails).

The .po files are read with a small reader of our own rather than polib (not a dependency), and
the committed .mo files are checked against them, because a fresh machine may lack msgfmt and
uses the .mo as committed.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from django.conf import settings
from django.utils import translation

from accounts.models import User
from cases import services
from cases.emails import render_notification
from cases.errors import InvalidInput
from cases.models import CaseEvent, Notification
from cases.states import CaseState, EventType, Slot
from tests.factories import UserFactory, reviewing_case

LOCALE = Path(settings.BASE_DIR) / "locale"
ZH_PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
EMAIL_TEMPLATE = "templates/emails/case_event.txt"
# %(name)s, %(n)d, %s …; "%%" is a literal percent sign, not a placeholder.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +\-]*\d*(?:\.\d+)?[sdifrx]")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.msgctxt}|{self.msgid}" if self.msgctxt else self.msgid


def read_po(path: Path) -> list[Entry]:
    """Every entry of a .po file, the header first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, current = Entry(), ""
        has_msgid = False
        for line in block.splitlines():
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#:"):
                entry.references += line[2:].split()
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                _append(entry, current, ast.literal_eval(line))
            else:
                keyword, _, value = line.partition(" ")
                current = keyword
                has_msgid |= keyword == "msgid"
                _append(entry, current, ast.literal_eval(value), start=True)
        if has_msgid:
            entries.append(entry)
    return entries


def _append(entry: Entry, keyword: str, text: str, start: bool = False) -> None:
    if keyword.startswith("msgstr"):
        index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
        entry.msgstr[index] = ("" if start else entry.msgstr.get(index, "")) + text
    elif keyword in ("msgid", "msgctxt", "msgid_plural"):
        setattr(entry, keyword, ("" if start else getattr(entry, keyword) or "") + text)
    else:
        raise AssertionError(f"unexpected line in a .po file: {keyword} {text!r}")


def messages(path: Path) -> list[Entry]:
    return [entry for entry in read_po(path) if entry.msgid]


def header(path: Path) -> dict[str, str]:
    (head,) = [entry for entry in read_po(path) if not entry.msgid]
    assert "fuzzy" not in head.flags, f"{path}: the header is still marked fuzzy"
    lines = head.msgstr[0].splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def chinese_applicant() -> User:
    """An applicant with a Chinese name who reads zh-hans (factory_boy returns the model)."""
    return cast(User, UserFactory(full_name="张三", preferred_language="zh-hans"))


# (a) the zh_Hans catalogue is complete, not fuzzy, and keeps every placeholder


def test_the_zh_hans_header_names_the_language_and_its_single_plural_form() -> None:
    fields = header(ZH_PO)
    assert fields["Language"] == "zh_Hans"
    assert fields["Plural-Forms"] == "nplurals=1; plural=0;"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"


def test_every_zh_hans_message_is_translated_and_none_is_fuzzy() -> None:
    entries = messages(ZH_PO)
    assert len(entries) > 300, "the catalogue looks truncated"
    untranslated = [e.name for e in entries if not all(e.msgstr.values()) or not e.msgstr]
    fuzzy = [e.name for e in entries if "fuzzy" in e.flags]
    assert untranslated == [], "untranslated; run `make messages` and translate them"
    assert fuzzy == [], "fuzzy; check the translation and remove the flag"


def test_plural_entries_have_exactly_the_one_chinese_form() -> None:
    plurals = [e for e in messages(ZH_PO) if e.msgid_plural is not None]
    assert plurals, "the catalogue should contain the commands' plural messages"
    assert [e.name for e in plurals if set(e.msgstr) != {0}] == []


def test_every_translation_keeps_the_placeholders_of_its_source() -> None:
    wrong = []
    for entry in messages(ZH_PO):
        if entry.msgid_plural is None:
            wanted = placeholders(entry.msgid)
        else:
            # One Chinese form serves singular and plural: it must carry the plural's names.
            wanted = sorted(set(placeholders(entry.msgid)) | set(placeholders(entry.msgid_plural)))
        for translated in entry.msgstr.values():
            if placeholders(translated) != wanted:
                wrong.append((entry.name, wanted, placeholders(translated)))
        if "python-format" in entry.flags:
            assert wanted, f"{entry.name!r} is flagged python-format but has no placeholder"
    assert wrong == []


def test_the_translations_are_chinese() -> None:
    # Names, codes and formats may stay as they are; everything else must contain Chinese.
    may_stay = {"SHA-256", "PDF"}
    not_chinese = [
        e.name
        for e in messages(ZH_PO)
        if e.msgid not in may_stay and not re.search(r"[\u4e00-\u9fff]", e.msgstr[0])
    ]
    assert not_chinese == []


# (b) the committed .mo files say exactly what the .po files say


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_the_committed_mo_matches_its_po(language: str) -> None:
    po, mo = LOCALE / language / "LC_MESSAGES" / "django.po", LOCALE / language / "LC_MESSAGES"
    mo = mo / "django.mo"
    assert mo.exists(), f"{mo} is missing: run `make messages` and commit it"
    expected: dict[object, str] = {}
    for entry in read_po(po):
        # msgfmt leaves out fuzzy and untranslated entries (the source text is shown instead).
        if "fuzzy" in entry.flags or not all(entry.msgstr.values()):
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt is not None else entry.msgid
        if not entry.msgid:
            # msgfmt drops the header's POT-Creation-Date, which makemessages updates every run.
            expected[key] = re.sub(r"POT-Creation-Date: [^\n]*\n", "", entry.msgstr[0])
        elif entry.msgid_plural is None:
            expected[key] = entry.msgstr[0]
        else:
            expected.update({(key, n): text for n, text in entry.msgstr.items()})
    with mo.open("rb") as handle:
        # _catalog is the parsed table GNUTranslations looks every message up in.
        compiled = dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]
    stale = {k for k in expected.keys() | compiled.keys() if expected.get(k) != compiled.get(k)}
    assert stale == set(), f"{mo} is older than {po}: run `make messages` and commit both"


# (c) labels and service errors come out in the active language


def test_state_labels_and_messages_follow_the_active_language() -> None:
    with translation.override("zh-hans"):
        assert str(CaseState.REVIEWING.label) == "审核中"
        assert str(Slot.ID_FRONT.label) == "身份证人像面"
        assert translation.gettext("Choose at least one reason from the catalogue.") == (
            "请从原因目录中至少选择一项原因。"
        )
        assert translation.ngettext("%(n)d case", "%(n)d cases", 3) % {"n": 3} == "3 个案件"
    with translation.override("en"):
        assert str(CaseState.REVIEWING.label) == "Under review"
        assert translation.ngettext("%(n)d case", "%(n)d cases", 3) % {"n": 3} == "3 cases"


@pytest.mark.django_db
def test_a_service_error_is_raised_in_the_language_of_the_request(reviewer: User) -> None:
    applicant = chinese_applicant()
    case = reviewing_case(applicant, reviewer)
    with translation.override("zh-hans"), pytest.raises(InvalidInput) as chinese:
        services.case_release(case=case, actor=reviewer, reason="")
    with translation.override("en"), pytest.raises(InvalidInput) as english:
        services.case_release(case=case, actor=reviewer, reason="  ")
    assert chinese.value.message == "请说明将案件退回队列的原因。"
    assert chinese.value.field_errors == {"reason": ["请填写原因。"]}
    assert english.value.message == "Say why the case goes back to the queue."
    assert english.value.field_errors == {"reason": ["A reason is required."]}


# (d) the applicant's e-mail is entirely in their language


def _materials_requested_notification(reviewer: User) -> Notification:
    applicant = chinese_applicant()
    case = reviewing_case(applicant, reviewer)
    services.case_request_materials(
        case=case,
        actor=reviewer,
        reason_codes=["DOC_UNREADABLE"],
        slots=[Slot.ID_FRONT],
        message="身份证人像面反光，请在光线充足处重新拍摄。",
    )
    event = CaseEvent.objects.get(case=case, event_type=EventType.MATERIALS_REQUESTED)
    return Notification.objects.select_related("event__case", "recipient").get(event=event)


def _template_sentences() -> list[str]:
    """The English source of every sentence the e-mail template translates, placeholders cut."""
    sentences = [e.msgid for e in messages(ZH_PO) if EMAIL_TEMPLATE in " ".join(e.references)]
    assert len(sentences) >= 10, "the e-mail template's messages are missing from the catalogue"
    return [part.strip() for s in sentences for part in PLACEHOLDER.split(s) if part.strip()]


@pytest.mark.django_db
def test_a_materials_request_email_in_chinese_has_no_english_sentence(reviewer: User) -> None:
    notification = _materials_requested_notification(reviewer)
    assert notification.language == "zh-hans"
    subject, body = render_notification(notification)

    reference = notification.event.case.reference
    assert reference
    assert subject == f"【kycreview】您的申请 {reference}: 需要补充材料"
    assert "张三，您好：" in body
    assert f"为继续审核您的申请 {reference}，请您补充以下材料：" in body
    assert "- 身份证人像面" in body
    assert "上传的照片画面模糊" in body  # the reason's Chinese applicant message
    assert "请在您的申请页面上传上述材料。" in body
    english = [s for s in _template_sentences() if s in body]
    assert english == []
    # Apart from the reference and the product's name, not one Latin word is left.
    rest = body.replace(reference, "").replace("kycreview", "")
    assert re.findall(r"[A-Za-z]{2,}", rest) == []


@pytest.mark.django_db
def test_the_same_email_in_english_uses_the_english_sentences(reviewer: User) -> None:
    notification = _materials_requested_notification(reviewer)
    Notification.objects.filter(pk=notification.pk).update(language="en")
    notification.refresh_from_db()
    subject, body = render_notification(notification)

    reference = notification.event.case.reference
    assert reference
    assert subject == f"[kycreview] Your application {reference}: we need more materials"
    assert f"To continue reviewing your application {reference}" in body
    assert "- ID card, front" in body
    assert "Please upload them on your case page." in body
    assert "Hello 张三," in body
    # Only the reviewer's own message stays as written; nothing of the template is Chinese.
    template_text = body.replace("身份证人像面反光，请在光线充足处重新拍摄。", "")
    assert re.findall(r"[\u4e00-\u9fff]+", template_text) == ["张三"]

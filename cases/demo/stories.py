"""The demo's stories: cases of every program in every state, each told through the loader's
steps, and two cases submitted earlier so that the SLA queues are not empty on the first load."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cases import services
from cases.actors import SYSTEM
from cases.checks.run import case_run_checks
from cases.demo.loader import Loader
from cases.demo.people import WALLET
from cases.models import Case
from cases.sla.business_time import add_business_days
from cases.sla.calendar import business_calendar
from cases.sla.sweep import sla_sweep
from cases.states import CaseState, ProgramCode, Slot

S = CaseState
P = ProgramCode


def _business_days_before(calendar: Any, now: datetime, days: float) -> datetime:
    """The latest instant from which `days` business days end at or before `now` (bisection:
    the calendar adds business time forwards only)."""
    low, high = now - timedelta(days=60), now
    for _step in range(40):
        middle = low + (high - low) / 2
        if add_business_days(calendar, middle, days) <= now:
            low = middle
        else:
            high = middle
    return low


def real_name(loader: Loader) -> None:
    u = loader.users
    loader.expect(loader.fill(loader.new(P.REAL_NAME, "applicant"), skip=[Slot.ID_BACK]), S.DRAFT)

    # Sent back for a blurry photo, new photo uploaded, resubmitted: front of the queue.
    case = loader.reviewing(
        P.REAL_NAME, "applicant2", "reviewer", variants={Slot.ID_FRONT: "blurred"}
    )
    loader.ask_again(
        case,
        "reviewer",
        Slot.ID_FRONT,
        "DOC_UNREADABLE",
        "身份证人像面照片模糊，无法辨认身份证号码。请在光线充足处重新拍摄并上传。",
    )
    loader.upload(case, Slot.ID_FRONT)
    services.case_resubmit(case=case, actor=u["applicant2"])
    loader.expect(case, S.SUBMITTED)

    case = loader.reviewing(P.REAL_NAME, "applicant3", "reviewer2")
    loader.accept(case, "reviewer2", but=[Slot.ID_BACK])
    loader.expect(case, S.REVIEWING)

    case = loader.reviewing(P.REAL_NAME, "applicant", "reviewer")
    loader.ask_again(
        case,
        "reviewer",
        Slot.ID_BACK,
        "DOC_UNREADABLE",
        "身份证国徽面照片反光，有效期无法辨认。请避开强光重新拍摄。",
    )
    loader.expect(case, S.NEEDS_MATERIALS)

    case = loader.reviewing(P.REAL_NAME, "applicant2", "reviewer2")
    loader.approve(case, "reviewer2", note="证件清晰，信息一致。")
    loader.expect(case, S.APPROVED)

    # The card shows another name than the one declared.
    case = loader.reviewing(P.REAL_NAME, "applicant2", "reviewer", shown_name="WANG FEI")
    loader.reject(
        case,
        "reviewer",
        ["INFO_MISMATCH"],
        "您填写的姓名（王芳）与身份证上的姓名不一致，请核对后重新填写并上传身份证人像面。",
    )
    loader.expect(case, S.REJECTED)

    case = loader.reviewing(P.REAL_NAME, "applicant3", "reviewer")
    loader.approve(case, "reviewer")
    loader.freeze(case, u["applicant3"], "THEFT_REPORTED", "申请人报告手机丢失，账户被盗用。")
    loader.expect(case, S.ACCOUNT_FROZEN)

    case = loader.reviewing(P.REAL_NAME, "applicant", "reviewer2")
    loader.approve(case, "reviewer2")
    loader.close(case, u["applicant"], "CLOSURE_REQUESTED", "申请人申请注销钱包账户。")
    loader.expect(case, S.CLOSED)


def video(loader: Loader) -> None:
    u = loader.users
    case = loader.fill(loader.new(P.VIDEO, "applicant2"), skip=[Slot.LIVENESS_VIDEO])
    loader.expect(case, S.DRAFT)

    loader.expect(loader.submitted(P.VIDEO, "applicant3"), S.SUBMITTED)

    # Frozen by a supervisor, then unfrozen under four eyes and handed to a reviewer.
    case = loader.submitted(P.VIDEO, "applicant")
    loader.freeze(case, u["supervisor"], "INFO_TAMPERED", "钱包风控提示实名手机号被他人修改。")
    services.case_unfreeze(
        case=case,
        actor=u["supervisor"],
        reason_code="OWNER_VERIFIED",
        note="已电话回访本人并核实身份，手机号修改为本人操作。",
        reviewer=u["reviewer2"],
    )
    services.case_countersign(case=case, actor=u["supervisor2"], note="回访记录已核对。")
    loader.expect(case, S.REVIEWING)

    case = loader.reviewing(
        P.VIDEO, "applicant2", "reviewer", variants={Slot.LIVENESS_VIDEO: "camera blocked"}
    )
    loader.ask_again(
        case,
        "reviewer",
        Slot.LIVENESS_VIDEO,
        "LIVENESS_FAILED",
        "视频中未能清晰展示身份证，且画面中断。请检查摄像头权限后重新录制。",
        verdict=False,
    )
    loader.expect(case, S.NEEDS_MATERIALS)

    case = loader.reviewing(P.VIDEO, "applicant3", "reviewer2")
    loader.approve(case, "reviewer2")
    loader.expect(case, S.APPROVED)

    case = loader.reviewing(P.VIDEO, "applicant", "reviewer")
    loader.reject(
        case,
        "reviewer",
        ["FACE_MISMATCH"],
        "自拍和视频中的人与身份证照片不一致，请由证件持有人本人重新拍摄。",
    )
    loader.expect(case, S.REJECTED)

    case = loader.reviewing(P.VIDEO, "applicant2", "reviewer")
    loader.freeze(case, u["reviewer"], "DOC_FORGED", "证件照片边缘有明显拼接痕迹。")
    loader.expect(case, S.ACCOUNT_FROZEN)

    # The applicant never answered: the system closes the case.
    case = loader.reviewing(
        P.VIDEO, "applicant3", "reviewer2", variants={Slot.SELFIE_WITH_ID: "blurred"}
    )
    loader.ask_again(
        case,
        "reviewer2",
        Slot.SELFIE_WITH_ID,
        "DOC_UNREADABLE",
        "手持证件自拍照模糊，请重新拍摄。",
    )
    loader.close(case, SYSTEM, "APPLICANT_NO_RESPONSE")
    loader.expect(case, S.CLOSED)


def credit(loader: Loader) -> None:
    """Credit cases come from the wallet backend, with the score it computed."""
    u = loader.users
    loader.expect(loader.new(P.CREDIT, "applicant3", wallet=True, credit_score=688), S.DRAFT)

    case = loader.submitted(P.CREDIT, "applicant", wallet=True, credit_score=702)
    loader.expect(case, S.SUBMITTED)

    case = loader.submitted(
        P.CREDIT, "applicant2", wallet=True, credit_score=655, device_risk_flags=["rooted"]
    )
    services.case_assign(case=case, actor=u["supervisor"], reviewer=u["senior"])
    loader.expect(case, S.REVIEWING)

    case = loader.reviewing(P.CREDIT, "applicant3", "reviewer2", wallet=True, credit_score=731)
    loader.ask_again(
        case,
        "reviewer2",
        Slot.ID_BACK,
        "DOC_EXPIRED",
        "身份证已过有效期，请上传在有效期内的新身份证。",
    )
    loader.expect(case, S.NEEDS_MATERIALS)

    case = loader.reviewing(P.CREDIT, "applicant", "reviewer", wallet=True, credit_score=720)
    loader.approve(case, "reviewer")
    loader.expect(case, S.APPROVED)

    case = loader.reviewing(P.CREDIT, "applicant2", "reviewer2", wallet=True, credit_score=540)
    loader.reject(case, "reviewer2", ["CREDIT_SCORE_LOW"], "信用分 540，低于本项目最低要求 600。")
    loader.expect(case, S.REJECTED)

    case = loader.submitted(P.CREDIT, "applicant3", wallet=True, credit_score=612)
    loader.freeze(case, WALLET, "ACCOUNT_RESTRICTED", "钱包风控：账户正在处理投诉。")
    loader.expect(case, S.ACCOUNT_FROZEN)

    case = loader.submitted(P.CREDIT, "applicant", wallet=True, credit_score=590)
    loader.freeze(case, WALLET, "SUSPICIOUS_BEHAVIOUR", "钱包风控：同一设备短时间内多次申请。")
    loader.close(case, u["supervisor"], "SUPERVISOR_CLOSED", "重复申请，已有处理中的案件。")
    loader.expect(case, S.CLOSED)


def business(loader: Loader) -> None:
    """Approvals need four eyes: the reviewer proposes, a senior reviewer countersigns."""
    u = loader.users
    case = loader.new(P.BUSINESS, "applicant", business=True)
    loader.fill(
        case, skip=[Slot.BUSINESS_LICENCE, Slot.FINANCIAL_STATEMENTS, Slot.PERSONAL_INFO_FORM]
    )
    loader.expect(case, S.DRAFT)

    loader.expect(
        loader.submitted(P.BUSINESS, "applicant3", business=True, optional=True), S.SUBMITTED
    )

    # Proposed for approval, waiting for the second signature.
    case = loader.reviewing(P.BUSINESS, "applicant", "reviewer", business=True)
    loader.accept(case, "reviewer")
    services.case_approve(case=case, actor=u["reviewer"], note="材料齐全，建议通过。")
    loader.expect(case, S.REVIEWING)

    case = loader.reviewing(
        P.BUSINESS,
        "applicant3",
        "reviewer2",
        business=True,
        variants={Slot.FINANCIAL_STATEMENTS: "wrong_document"},
    )
    loader.ask_again(
        case,
        "reviewer2",
        Slot.FINANCIAL_STATEMENTS,
        "FINANCIALS_MISSING",
        "上传的文件是开户申请表，不是财务报表。请上传最近一期经审计的财务报表（PDF）。",
    )
    loader.expect(case, S.NEEDS_MATERIALS)

    case = loader.reviewing(P.BUSINESS, "applicant", "reviewer", business=True, optional=True)
    loader.approve(case, "reviewer", checker="senior", note="材料齐全，建议通过。")
    loader.expect(case, S.APPROVED)

    # The checker sends an approval back; the maker then proposes a fraud rejection.
    case = loader.reviewing(P.BUSINESS, "applicant3", "reviewer2", business=True)
    loader.approve(case, "reviewer2", note="材料齐全。")
    services.case_send_back(
        case=case, actor=u["senior"], note="营业执照图片的信用代码区域疑似经过编辑，请再核查。"
    )
    loader.reject(
        case,
        "reviewer2",
        ["DOC_FORGED"],
        "",
        checker="supervisor",
        note="经核查，营业执照存在编辑痕迹。",
    )
    loader.expect(case, S.REJECTED)

    case = loader.submitted(P.BUSINESS, "applicant", business=True)
    loader.freeze(case, u["supervisor2"], "ACCOUNT_RESTRICTED", "企业账户涉及投诉，暂停处理。")
    loader.expect(case, S.ACCOUNT_FROZEN)

    # Rejected for a wrong licence, applied again with the right one, approved, then closed.
    case = loader.reviewing(
        P.BUSINESS,
        "applicant3",
        "reviewer",
        business=True,
        variants={Slot.BUSINESS_LICENCE: "wrong_code"},
    )
    loader.reject(
        case,
        "reviewer",
        ["LICENSE_INVALID"],
        "营业执照上的统一社会信用代码与您填写的不一致，请上传正确的营业执照。",
    )
    loader.upload(case, Slot.BUSINESS_LICENCE)
    services.case_reapply(case=case, actor=u["applicant3"])
    services.case_claim(case=case, actor=u["reviewer"])
    loader.approve(case, "reviewer", checker="senior")
    loader.close(case, u["applicant3"], "CLOSURE_REQUESTED", "企业已注销。")
    loader.expect(case, S.CLOSED)


def late(loader: Loader) -> None:
    """Two cases submitted earlier (the clock travels back for their submission only), so
    the At risk and Breached queues, the escalation and its e-mails are there at once: one
    unassigned with 0.9 of its business day used, one under review half a day overdue."""
    # time-machine (a test tool) travels the clock back for these two submissions only; nothing
    # else outside the tests imports it.
    import time_machine

    calendar = business_calendar()
    now = timezone.now()
    for owner, used, reviewer in (("applicant3", 0.9, ""), ("applicant", 1.5, "reviewer2")):
        submitted_at = _business_days_before(calendar, now, used)
        with time_machine.travel(submitted_at, tick=False):
            case = loader.submitted(P.REAL_NAME, owner)
        if reviewer:
            services.case_claim(case=case, actor=loader.users[reviewer])
        loader.late_cases.append(case)


def load_everything(loader: Loader) -> None:
    """Every story, then what the beat's first minute would do: the SLA sweep and the checks."""
    loader.create_users()
    loader.create_integration()
    for story in (real_name, video, credit, business, late):
        story(loader)
    # What the beat's sweep would do within a minute: flag the late cases (events, e-mails).
    sla_sweep()
    at_risk, breached = (Case.objects.get(pk=case.pk) for case in loader.late_cases)
    if at_risk.sla_at_risk_since is None or at_risk.sla_breached_at is not None:
        raise RuntimeError(_("Demo case %(case)s is not at risk.") % {"case": at_risk})
    if breached.sla_breached_at is None:
        raise RuntimeError(_("Demo case %(case)s is not breached.") % {"case": breached})
    # The automatic checks every submission and upload asked for, now, so the reviewers'
    # queues show their signals from the first page load (the worker would run them too).
    for case_id in Case.objects.filter(checks_requested_at__isnull=False).values_list(
        "pk", flat=True
    ):
        case_run_checks(case_id=case_id)

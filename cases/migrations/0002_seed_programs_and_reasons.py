"""Seed the four programs (DESIGN §2) and the reason catalogue (DESIGN §4).

The data is frozen here, as migrations must be; later changes are made by supervisors in the
admin or by new migrations.
"""

from django.db import migrations

IMG = True
PROGRAMS = [
    {
        "code": "real_name",
        "review_target_days": 1,
        "attempt_limit": 3,
        "slots": [
            {"slot": "declared_data", "required": True},
            {"slot": "id_front", "required": True},
            {"slot": "id_back", "required": True},
        ],
    },
    {
        "code": "video",
        "review_target_days": 1,
        "attempt_limit": 3,
        "slots": [
            {"slot": "declared_data", "required": True},
            {"slot": "id_front", "required": True},
            {"slot": "id_back", "required": True},
            {"slot": "selfie_with_id", "required": True},
            {"slot": "liveness_video", "required": True},
        ],
    },
    {
        "code": "credit",
        "review_target_days": 2,
        "attempt_limit": 3,
        "min_credit_score": 600,
        "slots": [
            {"slot": "declared_data", "required": True},
            {"slot": "id_front", "required": True},
            {"slot": "id_back", "required": True},
        ],
    },
    {
        "code": "business",
        "review_target_days": 3,
        "attempt_limit": 3,
        "approval_needs_four_eyes": True,
        "slots": [
            {"slot": "declared_data", "required": True},
            {"slot": "legal_rep_id_front", "required": True},
            {"slot": "legal_rep_id_back", "required": True},
            {"slot": "business_licence", "required": True},
            {"slot": "financial_statements", "required": True},
            {"slot": "tax_registration", "required": False},
            {"slot": "personal_info_form", "required": True},
        ],
    },
]

REJECT, MATERIALS, REUPLOAD, FREEZE, CLOSE, UNFREEZE = (
    "reject", "request_materials", "reupload", "freeze", "close", "unfreeze",
)

# code, category, outcome, decisions, slots, counts_as_attempt, second signature, sla_penalty,
# disclosed, cooloff_days, zh message, en message, zh guidance, en guidance
REASONS = [
    ("INFO_MISMATCH", "information", "retry", [REJECT, MATERIALS], ["declared_data", "id_front"],
     True, False, True, True, None,
     "您填写的姓名、身份证号或手机号与证件或账户信息不一致，请核对后重新填写并上传清晰的身份证人像面。",
     "The name, ID number or phone number you entered does not match your ID card or your "
     "account. Check them, correct them and upload a clear photo of the front of your ID card.",
     "比对申报信息、证件照片与钱包账户资料，指出不一致的字段。",
     "Compare declared data, the ID image and the wallet profile; name the field that differs."),
    ("ID_NUMBER_INVALID", "information", "retry", [REJECT, MATERIALS], ["declared_data"],
     True, False, True, True, None,
     "您填写的身份证号码无效（校验位、出生日期或性别位不正确），请核对后重新填写。",
     "The ID number you entered is not valid (its check digit, birth date or gender digit is "
     "wrong). Check it and enter it again.",
     "身份证号校验位、出生日期、性别位与申报信息不符。",
     "Checksum, birth date or gender digits disagree with the declared data."),
    ("DOC_MISSING", "materials", "retry", [REJECT, MATERIALS, REUPLOAD], [],
     True, False, True, True, None,
     "资料不完整：缺少所需的材料，请上传后重新提交。",
     "Your application is incomplete: a required document is missing. Upload it and resubmit.",
     "选择缺失的材料项。", "Choose the missing slot."),
    ("DOC_UNREADABLE", "materials", "retry", [REJECT, MATERIALS, REUPLOAD], [],
     True, False, True, True, None,
     "上传的照片画面模糊、反光、被裁切或尺寸过小，无法辨认。请在光线充足处重新拍摄完整、清晰的照片。",
     "The photo is blurry, has glare, is cropped or too small to read. Take a new photo of the "
     "whole document in good light and upload it.",
     "选择无法辨认的材料项，并说明原因（模糊、反光、裁切、过小）。",
     "Choose the unreadable slot and say why (blur, glare, cropped, too small)."),
    ("DOC_EXPIRED", "materials", "retry", [REJECT, MATERIALS, REUPLOAD], [],
     True, False, True, True, None,
     "上传的证件已过有效期，请上传在有效期内的证件。",
     "The document you uploaded has expired. Upload a document that is still valid.",
     "核对证件有效期。", "Check the validity dates."),
    ("FACE_MISMATCH", "biometric", "retry", [REJECT, MATERIALS], ["selfie_with_id", "liveness_video"],
     True, False, True, True, None,
     "人脸比对未通过：自拍或视频中的人与证件照片不一致。请本人重新拍摄手持证件自拍和视频。",
     "The face check failed: the person in the selfie or video does not match the ID photo. The "
     "ID holder must take a new selfie holding the ID and a new video.",
     "超过项目尝试次数后为最终结果。", "Final once the program's attempt limit is reached."),
    ("LIVENESS_FAILED", "biometric", "retry", [REJECT, MATERIALS], ["liveness_video"],
     True, False, True, True, None,
     "活体检测未通过：摄像头或麦克风无法使用，或视频中证件展示不清。请检查设备权限后重新录制。",
     "The liveness check failed: the camera or microphone did not work, or the ID was not shown "
     "clearly. Check your device permissions and record the video again.",
     "", ""),
    ("DOC_FORGED", "fraud", "final", [REJECT, FREEZE], [],
     True, True, True, False, None,
     "很抱歉，您的申请未能通过审核。",
     "We are sorry, your application could not be approved.",
     "发现伪造痕迹：需第二人复核，可冻结账户。切勿向申请人透露原因。",
     "Forgery traces: needs a second signature; may freeze. Never tell the applicant why."),
    ("SUSPICIOUS_BEHAVIOUR", "fraud", "final", [REJECT, FREEZE], [],
     True, True, True, False, None,
     "很抱歉，您的申请未能通过审核。",
     "We are sorry, your application could not be approved.",
     "可疑行为：需第二人复核。切勿向申请人透露原因。",
     "Suspicious behaviour: needs a second signature. Never tell the applicant why."),
    ("CREDIT_SCORE_LOW", "eligibility", "final", [REJECT], [],
     True, False, True, True, 90,
     "您的信用分低于本项目的最低要求（信用分过低），暂时无法通过。冷静期结束后可重新申请。",
     "Your credit score is below this program's minimum. You can apply again after the waiting "
     "period.",
     "信用分低于项目最低分。", "Score below the program minimum."),
    ("DEVICE_RISK", "technical", "retry", [REJECT, MATERIALS], [],
     True, False, True, True, None,
     "检测到设备异常（已越狱、模拟器或存在恶意软件）。请使用正常、已更新系统的设备重新提交。",
     "Your device was flagged (rooted, emulated or with malware). Use a normal, up-to-date device "
     "and submit again.",
     "", ""),
    ("NETWORK_INTERRUPTED", "technical", "retry", [REJECT, MATERIALS, REUPLOAD], [],
     False, False, False, True, None,
     "上传过程中网络中断，文件不完整。请在网络稳定时重新上传，本次不计入尝试次数。",
     "The network dropped during the upload and the file is incomplete. Upload it again on a "
     "stable connection; this does not count as an attempt.",
     "不计尝试次数，不计SLA。", "Not an attempt; no SLA penalty."),
    ("SYSTEM_FAILURE", "technical", "retry", [REJECT, MATERIALS], [],
     False, False, False, True, None,
     "由于我们的系统故障，您的申请需要重新提交。给您带来不便，深表歉意；本次不计入尝试次数。",
     "Because of a fault on our side, your application needs to be submitted again. We are sorry; "
     "this does not count as an attempt.",
     "我方故障：不计尝试次数，不计SLA。", "Our fault: not an attempt, no SLA penalty."),
    ("ACCOUNT_RESTRICTED", "account", "final", [REJECT, FREEZE], [],
     True, False, True, True, None,
     "您的账户状态异常（已被封禁或正在处理投诉），暂时无法完成认证。如有异议，请通过客服申诉渠道提出申诉。",
     "Your account is restricted (banned or under a complaint), so verification cannot be "
     "completed. If you disagree, file an appeal through customer service.",
     "", ""),
    ("LICENSE_INVALID", "materials", "retry", [REJECT, MATERIALS, REUPLOAD], ["business_licence"],
     True, False, True, True, None,
     "营业执照上的统一社会信用代码无效或与填写信息不一致，请上传正确的营业执照并核对信用代码。",
     "The unified social credit code on the business licence is invalid or does not match what you "
     "entered. Upload the correct licence and check the code.",
     "", ""),
    ("FINANCIALS_MISSING", "materials", "retry", [REJECT, MATERIALS, REUPLOAD],
     ["financial_statements"],
     True, False, True, True, None,
     "缺少财务报表，请以PDF格式上传最近一期的财务报表。",
     "The financial statements are missing. Upload the latest statements as a PDF.",
     "", ""),
    ("THEFT_REPORTED", "account", "none", [FREEZE], [],
     False, False, False, True, None,
     "您报告了账户被盗，我们已冻结账户以保护您的资金。我们的团队会联系您核实身份。",
     "You reported that your account was stolen. We have frozen it to protect your funds; our team "
     "will contact you to confirm your identity.",
     "账户被盗。", "Account reported stolen."),
    ("INFO_TAMPERED", "account", "none", [FREEZE], [],
     False, False, False, True, None,
     "您的实名信息被他人修改，我们已冻结账户以保护您。我们的团队会联系您。",
     "Your real-name data was changed by someone else; we have frozen the account to protect you. "
     "Our team will contact you.",
     "实名信息被篡改。", "Real-name data changed by someone else."),
    ("APPLICANT_NO_RESPONSE", "process", "none", [CLOSE], [],
     False, False, False, True, None,
     "由于在规定时间内未收到您补充的材料，申请已关闭。如需认证，请重新申请。",
     "Your application was closed because we did not receive the requested materials in time. "
     "You can start a new application.",
     "系统关闭原因。", "System close reason."),
    ("CLOSURE_REQUESTED", "process", "none", [CLOSE], [],
     False, False, False, True, None,
     "您已申请注销账户。依照法律要求，实名认证记录将被保留，不会被删除。",
     "You asked to close your account. As the law requires, your real-name record is kept and "
     "cannot be deleted.",
     "申请人注销账户。", "The applicant closed the account."),
    ("FINAL_REJECTION_AGED_OUT", "process", "none", [CLOSE], [],
     False, False, False, True, None,
     "您的申请已被最终拒绝且保留期已过，现已关闭。",
     "Your application was finally rejected and its holding period has ended; it is now closed.",
     "系统关闭最终拒绝的案件。", "System close of an aged final rejection."),
    ("OWNER_VERIFIED", "account", "none", [UNFREEZE], [],
     False, False, False, True, None,
     "我们已核实您的身份，账户已解冻，您的申请将继续审核。",
     "We have confirmed your identity and unfrozen your account; your application is under "
     "review again.",
     "已核实账户所有人身份。", "The account owner's identity was confirmed."),
    ("FREEZE_IN_ERROR", "process", "none", [UNFREEZE], [],
     False, False, False, True, None,
     "您的账户此前被误冻结，现已解冻。给您带来不便，深表歉意。",
     "Your account was frozen by mistake and is now unfrozen. We apologise for the inconvenience.",
     "误冻结。", "Frozen by mistake."),
    ("SUPERVISOR_CLOSED", "process", "none", [CLOSE], [],
     False, False, False, True, None,
     "您的申请已由审核主管关闭。如有疑问，请联系客服。",
     "Your application was closed by a review supervisor. Contact customer service with any "
     "questions.",
     "主管关闭案件，须写明原因。", "Supervisor close; write the reason in the note."),
]


def seed(apps, schema_editor):
    db = schema_editor.connection.alias  # the owner's connection, on PostgreSQL
    Program = apps.get_model("cases", "Program")
    ReasonCode = apps.get_model("cases", "ReasonCode")
    for data in PROGRAMS:
        Program.objects.using(db).update_or_create(code=data["code"], defaults=data)
    for row in REASONS:
        (code, category, outcome, decisions, slots, counts, second, penalty, disclosed, cooloff,
         zh, en, gzh, gen) = row
        ReasonCode.objects.using(db).update_or_create(
            code=code,
            defaults={
                "category": category,
                "outcome": outcome,
                "decisions": decisions,
                "slots": slots,
                "counts_as_attempt": counts,
                "needs_second_signature": second,
                "sla_penalty": penalty,
                "disclosed_to_applicant": disclosed,
                "cooloff_days": cooloff,
                "message_zh_hans": zh,
                "message_en": en,
                "guidance_zh_hans": gzh,
                "guidance_en": gen,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

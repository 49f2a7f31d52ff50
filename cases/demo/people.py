"""Who the demo has: people of every role with printed passwords, the applicants' identities and
companies (valid ID numbers and credit codes), and the demo wallet's API key. Demo only: a local
machine with DEBUG=1."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric, uscc

from accounts.roles import Role
from cases.actors import IntegrationActor

DEMO_DOMAIN = "demo.kycreview.test"
# The demo wallet backend: its cases are readable with the printed demo API key.
DEMO_INTEGRATION = "wallet"
WALLET = IntegrationActor(DEMO_INTEGRATION)


@dataclass(frozen=True)
class DemoUser:
    key: str
    full_name: str
    role: str  # a Role value; "" for the superuser
    language: str = "zh-hans"

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"

    @property
    def password(self) -> str:
        # Fixed and printed on purpose: this is demo data for a local machine only.
        return f"kyc-demo-{self.key}"

    @property
    def is_superuser(self) -> bool:
        return not self.role


# Fixed and printed on purpose, like the demo passwords: a local demo only (DEBUG=1).
DEMO_API_KEY = "kyc_demo00000000_wallet-demo-key-for-local-use-only"

DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("applicant", "张伟", Role.APPLICANT),
    DemoUser("applicant2", "王芳", Role.APPLICANT),
    DemoUser("applicant3", "李娜", Role.APPLICANT, language="en"),
    DemoUser("reviewer", "刘洋", Role.REVIEWER),
    DemoUser("reviewer2", "陈静", Role.REVIEWER, language="en"),
    DemoUser("senior", "杨磊", Role.SENIOR_REVIEWER),
    DemoUser("supervisor", "赵敏", Role.SUPERVISOR),
    DemoUser("supervisor2", "黄勇", Role.SUPERVISOR),
    DemoUser("auditor", "周丽", Role.AUDITOR),
    DemoUser("admin", "系统管理员", ""),
)


@dataclass(frozen=True)
class Person:
    """An applicant's identity as declared and as printed on the generated ID card."""

    name: str
    latin: str
    area: str  # administrative division code of the place of registration
    born: date
    order: int  # odd for men, even for women
    phone: str
    authority: str

    @property
    def id_number(self) -> str:
        body = f"{self.area}{self.born:%Y%m%d}{self.order:03d}"
        # calc_check_digit ignores the last character: it expects the number with its check digit.
        return ric.validate(body + ric.calc_check_digit(body + "0"))

    @property
    def sex(self) -> str:
        return "M" if self.order % 2 else "F"


@dataclass(frozen=True)
class Company:
    name: str
    latin: str
    region: str
    organization: str  # the first 8 characters of the organization code (GB 11714)
    contact_email: str

    @property
    def credit_code(self) -> str:
        return credit_code(self.region, self.organization)


PEOPLE = {
    "applicant": Person(
        "张伟",
        "ZHANG WEI",
        "110105",
        date(1988, 3, 12),
        123,
        "13800138001",
        "Beijing PSB Chaoyang Branch",
    ),
    "applicant2": Person(
        "王芳",
        "WANG FANG",
        "310104",
        date(1992, 7, 8),
        246,
        "13900139002",
        "Shanghai PSB Xuhui Branch",
    ),
    "applicant3": Person(
        "李娜", "LI NA", "330106", date(1995, 11, 23), 58, "13700137003", "Hangzhou PSB Xihu Branch"
    ),
}
COMPANIES = {
    "applicant": Company(
        "北京云帆科技有限公司",
        "Beijing Yunfan Technology Co., Ltd.",
        "110105",
        "MA01YF2K",
        f"finance.yunfan@{DEMO_DOMAIN}",
    ),
    "applicant3": Company(
        "杭州青禾贸易有限公司",
        "Hangzhou Qinghe Trading Co., Ltd.",
        "330106",
        "MA2CQH8R",
        f"office.qinghe@{DEMO_DOMAIN}",
    ),
}

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(region: str, organization: str) -> str:
    """A valid unified social credit code: registered by the market regulator (9), a company (1),
    in `region`, with the organization code's own check digit and the code's check digit."""
    total = sum(int(c, 36) * w for c, w in zip(organization, _ORG_WEIGHTS, strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
    body = f"91{region}{organization}{org_check}"
    return uscc.validate(body + uscc.calc_check_digit(body))

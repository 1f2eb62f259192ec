"""Realistic render contexts: for template previews, the SMS length check and tests.

``long_context()`` is deliberately pessimistic (a ~30-character item name, a 20-character
department, a company applicant, long comments, a provisional date) and holds every key any
notice needs, so ``check_sms_templates(long_context())`` exercises every template at once.
"""

from __future__ import annotations

from typing import Any

from notifications.notices import DEPARTMENT_NOTICES, STAFF_NOTICES

_CASE: dict[str, Any] = {
    "case_no": "GEM-2026-000123",
    "item_code": "630801-XK-0042",
    "item_name": "建设用地规划许可证核发",
    "department": "格尔木市自然资源局",
    "action_label": "受理",
    "state_label": "审查",
    "applicant_name": "张*",
    "occurred_at": "2026-03-02 10:15",
    "promised_due": "2026-03-16",
    "statutory_due": "2026-03-30",
    "due_provisional": False,
    "public_note": None,
    "fields": {},
    "status_url": "https://zwfw.geermu.gov.cn/status",
    "hotline": "12345",
    "limit_unit": "个工作日",
}

_PER_NOTICE: dict[str, dict[str, Any]] = {
    "accepted": {},
    "correction_requested": {
        "action_label": "一次性告知补正",
        "state_label": "待补正",
        "fields": {"corrections": "1. 申请表缺少法定代表人签字；2. 总平面图比例不符合要求"},
    },
    "correction_received": {"action_label": "接收补正材料", "promised_due": "2026-03-24"},
    "decided": {
        "action_label": "作出决定",
        "state_label": "待制证",
        "fields": {"outcome": "准予许可"},
    },
    "certificate_ready": {
        "action_label": "制证",
        "state_label": "待领取",
        "public_note": "请携带身份证原件到政务服务大厅3号窗口领取，或致电申请免费寄递",
    },
    "delivered": {"action_label": "送达", "state_label": "办结"},
    "extended": {
        "action_label": "延期",
        "promised_due": "2026-04-13",
        "fields": {"reason": "需组织专家评审", "extend_days": "20"},
    },
    "due_date_changed": {
        "action_label": "期限调整",
        "promised_due": "2027-01-08",
        "statutory_due": "2027-01-22",
        "due_provisional": True,
    },
    "rating_invitation": {"action_label": "办结", "state_label": "办结"},
    "warning_yellow": {"level": "yellow", "days_left": 2},
    "warning_red": {"level": "red", "days_left": -1},
    "verification_code": {"purpose": "网上申请", "minutes": 5, "one_time_code": "493027"},
    "query_code_reset": {"action_label": "找回查询码", "query_code": None},
}

_PUBLICATION: dict[str, Any] = {
    "task": "fiscal_monthly",
    "period": "2026-02",
    "due_on": "2026-03-27",
    "published_at": "2026-03-20 09:30",
    "reasons": [],
    "department": "格尔木市财政局",
    "occurred_at": "2026-03-20 09:30",
}

_LONG: dict[str, Any] = {
    "case_no": "GEM-2026-00012345",
    "item_code": "630801-XK-00420-001",
    "item_name": "建设工程消防设计审查及特殊建设工程消防验收（含竣工验收备案抽查）",
    "department": "海西蒙古族藏族自治州生态环境局格尔木分局",
    "action_label": "一次性告知补正材料",
    "state_label": "特别程序（专家评审）",
    "applicant_name": "青海省格尔木市昆仑建设工程有限责任公司",
    "occurred_at": "2026-12-28 16:45",
    "promised_due": "2027-01-29",
    "statutory_due": "2027-02-26",
    "due_provisional": True,
    "public_note": (
        "经现场核查，申请材料中的建设工程规划许可证复印件与原件不一致，"
        "消防设计文件未加盖设计单位出图专用章，请核对后重新提交；"
        "如有疑问请在工作日上午九时至下午五时致电窗口咨询。"
    ),
    "fields": {
        "corrections": (
            "1. 建设工程规划许可证复印件与原件不一致，请提供加盖公章的复印件；"
            "2. 消防设计文件未加盖设计单位出图专用章；"
            "3. 法定代表人身份证明书缺少签字并须注明有效期限；"
            "4. 施工图设计文件审查合格书已过有效期，请重新提供；"
            "5. 授权委托书未写明委托权限。"
        ),
        "outcome": "准予许可，许可范围以建设工程消防验收意见书载明的内容为准，有效期至二〇三一年",
        "reason": "需组织专家评审并征求第三方意见，专家意见尚未全部返回",
        "extend_days": "20",
    },
    "status_url": "https://zwfw.geermu.gov.cn/gkflow/status",
    "hotline": "12345",
    "limit_unit": "个工作日",
    "level": "red",
    "days_left": -120,
    "task": "construction_project_milestone",
    "period": "2026-Q4",
    "due_on": "2027-01-29",
    "published_at": "2027-02-03 17:45",
    "purpose": "找回查询码",
    "minutes": 5,
    "one_time_code": "493027",
    "query_code": "QX7K2MRT",
    "reasons": [
        "来源文件缺少“一般公共预算支出”合计行，无法核对本月支出总额",
        "CSV 第 1287 行“项目名称”为空",
        "门户网站发布接口返回 503，已重试 5 次",
    ],
}


def case_context(notice: str = "accepted", **overrides: Any) -> dict[str, Any]:
    """A complete, ordinary context for ``notice`` (a copy: mutate freely)."""
    if notice in DEPARTMENT_NOTICES:
        context = dict(_PUBLICATION)
        if notice == "publication_failed":
            context |= {
                "published_at": None,
                "reasons": ["来源文件缺少“一般公共预算支出”合计行", "CSV 第 12 行金额不是数字"],
            }
    else:
        context = {**_CASE, **_PER_NOTICE.get(notice, {})}
        if notice in STAFF_NOTICES:
            context["action_label"] = "预警"
        context["fields"] = dict(context["fields"])
    return context | overrides


def long_context() -> dict[str, Any]:
    """Every key any notice needs, each with a pessimistically long value."""
    return {**_LONG, "fields": dict(_LONG["fields"]), "reasons": list(_LONG["reasons"])}

"""The service guide (办事指南): each item's version in force today, in words an applicant reads —
channels, roles and limits in Chinese, and the steps in the order a case meets them."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from gkflow.domain.errors import NotFound
from gkflow.domain.items import ItemVersion, Limit, LimitUnit
from gkflow.runtime import Runtime

CHANNEL_LABELS = {
    "window": "窗口办理", "online": "网上办理", "post": "邮寄申请", "fax": "传真申请",
    "hotline": "12345热线", "wechat": "微信", "email": "电子邮件",
}
ROLE_LABELS = {
    "applicant": "申请人", "window_clerk": "窗口工作人员", "handler": "承办人员",
    "department_head": "部门负责人", "dispatcher": "12345热线", "project_unit": "建设单位",
    "system": "系统", "partner": "合作平台", "admin": "管理员",
}


@dataclass(frozen=True)
class GuideAction:
    label: str
    target_label: str
    by: str  # who takes the step, in Chinese


@dataclass(frozen=True)
class GuideStep:
    label: str
    final: bool
    stops_clock: bool  # 特殊环节: time here does not count toward the limit
    limit: str | None  # the step's own limit in words
    actions: tuple[GuideAction, ...]


def limit_words(limit: Limit) -> str:
    """"15个工作日", "730个自然日", or "即办（当场办结）" for a limit of 0 days."""
    if limit.days == 0:
        return "即办（当场办结）"
    return f"{limit.days}个{'工作日' if limit.unit is LimitUnit.WORKING else '自然日'}"


def items_in_force(rt: Runtime) -> list[ItemVersion]:
    """Every item's version in force today (an item whose first version starts later is left out)."""
    today = rt.local_date(rt.now())
    found = []
    for code in rt.catalogue.codes():
        try:
            found.append(rt.catalogue.in_force(code, today))
        except NotFound:
            continue
    return found


def item_for_guide(rt: Runtime, code: str, version: int | None = None) -> ItemVersion:
    """Version ``version`` of item ``code``, or the one in force today; NotFound otherwise."""
    if version is not None:
        return rt.catalogue.get(code, version)
    return rt.catalogue.in_force(code, rt.local_date(rt.now()))


def roles_words(roles: tuple[str, ...] | list[str]) -> str:
    """Who may take a step, in Chinese (窗口工作人员、承办人员)."""
    return "、".join(ROLE_LABELS.get(role, role) for role in roles)


def guide_steps(item: ItemVersion) -> list[GuideStep]:
    """The states in the order a case meets them (breadth first from the first), each with its ways on."""
    order: list[str] = []
    queue, seen = deque([item.initial_state]), {item.initial_state}
    while queue:
        state = queue.popleft()
        order.append(state)
        for t in item.transitions_from(state):
            if t.target not in seen:
                seen.add(t.target)
                queue.append(t.target)
    steps = []
    for name in order:
        current = item.states[name]
        actions = tuple(
            GuideAction(t.label, item.states[t.target].label, roles_words(t.roles))
            for t in item.transitions_from(name)
        )
        steps.append(GuideStep(current.label, current.final, current.stops_clock,
                               limit_words(current.step_limit) if current.step_limit else None, actions))
    return steps

"""Who may see, register and act on cases: one place for the API, the pages and the services.

The engine itself checks role and department again when a transition fires
(``gkflow.domain.cases.plan_transition``); these rules decide what a member of staff is shown and
offered, and which requests are refused before anything is attempted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from gkflow.domain.errors import Forbidden

ADMIN_ROLE = "admin"
# Roles the engine itself or applicants hold; a staff account never does.
NON_STAFF_ROLES = frozenset({"applicant", "system"})
# Roles that act for no department (the applicant, the engine itself, administrators).
DEPARTMENT_FREE_ROLES = frozenset({"applicant", "system", ADMIN_ROLE})
# Staff who register cases brought to the window (收件) or taken from the 12345 hotline (派单).
REGISTERING_ROLES = ("window_clerk", "dispatcher")


class Staff(Protocol):
    """What the rules need to know of a member of staff."""

    @property
    def username(self) -> str: ...

    @property
    def roles(self) -> tuple[str, ...]: ...

    @property
    def department(self) -> str | None: ...


def is_admin(staff: Staff) -> bool:
    """Administrators monitor every department."""
    return ADMIN_ROLE in staff.roles


def may_see_case(staff: Staff, *, department: str, assigned_department: str | None = None) -> bool:
    """Administrators see every case; staff those of their department or assigned to it (承办)."""
    return is_admin(staff) or (
        staff.department is not None and staff.department in (department, assigned_department)
    )


def require_may_see_case(staff: Staff, *, case_no: str, department: str,
                         assigned_department: str | None = None) -> None:
    """Forbidden unless ``staff`` may see the case."""
    if not may_see_case(staff, department=department, assigned_department=assigned_department):
        raise Forbidden(f"办件 {case_no} 属于{department}，您无权查看 (case of another department)")


def may_register(staff: Staff) -> bool:
    """Whether ``staff`` registers cases at the window."""
    return any(role in REGISTERING_ROLES for role in staff.roles)


def registering_role(staff: Staff) -> str:
    """The role a registration is recorded under; Forbidden for staff who do not register cases."""
    for role in staff.roles:
        if role in REGISTERING_ROLES:
            return role
    raise Forbidden("只有窗口工作人员可以登记收件 (only window staff register cases)")


def may_act(staff: Staff, allowed_roles: Iterable[str]) -> bool:
    """Whether ``staff`` holds a role a transition allows; administrators monitor, staff act."""
    allowed = set(allowed_roles)
    return not is_admin(staff) and any(role in allowed for role in staff.roles)


def require_may_act_on_cases(staff: Staff) -> None:
    """Forbidden for administrators (they monitor) and for staff without a department."""
    if is_admin(staff):
        raise Forbidden("管理员不能办理办件环节 (administrators monitor; staff act)")
    if not staff.department:
        raise Forbidden(f"account '{staff.username}' has no department and may not act on cases")


def require_staff_with_department(staff: Staff) -> None:
    """Forbidden for a non-administrator without a department (it would see nothing)."""
    if not is_admin(staff) and not staff.department:
        raise Forbidden(f"account '{staff.username}' has no department and may not act on cases")


def department_filter(staff: Staff) -> str | None:
    """The department whose records ``staff`` sees, or None for all (administrators)."""
    return None if is_admin(staff) else (staff.department or "")


def require_admin(staff: Staff) -> None:
    """Forbidden unless ``staff`` is an administrator."""
    if not is_admin(staff):
        raise Forbidden("此页面仅限管理员 (administrators only)")

"""Who may see and act on which report: the one place every front end asks.

Staff see the reports of every authority one of their departments belongs to; superusers see all and
act as authority administrators. The staff API, the staff web app and the media access check call
these functions; what a role may then do to a report's status is the workflow's table
(``reports.workflow``), applied by the services.
"""

from __future__ import annotations

from django.db.models import Q
from rest_framework.authtoken.models import Token

from geo.models import Authority, Department, Membership, StaffRole
from reports.models import Report

# A user with several departments of one authority acts in the strongest of their roles there.
_ROLE_RANK: dict[str | None, int] = {StaffRole.WORKER: 1, StaffRole.LEAD: 2, StaffRole.AUTHORITY_ADMIN: 3}


def staff_roles(user) -> dict[int, str]:
    """The user's strongest role per authority id (superusers: authority admin everywhere)."""
    if not user.is_authenticated or not user.is_active:
        return {}
    if user.is_superuser:
        return dict.fromkeys(Authority.objects.values_list("pk", flat=True), StaffRole.AUTHORITY_ADMIN)
    roles: dict[int, str] = {}
    for authority_id, role in Membership.objects.filter(user=user).values_list("department__authority_id", "role"):
        if _ROLE_RANK[role] > _ROLE_RANK.get(roles.get(authority_id), 0):
            roles[authority_id] = role
    return roles


def is_staff(user) -> bool:
    """Whether the user may use the staff front ends at all: works for a department, or is a superuser."""
    return user.is_superuser or bool(staff_roles(user))


def actor_role(user, report: Report) -> str | None:
    """The user's strongest role for the report's authority; None when they do not work for it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return StaffRole.AUTHORITY_ADMIN
    roles = Membership.objects.filter(user=user, department__authority_id=report.authority_id).values_list(
        "role", flat=True
    )
    return max(roles, key=_ROLE_RANK.__getitem__, default=None)


def may_see(user, report: Report) -> bool:
    """Whether the staff account sees this report (its internal notes, hidden photos) at all."""
    return user is not None and Report.objects.for_staff(user).filter(pk=report.pk).exists()


def staff_department_ids(user) -> list[int]:
    """The departments whose events a staff account may follow (its websocket groups), in id order.

    Its own departments (geo.Membership); an authority administrator follows every department of that
    authority. Inactive or anonymous accounts follow none.
    """
    if not getattr(user, "is_active", False) or not user.is_authenticated:
        return []
    memberships = Membership.objects.filter(user=user)
    administered = memberships.filter(role=StaffRole.AUTHORITY_ADMIN).values("department__authority_id")
    return list(
        Department.objects.filter(Q(pk__in=memberships.values("department_id")) | Q(authority__in=administered))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def token_user(key: str):
    """The active account a staff API token belongs to (``Authorization: Token <key>``), or None.

    The one reading of staff tokens for everything that is not a DRF view: photo access, websockets and their
    revocation.
    """
    key = key.strip()
    if not key:
        return None
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None and token.user.is_active else None

"""Websocket group names, shared by consumers and handlers, and who may join the staff groups."""

from __future__ import annotations

import uuid

from django.db.models import Q

from geo.models import Department, Membership, StaffRole

MAP_GROUP = "map"


def report_group(public_id: uuid.UUID | str) -> str:
    return f"report.{public_id}"


def department_group(department_id: int) -> str:
    return f"department.{department_id}"


def staff_department_ids(user) -> list[int]:
    """The departments whose events a staff account may follow, in id order.

    Its own departments (geo.Membership); an authority administrator sees every department of
    that authority. Inactive or anonymous accounts see none.
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

"""Websocket group names, shared by consumers and handlers (who may join the staff groups: reports.permissions)."""

from __future__ import annotations

import uuid

MAP_GROUP = "map"


def report_group(public_id: uuid.UUID | str) -> str:
    return f"report.{public_id}"


def department_group(department_id: int) -> str:
    return f"department.{department_id}"

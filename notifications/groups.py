"""Websocket group names, shared by consumers and handlers."""

import uuid

MAP_GROUP = "map"


def report_group(public_id: uuid.UUID | str) -> str:
    return f"report.{public_id}"

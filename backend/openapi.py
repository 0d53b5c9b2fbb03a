"""OpenAPI document post-processing: what holds for every operation, documented once.

drf-spectacular documents the success answers of each view; the error shape is the same for all
(backend.api_errors), so it is added here to every operation with the statuses that operation can give.
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
        "allowed_transitions": {"type": "array", "items": {"type": "string"}},
    },
}

DESCRIPTIONS = {
    "400": "Invalid input; each error names its field.",
    "401": "Not authenticated.",
    "403": "Authenticated, but not allowed.",
    "404": "Not found (also: a report of another authority, for staff).",
    "405": "Method not allowed.",
    "409": "Conflict: an Idempotency-Key reused for another request, or a transition the workflow does not allow.",
    "413": "Request too large.",
    "429": "Too many requests; see the Retry-After header.",
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Errors"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Errors"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            # 404 also for a page number past the end of a list.
            codes = {"400", "404", "405", "413", "429"}
            if path.startswith("/api/staff/") and not path.endswith("/auth/token/"):
                codes |= {"401", "403"}
            if method == "post" and (path.endswith("/transition/") or path == "/api/v1/reports/"):
                codes.add("409")
            for parameter in operation.get("parameters", []):
                # As in HTML forms, an optional query parameter sent empty counts as not sent.
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, {
                    "description": DESCRIPTIONS[code], "content": {"application/json": {"schema": reference}},
                })
    return result

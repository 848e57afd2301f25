"""The error body in the OpenAPI schema: one component, on every error response."""

from typing import Any

from registry_site.errors import ERROR_CODE_NAMES, FORBIDDEN_REASONS

ERROR_BODY = "ErrorBody"


def error_body_schema() -> dict[str, Any]:
    reasons = ", ".join(f"`{reason}`" for reason, _ in FORBIDDEN_REASONS)
    return {
        "type": "object",
        "description": "Every error the API answers has this shape.",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "enum": list(ERROR_CODE_NAMES)},
                    "message": {"type": "string"},
                    "details": {
                        "type": "object",
                        "additionalProperties": {},
                        "description": "What the code needs: `field`, `missing`, `line`, "
                        f"`retry_after`, … A 403's `reason` is one of {reasons}.",
                    },
                },
                "required": ["code", "message", "details"],
            }
        },
        "required": ["error"],
    }


def error_bodies(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: add the error body component and give every
    4xx and 5xx response that documents no body of its own that body."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_BODY] = error_body_schema()
    ref = {"$ref": f"#/components/schemas/{ERROR_BODY}"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status)[0] in "45" and "content" not in response:
                    response["content"] = {"application/json": {"schema": ref}}
    return result

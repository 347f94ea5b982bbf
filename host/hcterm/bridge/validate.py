"""Request bodies checked before anything reaches a reader: JSON, nesting depth, then the
route's schema in the OpenAPI description (bridge.openapi) — types, sizes, patterns.

    body = parse_json(raw)                  # ApiError 400 when not JSON or nested too deep
    check(body, request_schema("/api/readers/{id}/apdu"))

`check` knows the part of JSON Schema the description uses: type, properties, required,
additionalProperties, items, oneOf, enum, minLength/maxLength, pattern, minItems/maxItems,
min/maxProperties, minimum/maximum. The first problem found is the error, named by its place in
the body (`apdu[2]`, `fields.XM`).
"""

import functools
import json
import re

from .errors import bad_request

MAX_DEPTH = 4        # the deepest body a route takes: {"fields": {"XM": "…"}} is 2

_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool}
_NAMES = {str: "a string", dict: "an object", list: "an array", bool: "true or false",
          int: "an integer", float: "a number", type(None): "null"}


def parse_json(raw):
    """The JSON value of `raw` (bytes); ApiError 400 when it is not UTF-8 JSON or is nested
    deeper than MAX_DEPTH (checked without recursing, whatever the depth)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the body is not JSON (UTF-8)") from None
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [v for x in level for v in (x.values() if isinstance(x, dict) else x)
                 if isinstance(v, (dict, list))] if level else []
        if not level:
            return value
    raise _too_deep()


def _too_deep():
    return bad_request(f"the body is nested too deep: the bridge's requests are at most "
                       f"{MAX_DEPTH} levels of objects and arrays")


@functools.cache
def request_schema(route):
    """The JSON schema of the request body of POST `route` (canonical path), or None."""
    from .openapi import openapi

    operation = openapi()["paths"].get(route, {}).get("post", {})
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def check(value, schema, where="body"):
    """ApiError 400 naming the first place where `value` does not fit `schema`."""
    problem = _problem(value, schema, where)
    if problem:
        raise bad_request(problem)


def _what(value):
    return _NAMES.get(type(value), type(value).__name__)


def _type_ok(value, name):
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    kind = _TYPES[name]
    return isinstance(value, kind) and (kind is not bool or value in (True, False))


def _expected(schema):
    if "oneOf" in schema:
        return " or ".join(_expected(s) for s in schema["oneOf"])
    name = schema.get("type")
    if name == "array" and "type" in schema.get("items", {}):
        return f"an array of {schema['items']['type']}s"
    return {"integer": "an integer", "number": "a number", "string": "a string",
            "object": "an object", "array": "an array", "boolean": "true or false"}[name]


def _problem(value, schema, where):
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if _type_ok(value, s["type"])]
        if not matching:
            return f"{where}: expected {_expected(schema)}, got {_what(value)}"
        return _problem(value, matching[0], where)
    name = schema.get("type")
    if name and not _type_ok(value, name):
        return f"{where}: expected {_expected(schema)}, got {_what(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {value!r} is not one of {', '.join(map(str, schema['enum']))}"
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            return f"{where}: {len(value)} characters, over the {schema['maxLength']} allowed"
        if len(value) < schema.get("minLength", 0):
            return f"{where}: must not be empty"
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            return f"{where}: {value[:40]!r} is not {schema.get('description', 'valid')}"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            return (f"{where}: {value} is out of range {schema.get('minimum', '…')}.."
                    f"{schema.get('maximum', '…')}")
    elif isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            return f"{where}: {len(value)} items, over the {schema['maxItems']} allowed"
        if len(value) < schema.get("minItems", 0):
            return f"{where}: needs at least {schema['minItems']} item(s)"
        for n, item in enumerate(value):
            problem = _problem(item, schema.get("items", {}), f"{where}[{n}]")
            if problem:
                return problem
    elif isinstance(value, dict):
        return _object_problem(value, schema, where)
    return None


def _object_problem(value, schema, where):
    props = schema.get("properties", {})
    if len(value) > schema.get("maxProperties", len(value)):
        return f"{where}: {len(value)} members, over the {schema['maxProperties']} allowed"
    if len(value) < schema.get("minProperties", 0):
        return f"{where}: needs at least {schema['minProperties']} member(s)"
    for key in schema.get("required", ()):
        if key not in value:
            return f"{where}: {key!r} is missing"
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            sub = props[key]
        elif extra is False:
            return (f"{where}: unknown member {key[:40]!r}: the members are "
                    f"{', '.join(props)}")
        elif isinstance(extra, dict):
            sub = extra
        else:
            continue
        problem = _problem(item, sub, f"{where}.{key}" if where != "body" else key)
        if problem:
            return problem
    return None

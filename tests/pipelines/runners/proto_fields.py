"""Which fields of a JSON document a `.proto` file does not declare (what protojson rejects).

The KFP API server unmarshals an uploaded PipelineSpec and its platform config with Go's
`protojson.Unmarshal` (backend/src/apiserver/template/v2_template.go:186 and :214 at KFP
2.5.0), which fails on any field its proto does not declare. `unknown_fields(document,
proto_text, message)` walks a JSON document the way protojson does, resolving each field's
type in the `.proto` source by the proto scoping rules, and returns the dotted paths of
fields the message lacks. It reads the proto text itself, so it checks against the
backend's own proto at a release tag rather than the Python SDK's copy.
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"\b(message|enum)\s+(\w+)\s*\{")
_FIELD = re.compile(
    r"^\s*(?:repeated\s+|optional\s+)?(map\s*<\s*[\w.]+\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*\d+",
    re.M,
)
_SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
            "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"}  # fmt: skip


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def _closing(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError("unbalanced braces")


def index(proto_text: str) -> dict[str, tuple[str, str]]:
    """Dotted message/enum path -> (kind, body with nested blocks removed)."""
    found: dict[str, tuple[str, str]] = {}

    def walk(text: str, prefix: str) -> str:
        own, pos = [], 0
        while (match := _BLOCK.search(text, pos)) is not None:
            end = _closing(text, match.end() - 1)
            name = prefix + match.group(2)
            body = walk(text[match.end() : end], name + ".")
            found[name] = (match.group(1), body)
            own.append(text[pos : match.start()])
            pos = end + 1
        own.append(text[pos:])
        return "".join(own)

    walk(_strip_comments(proto_text), "")
    return found


def _resolve(types: dict, scope: str, name: str) -> str | None:
    parts = scope.split(".")
    for i in range(len(parts), -1, -1):
        candidate = ".".join(parts[:i] + [name])
        if candidate in types:
            return candidate
    return None


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def unknown_fields(document, proto_text: str, message: str) -> list[str]:
    """Dotted paths of `document`'s fields that `message` (and its field types) lack."""
    types = index(proto_text)
    missing: list[str] = []

    def check(value, type_path: str, where: str) -> None:
        if not isinstance(value, dict) or types[type_path][0] != "message":
            return
        fields = {m.group(3): m for m in _FIELD.finditer(types[type_path][1])}
        for key, item in value.items():
            field = fields.get(key) or fields.get(_snake(key))
            if field is None:
                missing.append(f"{where}{key}")
                continue
            is_map = field.group(1).startswith("map")
            type_name = field.group(2) if is_map else field.group(1)
            if type_name in _SCALARS or type_name.startswith("google.protobuf"):
                continue
            resolved = _resolve(types, type_path, type_name)
            if resolved is None:
                continue  # An imported type (other file): not checked here.
            items = item.values() if is_map else item if isinstance(item, list) else [item]
            for element in items:
                check(element, resolved, f"{where}{key}.")

    check(document, message, "")
    return missing

"""The fixed text of a JSON object whose schema lists every property as required: braces, keys, separators.

A model constrained by a grammar still spends one decode step per token of this skeleton, which the grammar
allows in only one way. Appending it instead (evaluated as one batch, which costs about one step) saves several
steps per reply; on a 2-core CPU each step is ~35 ms, and they all come before the first spoken word.
"""

from __future__ import annotations

import json
from typing import Any


class JsonSkeleton:
    """Knows, for a flat-keyed object schema, the text forced at the start and after each property's value."""

    def __init__(self, schema: dict[str, Any]) -> None:
        properties: dict[str, Any] = schema.get("properties", {})
        self.keys = list(properties)
        self.string_valued = [_is_string(properties[key]) for key in self.keys]
        self.enum_valued = [bool(properties[key].get("enum")) for key in self.keys]
        if not self.keys or set(schema.get("required", [])) != set(self.keys):
            raise ValueError("only objects whose properties are all required have a fixed skeleton")

    def opening(self) -> str:
        return "{" + self._key(0)

    def after(self, index: int, closed_by_comma: bool, compact: bool = False) -> str:
        """Forced text once the value of property ``index`` is complete; ``closed_by_comma`` when the model
        itself wrote the comma that ended it (numbers and literals end only when something follows). The grammar
        allows a space after separators or none: ``compact`` is the text without, for a model that wrote none."""
        if index + 1 == len(self.keys):
            return "" if closed_by_comma else "}"
        space = "" if compact else " "
        return ("" if closed_by_comma else ",") + space + self._key(index + 1, compact)

    def _key(self, index: int, compact: bool = False) -> str:
        colon = ":" if compact else ": "
        return json.dumps(self.keys[index]) + colon + ('"' if self.string_valued[index] else "")


def _is_string(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "string":
        return True
    enum: list[Any] = schema.get("enum") or []
    return bool(enum) and all(isinstance(v, str) for v in enum)


class ValueScanner:
    """Follows the characters of one JSON value (its opening quote may already have been forced) and says
    when it is complete."""

    def __init__(self, in_string: bool) -> None:
        self._in_string = in_string
        self._escape = False
        self._depth = 0
        self._started = in_string
        self.closed_by_comma = False
        self.closed_object = False

    def feed(self, text: str) -> int | None:
        """Consume ``text``; return how many of its characters belong to the value once it is complete."""
        for i, ch in enumerate(text):
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
                    if self._depth == 0:
                        return i + 1
                continue
            if ch.isspace() and not self._started:
                continue
            if ch == '"':
                self._in_string = self._started = True
            elif ch in "{[":
                self._depth += 1
                self._started = True
            elif ch in "}]":
                self._depth -= 1
                if self._depth == 0:
                    return i + 1
                if self._depth < 0:
                    self.closed_object = True
                    return i + 1
            elif ch == "," and self._depth == 0:
                self.closed_by_comma = True
                return i + 1
            else:
                self._started = True
        return None


class JsonCloser:
    """Follows a JSON text as it is written and knows what would close it: a cut-off string value and the
    objects and arrays still open."""

    def __init__(self) -> None:
        self._open: list[str] = []
        self._in_string = False
        self._escape = False

    def feed(self, text: str) -> None:
        for ch in text:
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
            elif ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._open.append("}" if ch == "{" else "]")
            elif ch in "}]" and self._open:
                self._open.pop()

    def closing(self) -> str:
        """The text that completes what was written so far (valid when it was cut inside a value)."""
        if self._escape:
            return ""
        return ('"' if self._in_string else "") + "".join(reversed(self._open))

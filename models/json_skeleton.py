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
    """Follows a JSON text as it is written and knows what would close it wherever it stops: inside a string,
    a key, an escape or a literal, after a colon or a comma, with objects and arrays still open.

    Where a value is still owed, the schema (when given) says which empty one fits (``{}`` for an object, the
    first of an enum), so the closed text still has the shape its reader decodes."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self._schema = schema or {}
        self._frames: list[_Frame] = []
        self._in_string = False
        self._string_is_key = False
        self._string = ""  # the string being written, as written (escapes and all)
        self._escape = False
        self._hex: int | None = None  # digits written of a \u escape
        self._literal = ""

    def feed(self, text: str) -> None:
        for ch in text:
            if self._in_string:
                self._feed_string(ch)
            else:
                self._feed_structure(ch)

    def _feed_string(self, ch: str) -> None:
        if self._hex is not None:
            self._hex = None if self._hex == 3 else self._hex + 1
        elif self._escape:
            self._escape = False
            self._hex = 0 if ch == "u" else None
        elif ch == "\\":
            self._escape = True
        elif ch == '"':
            self._in_string = False
            if self._string_is_key:
                self._frames[-1].written.add(self._string)
                self._frames[-1].key, self._frames[-1].state = self._string, "colon"
            elif self._frames:
                self._frames[-1].state = "after"
            return
        self._string += ch

    def _feed_structure(self, ch: str) -> None:
        frame = self._frames[-1] if self._frames else None
        if ch.isspace() or ch in ',:{}[]"':
            self._literal = ""
        if ch.isspace():
            return
        if ch == '"':
            self._in_string = True
            self._string_is_key = frame is not None and frame.kind == "{" and frame.state in ("first", "key")
            self._string = ""
        elif ch in "{[":
            self._frames.append(_Frame(ch, self._value_schema(frame)))
        elif ch in "}]":
            if self._frames:
                self._frames.pop()
            if self._frames:
                self._frames[-1].state = "after"
        elif ch == ":" and frame is not None:
            frame.state = "value"
        elif ch == "," and frame is not None:
            frame.state = "key" if frame.kind == "{" else "value"
        else:
            self._literal += ch
            if frame is not None:
                frame.state = "after"

    def _finished_string(self, frame: _Frame | None) -> str:
        enum: list[Any] = [] if self._string_is_key else self._value_schema(frame).get("enum") or []
        whole = next((json.dumps(v)[1:] for v in enum if json.dumps(v)[1:].startswith(self._string)), None)
        if whole is not None:  # an enum's value (the grammar allowed only their beginnings): the first it can be
            return whole[len(self._string) :]
        # A dangling backslash becomes an escaped one; a cut \u escape is finished as a space would be.
        text = ("\\" if self._escape else "0020"[self._hex :] if self._hex is not None else "") + '"'
        if self._string_is_key and frame is not None:
            text += ": " + _empty(self._value_schema(frame, self._string))
        return text

    def _value_schema(self, frame: _Frame | None, key: str | None = None) -> dict[str, Any]:
        """The schema of the value that comes next in ``frame`` (the whole text's at the top), or of ``key``'s."""
        if frame is None:
            return self._schema
        if frame.kind == "[":
            items = frame.schema.get("items")
            return items if isinstance(items, dict) else {}
        properties: dict[str, Any] = frame.schema.get("properties") or {}
        value = properties.get(frame.key if key is None else key)
        return value if isinstance(value, dict) else {}

    def closing(self) -> str:
        """The text that completes what was written so far into valid JSON ("" when it already is)."""
        frame = self._frames[-1] if self._frames else None
        if self._in_string:
            text = self._finished_string(frame)
        elif self._literal:
            text = _finished_literal(self._literal)
        elif frame is not None and (frame.state == "colon" or (frame.state == "value" and frame.kind == "{")):
            text = (": " if frame.state == "colon" else "") + _empty(self._value_schema(frame))
        elif frame is not None and frame.state == "value":
            text = _empty(self._value_schema(frame))
        elif frame is not None and frame.state == "key":
            properties: dict[str, Any] = frame.schema.get("properties") or {}
            key = next((key for key in properties if key not in frame.written), "")
            text = json.dumps(key) + ": " + _empty(self._value_schema(frame, key))
        else:
            text = ""
        return text + "".join("}" if open_.kind == "{" else "]" for open_ in reversed(self._frames))


class _Frame:
    """An object or array still open, and where in it the text stands."""

    def __init__(self, kind: str, schema: dict[str, Any]) -> None:
        self.kind = kind
        self.schema = schema
        # Object: first, key (after a comma), colon (after a key), value (after the colon), after (a value).
        # Array: first, value (after a comma), after.
        self.state = "first"
        self.key = ""
        self.written: set[str] = set()


def _empty(schema: dict[str, Any]) -> str:
    """The smallest value the schema allows (null where it says nothing)."""
    enum: list[Any] = schema.get("enum") or []
    if enum:
        return json.dumps(enum[0])
    empties = {"object": "{}", "array": "[]", "string": '""', "integer": "0", "number": "0", "boolean": "false"}
    kind = schema.get("type")
    return empties.get(kind, "null") if isinstance(kind, str) else "null"


def _finished_literal(written: str) -> str:
    """The rest of a literal cut off while written: a word's remaining letters, a digit after a dangling sign,
    point or exponent."""
    for word in ("true", "false", "null"):
        if word.startswith(written):
            return word[len(written) :]
    return "0" if written[-1] in "-+.eE" else ""

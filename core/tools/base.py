"""The tool interface, the context a tool runs in, and the runner that times, validates and logs each call."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from core.calendars.base import Calendar
from core.knowledge import Knowledge
from core.notify.notifier import Notifier
from core.records import ToolCallRecord
from core.store.database import Store
from core.tenants.document import TenantDocument

log = logging.getLogger(__name__)

A = TypeVar("A", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)

# How the dialogue runs a tool by name: it times and logs the call, and says how it went.
RunTool = Callable[[str, dict[str, Any]], Awaitable[ToolCallRecord]]


class ToolFailed(Exception):
    """A tool could not do its job; the message is logged, the caller hears a graceful line."""


@dataclass
class ToolContext:
    tenant: TenantDocument
    call_id: str | None
    caller_number: str | None
    now: Callable[[], datetime]  # aware, in the tenant's zone
    calendar: Calendar
    notifier: Notifier
    store: Store
    knowledge: Knowledge | None


class Tool(Protocol):
    """A tool as the runner sees it: JSON in, JSON out, so a business's own HTTP tools fit beside the built-in ones."""

    name: str
    description: str
    mutating: bool  # runs only after the caller has said yes

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON schema of an object: the arguments the tool takes."""
        ...

    @property
    def timeout_s(self) -> float | None:
        """Its own time limit, or None for the box's."""
        ...

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> Any:
        """The result as JSON-able data; raises ToolFailed."""
        ...


@functools.cache
def parameters_of(arguments: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON schema of an argument type, written out as the object itself rather than a reference to it."""
    schema = dict(msgspec.json.schema(arguments)["$defs"][arguments.__name__])
    del schema["title"]
    return schema


class Builtin(Generic[A, R]):
    """A built-in tool: typed arguments in, a typed result out. Its schema is its argument type's, and what the
    call log keeps is its result encoded, the same JSON as ever."""

    name: str
    description: str
    mutating: bool
    arguments: type[A]
    result: type[R]
    timeout_s: float | None = None

    @property
    def parameters(self) -> dict[str, Any]:
        return parameters_of(self.arguments)

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> Any:
        try:
            typed = msgspec.convert(args, self.arguments)
        except msgspec.ValidationError as exc:
            raise ToolFailed(f"bad arguments: {exc}") from None
        return msgspec.to_builtins(await self.handle(ctx, typed))

    async def handle(self, ctx: ToolContext, args: A) -> R:
        """The result; raises ToolFailed."""
        raise NotImplementedError


def check_arguments(schema: Mapping[str, Any], args: Mapping[str, Any]) -> str | None:
    """What is wrong with ``args`` for ``schema`` (required keys, basic types, enums); None when fine."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    missing = [key for key in schema.get("required", []) if args.get(key) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    types: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
    }
    for key, value in args.items():
        spec = properties.get(key)
        if spec is None:
            if schema.get("additionalProperties") is False:
                return f"unexpected argument {key}"
            continue
        wanted = types.get(spec.get("type", ""))
        if wanted is not None and value is not None and not isinstance(value, wanted):
            return f"{key} should be a {spec['type']}"
        if "enum" in spec and value not in spec["enum"]:
            return f"{key} must be one of {', '.join(map(str, spec['enum']))}"
    return None


class ToolBox:
    """Runs a call's tools with a timeout, and says how each went (the record goes to the call's log)."""

    def __init__(self, ctx: ToolContext, tools: Mapping[str, Tool], timeout_s: float) -> None:
        self.ctx = ctx
        self._tools = tools
        self._timeout = timeout_s

    def has(self, name: str) -> bool:
        return name in self._tools

    def get(self, name: str) -> Tool:
        return self._tools[name]

    async def run(self, name: str, args: dict[str, Any]) -> ToolCallRecord:
        started = time.perf_counter()
        tool = self._tools.get(name)
        result: Any = None
        error: str | None = None
        if tool is None:
            error = f"no tool named {name}"
        elif problem := check_arguments(tool.parameters, args):
            error = f"bad arguments: {problem}"
        else:
            timeout = tool.timeout_s or self._timeout
            try:
                result = await asyncio.wait_for(tool.run(self.ctx, args), timeout)
            except TimeoutError:
                error = f"timed out after {timeout:g} s"
            except ToolFailed as exc:
                error = str(exc)
        latency = round((time.perf_counter() - started) * 1000, 2)
        if error:
            log.warning("tool %s failed for tenant %s: %s", name, self.ctx.tenant.id, error)
        return ToolCallRecord(
            name=name, arguments=args, result=result, ok=error is None, error=error, latency_ms=latency
        )


async def call(run: RunTool, tool: Builtin[A, R], args: A) -> R | None:
    """Run a built-in tool through the dialogue's runner (so it is timed and logged like any other) and read its
    result typed; None when it failed."""
    record = await run(tool.name, msgspec.to_builtins(args))
    return msgspec.convert(record.result, tool.result) if record.ok else None

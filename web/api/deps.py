"""What handlers receive by dependency injection: the process's shared runtime."""

from __future__ import annotations

from litestar.datastructures import State

from web.host import WebHost


def provide_runtime(state: State) -> WebHost:
    runtime: WebHost = state.runtime
    return runtime

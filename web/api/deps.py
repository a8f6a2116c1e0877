"""What handlers receive by dependency injection: the process's shared runtime."""

from __future__ import annotations

from litestar.datastructures import State

from appliance.runtime import Runtime


def provide_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime

"""Jinja templates and the filters they use (times in the business's time zone, durations, milliseconds)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def local(value: datetime | None, timezone: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A stored UTC time as the business reads it."""
    if value is None:
        return ""
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).strftime(fmt)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(local=local, duration=duration, ms=ms, percent=percent)
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))

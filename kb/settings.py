"""The ``[kb]`` section of the settings: what fetching may reach, how big things may be, how knowledge is cut."""

from __future__ import annotations

import msgspec


class KbSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Hosts (exact names) or addresses and ranges (CIDR) that fetches may reach although they are loopback or
    # private, e.g. ["intranet.example", "192.168.10.0/24"]. Cloud metadata and link-local addresses are never
    # reachable.
    allow_hosts: list[str] = msgspec.field(default_factory=list)
    max_depth: int = 2  # links followed from the first page of a website
    max_pages: int = 50  # pages fetched from one website
    max_site_mb: float = 20.0  # bytes received from one website, in total
    max_crawl_seconds: float = 120.0
    max_page_mb: float = 5.0  # one response as received
    max_decompressed_mb: float = 15.0  # one response once gzip/deflate is undone
    max_file_mb: float = 50.0  # one file added from disk or uploaded
    max_pdf_pages: int = 500
    fetch_timeout_s: float = 15.0
    user_agent: str = "ApplianceKnowledgeBot/1.0"
    inline_tokens: int = 4000  # knowledge up to this many LLM tokens goes into the system prompt
    chunk_tokens: int = 256
    chunk_overlap_tokens: int = 40
    # After a change, the tenant's new prompt is evaluated once no other change has come for this long.
    change_settle_s: float = 2.0


def check_kb_settings(kb: KbSettings) -> list[str]:
    """Problems with the values, each naming its key."""
    checks = [
        (0 <= kb.max_depth <= 10, "kb.max_depth must be 0 to 10"),
        (1 <= kb.max_pages <= 10_000, "kb.max_pages must be 1 to 10000"),
        (kb.max_site_mb > 0 and kb.max_page_mb > 0, "kb.max_site_mb and kb.max_page_mb must be positive"),
        (kb.max_decompressed_mb >= kb.max_page_mb, "kb.max_decompressed_mb must be at least kb.max_page_mb"),
        (kb.max_file_mb > 0, "kb.max_file_mb must be positive"),
        (kb.max_crawl_seconds > 0 and kb.fetch_timeout_s > 0, "kb timeouts must be positive"),
        (64 <= kb.chunk_tokens <= 1024, "kb.chunk_tokens must be 64 to 1024"),
        (0 <= kb.change_settle_s <= 60, "kb.change_settle_s must be 0 to 60"),
        (0 <= kb.chunk_overlap_tokens < kb.chunk_tokens // 2, "kb.chunk_overlap_tokens must be under half a chunk"),
        (kb.inline_tokens >= 0, "kb.inline_tokens must not be negative"),
    ]
    return [message for ok, message in checks if not ok]

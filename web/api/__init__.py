"""The REST API under /api/v1, and /healthz."""

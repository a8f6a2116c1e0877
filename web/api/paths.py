"""Where a business's resources live in the API."""

TENANT = "/api/v1/tenants/{tenant_id:str}"

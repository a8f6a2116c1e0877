"""The staff UI and the REST API: Litestar controllers, templates, static assets."""

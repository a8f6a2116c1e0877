"""Who is asking and what they may do: accounts, sessions, API tokens, CSRF, login throttling, and the access
policy that every request passes through (``web.auth.access``)."""

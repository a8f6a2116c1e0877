"""The web's own tables: accounts and their roles, sessions, API tokens, and business settings."""

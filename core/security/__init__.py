"""Secrets at rest and the key that protects them, kept outside the database file."""

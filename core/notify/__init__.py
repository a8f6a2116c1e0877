"""Telling people: the owner about emergencies and leads, the caller about their booking (email, SMS)."""

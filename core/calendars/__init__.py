"""Where bookings live: the built-in calendar in the store, or the business's CalDAV calendar."""

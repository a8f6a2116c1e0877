"""What the receptionist can do: each tool has an input schema, a timeout, and a log row per call."""

"""The composition root: settings, the runtime every part shares, the app factory and the CLI."""

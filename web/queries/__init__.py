"""Reads and writes on behalf of a user, each bound to one business when it is built (see ``web.scope``)."""

"""The core of a call: sessions, dialogue, tools, calendars, notifications, the store and tenants.

It imports ``models`` and nothing above it: the wiring (``appliance``) and the edges (``web``, ``sip``, ``kb``)
import the core, never the other way round (``make lint`` checks it).
"""

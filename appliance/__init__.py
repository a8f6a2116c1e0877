"""The appliance process: settings, tenants, call sessions, dialogue, the store, and the wiring of the parts."""

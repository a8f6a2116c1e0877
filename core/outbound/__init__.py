"""Every HTTP request this box makes to somewhere else: the address guard and the one client that obeys it."""

"""Businesses served by this box: the tenant file format and the tenants' records in the store."""

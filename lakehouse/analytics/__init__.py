"""Tenant analytics: the pages of the dashboards, over gold, through the scoped engine."""

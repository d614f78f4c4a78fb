"""Brands: brand clients, their projects, deals and payments, the teams that run them, project
progress from push deliveries, and the business view."""

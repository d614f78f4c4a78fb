"""Operators, their roles per Official Account, API tokens, sessions and the audit log: the identity API."""

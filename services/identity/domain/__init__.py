"""What the identity API shows of operators, tokens, sessions and audit entries (pure; no secrets).

The model itself (permissions, roles, grants, :class:`~shared.identity.Identity`) lives in
``shared.identity``: every service checks it.
"""

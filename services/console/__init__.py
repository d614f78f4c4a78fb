"""The operator web console: server-rendered pages (Jinja2 + HTMX) over the services' operator APIs.

It holds no data of its own and no database: every read and write goes to an operator API with the
signed-in operator's session, so permissions and the audit log stay where they are enforced.
"""

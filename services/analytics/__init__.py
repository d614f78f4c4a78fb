"""Analytics: per-account, per-day (Beijing) counters folded from the platform's events, and the dashboards
that read them."""

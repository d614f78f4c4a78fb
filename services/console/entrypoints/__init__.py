"""The console's HTTP entrypoint: pages and the fragments HTMX swaps into them."""

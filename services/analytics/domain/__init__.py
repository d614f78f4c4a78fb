"""Pure analytics logic: the fold from events to rollup counter increments."""

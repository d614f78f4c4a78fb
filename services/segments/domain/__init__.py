"""Pure segment logic: rules, their summaries and evaluation."""

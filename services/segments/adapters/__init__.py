"""Where segments meet storage: member facts read from profile documents, rules as MongoDB queries."""

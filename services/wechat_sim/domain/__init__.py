"""The platform's rules as plain classes and functions: no I/O, no web framework, time passed in."""

"""The ``scrm`` command line: local infrastructure, running services, the demo and generated docs."""

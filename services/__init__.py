"""The platform's services. Each has a pure ``domain/``, ``adapters/`` behind small ports,
``entrypoints/`` (HTTP, consumers) and one ``bootstrap`` module that wires them together."""

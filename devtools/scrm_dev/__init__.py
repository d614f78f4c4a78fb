"""Development tools for the SCRM platform: the demo scenario, benchmarks, synthetic data and the
helpers that run the platform locally. Not part of the product wheel or image; ``scrm demo`` and
``scrm bench`` come from here through the ``scrm.commands`` entry points (see devtools/pyproject.toml)."""

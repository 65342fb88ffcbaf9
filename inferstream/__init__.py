"""inferstream: event-driven streaming workers for ML inference."""

__version__ = "0.1.0"

"""The results API: FastAPI over the pipeline's Postgres (never imports the workers)."""

from inferstream.api.app import create_app
from inferstream.api.keys import Role

__all__ = ["Role", "create_app"]

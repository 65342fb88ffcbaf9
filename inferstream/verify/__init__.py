"""`inferstream verify`: invariant checks over topics, Postgres rows, S3 objects and the DLQ."""

from inferstream.verify.checks import DeadLetter, Facts, Published, Report, Row, check

__all__ = ["DeadLetter", "Facts", "Published", "Report", "Row", "check"]

"""The Python client: publish submissions, subscribe to results."""

from inferstream.client.media import media_files, publish_media, upload_media
from inferstream.client.publisher import Publisher, PublishError
from inferstream.client.records import Invalid, ParsedRecords, guess_format, parse_records
from inferstream.client.subscriber import subscribe

__all__ = [
    "Invalid",
    "ParsedRecords",
    "PublishError",
    "Publisher",
    "guess_format",
    "media_files",
    "parse_records",
    "publish_media",
    "subscribe",
    "upload_media",
]

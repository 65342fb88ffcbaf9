"""The Python client: publish submissions, subscribe to results, read a result's embedding
(``result_embedding``: either schema version of a bug_report result, as float32s)."""

from inferstream.client.media import media_files, publish_media, upload_media
from inferstream.client.publisher import Publisher, PublishError
from inferstream.client.records import Invalid, ParsedRecords, guess_format, parse_records
from inferstream.client.subscriber import subscribe
from inferstream.schemas import result_embedding

__all__ = [
    "Invalid",
    "ParsedRecords",
    "PublishError",
    "Publisher",
    "guess_format",
    "media_files",
    "parse_records",
    "publish_media",
    "result_embedding",
    "subscribe",
    "upload_media",
]

"""Error signatures: what is pulled from logs and text, and the agreement of two reports."""

from __future__ import annotations

from inferstream.tasks.bug_report.dedup.signatures import MAX_ITEMS, agreement, signature

GO_PANIC = """panic: runtime error: index out of range [4096] with length 4096
github.com/corvid-db/corvid/wal.(*Reader).Next(0xc0001a4000)
        /go/pkg/mod/github.com/corvid-db/corvid@v0.19.2/wal/reader.go:141 +0x3c5"""
KOTLIN = """java.lang.IllegalStateException: region size must be >= 0
    at com.tidewater.offline.OfflineRegionManager.validate(OfflineRegionManager.kt:188)"""
PYTHON = """  File "/app/orchard/lti/launch.py", line 212, in validate_launch
orchard.lti.errors.InvalidNonce: nonce not found
OSError: [Errno 122] Disk quota exceeded"""


def test_exceptions_codes_frames_versions_platforms() -> None:
    assert signature(GO_PANIC) >= {"exc:panic", "frame:reader.go:141", "code:0xc0001a4000"}
    assert signature(KOTLIN) >= {"exc:illegalstateexception", "frame:offlineregionmanager.kt:188"}
    assert signature(PYTHON) >= {"exc:oserror", "frame:launch.py:212"}
    text = "Since 5.14.2 on Android 14 (Pixel 7) and iPhone 15: error E-204, ENOSPC, 413 Payload"
    assert signature(text) == {
        "ver:5.14.2",
        "plat:android",
        "plat:ios",
        "code:204",
        "code:enospc",
        "code:413",
    }
    assert signature("ERROR: something failed") == frozenset()  # a word, not a code
    assert signature("", "") == frozenset()
    many = " ".join(f"f{n}.py:{n}" for n in range(200))
    assert len(signature(many)) == MAX_ITEMS


def test_agreement_shared_conflict_and_context() -> None:
    a = signature(GO_PANIC, "Linux x86_64")
    same = signature("Service crash-loops", "wal/reader.go:141", "on Linux")
    other = signature("panic on open: MANIFEST checksum mismatch at recover.go:59 on Linux")
    assert agreement(a, same) == (1.0, 0.0, 0.0)
    assert agreement(a, other) == (1.0, 0.0, 0.0)  # both say "panic": shared, weakly
    mac = signature("IndexError at x.py:3 on macOS 14.1.2")
    assert agreement(signature("KeyError at y.py:9 on Windows 11.0.1"), mac) == (0.0, 1.0, 1.0)
    assert agreement(frozenset(), mac) == (0.0, 0.0, 0.0)  # no signature: no evidence

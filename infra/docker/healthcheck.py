"""Container HEALTHCHECK: healthy when this container's worker or API answers /health with 200.

One image runs every role (a stage worker on INFERSTREAM_WORKER_METRICS_PORT, default 9400, or
the results API on INFERSTREAM_API_PORT, default 8080), so the check asks both ports on loopback
and passes if either answers. Standard library only; exit 0 healthy, 1 unhealthy.
"""

import os
import sys
import urllib.error
import urllib.request


def healthy(port: str) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    ports = (
        os.environ.get("INFERSTREAM_WORKER_METRICS_PORT", "9400"),
        os.environ.get("INFERSTREAM_API_PORT", "8080"),
    )
    return 0 if any(healthy(port) for port in ports) else 1


if __name__ == "__main__":
    sys.exit(main())

"""users' rules, free of I/O: versions as ETags and what a change may touch."""

from __future__ import annotations

import re

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def etag(version: int) -> str:
    return f'"{version}"'


def version_from_if_match(header: str | None) -> int | None:
    """The version a client last saw, from If-Match; None when absent or not one of our ETags."""
    if not header:
        return None
    match = _ETAG.match(header.strip())
    return int(match.group(1)) if match else None

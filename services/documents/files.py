"""What the documents service believes about an uploaded file: its content type from its bytes (libmagic), never
the uploader's claim, and a filename safe to store and to send back in a Content-Disposition header."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

import magic

# Enough of the start of a file for libmagic to tell the formats the allow-list names.
SNIFF_BYTES = 16 * 1024
MAX_FILENAME = 200
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_SPACES = re.compile(r"\s+")


def detect_content_type(head: bytes) -> str:
    """The content type libmagic reads from the first bytes of a file (`application/x-empty` for none)."""
    return str(magic.from_buffer(head, mime=True)).lower()


def sanitise_filename(name: str | None) -> str:
    """The last path segment of `name`, NFC-normalised, without control characters or those Windows, shells and
    HTTP headers treat specially, without leading dots, at most 200 characters (the extension kept); `document`
    if nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_FILENAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME]
    return name or "document"


def content_disposition(filename: str) -> str:
    """An attachment header any browser reads: an ASCII fallback and the exact name (RFC 6266, RFC 5987)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"

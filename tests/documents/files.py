"""Files for the documents tests, made here: a real PDF's opening, a Windows executable's headers."""

from __future__ import annotations

import struct


def pdf(body: bytes = b"") -> bytes:
    """A small, well-formed PDF (libmagic reads `%PDF-`), with `body` inside a comment to vary its bytes."""
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n% " + body + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def windows_executable(size: int = 4096) -> bytes:
    """The headers of a Windows PE executable (MZ stub, `PE\\0\\0`, an i386 COFF header), padded to `size`."""
    dos = bytearray(b"MZ" + b"\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(0x3C - 18))
    dos += struct.pack("<I", 0x80)
    dos += bytes(0x80 - len(dos))
    coff = b"PE\x00\x00" + struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    data = bytes(dos) + coff
    return data + bytes(size - len(data))

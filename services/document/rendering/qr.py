"""QR codes as SVG (segno, pure Python), for Typst to place as a vector image."""
from __future__ import annotations

import functools
import io

import segno


@functools.lru_cache(maxsize=16)
def qr_svg(content: str) -> str:
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="svg", border=0, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()

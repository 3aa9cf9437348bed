"""Typst as the PDF engine: tagged (accessible) PDFs with embedded fonts, no system libraries.

Only the fonts that ship inside the typst package are used (Libertinus Serif for text, DejaVu
Sans Mono for codes), so every machine renders the same and every Dutch letter (é, ë, ï, ĳ, ç,
ø, ...) is covered. One compiler per process keeps its font cache between renders.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime
from importlib import resources
from typing import Any

import typst

# Raised when a template cannot be compiled (a bug in the template, never the data's fault).
RenderError = typst.TypstError


@functools.cache
def _compiler() -> typst.Compiler:
    return typst.Compiler(ignore_system_fonts=True)


@functools.cache
def template(name: str) -> bytes:
    return (resources.files("services.document.rendering") / "templates" / f"{name}.typ").read_bytes()


def compile_pdf(template_name: str, data: dict[str, Any], *, timestamp: datetime | None = None,
                tagged: bool = True) -> bytes:
    """Render ``templates/<template_name>.typ`` with ``data`` (JSON) as ``sys.inputs.data``."""
    pdf = _compiler().compile(template(template_name), format="pdf",
                              sys_inputs={"data": json.dumps(data, ensure_ascii=False)},
                              timestamp=timestamp.replace(microsecond=0) if timestamp else None,
                              pdf_tags=tagged)
    assert isinstance(pdf, bytes)
    return pdf


def warm_up() -> None:
    """Load the compiler and its fonts once, so the first real render is not the slow one."""
    compile_pdf("warm_up", {})

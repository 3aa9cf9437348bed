"""Merging the rendered pieces of a batch into one PDF, file to file (pikepdf, on qpdf).

Measured on 1,000 one-page letters in 20 pieces: pikepdf 0.15 s, pypdf 0.8-1.0 s. The merged file
keeps the pieces' pages, text and embedded fonts but not their structure trees (qpdf does not
merge those): letters are printed on paper, and that is the price of rendering a large batch
piece by piece with bounded memory and visible progress.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import pikepdf


def merge_files(parts: Sequence[str | Path], output: str | Path, *, title: str | None = None) -> int:
    """Write the pages of ``parts`` in order to ``output``; returns the number of pages."""
    with contextlib.ExitStack() as stack, pikepdf.new() as merged:
        for part in parts:
            source = stack.enter_context(pikepdf.open(part))  # kept open until the merged file is saved
            merged.pages.extend(source.pages)
        if title:
            with merged.open_metadata(set_pikepdf_as_editor=False) as meta:
                meta["dc:title"] = title
            merged.docinfo["/Title"] = title
        merged.save(output)
        return len(merged.pages)

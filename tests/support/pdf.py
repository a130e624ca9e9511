"""Read a PDF back as text (pypdf), to check what a report or ticket says."""
from __future__ import annotations

import io

import pypdf


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:16]
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)

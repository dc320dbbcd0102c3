"""Results, sessions and PDF text for the report tests (``tests/desktop/reports``): a result as
the engine makes it for a real file, and a PDF's text read back with pypdf."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image
from pypdf import PdfReader

from desktop.engine.results import Result, fingerprint
from desktop.engine.scope import IN_SCOPE, Scope
from desktop.engine.session import Session
from desktop.engine.threshold import ThresholdPolicy
from desktop.reading.imaging import read_image
from tests.support.model_fixtures import sample_metadata, xray_like

CARD = sample_metadata()
SHA = "0123456789abcdef" * 4
DISCLAIMERS = {"en": "Research and teaching tool. Not for clinical diagnosis.",
               "pt_BR": "Ferramenta de pesquisa e ensino. Não destinada a diagnóstico clínico.",
               "es": "Herramienta de investigación y docencia. No apta para diagnóstico clínico."}
PNEUMONIA_WORD = {"en": "PNEUMONIA", "pt_BR": "PNEUMONIA", "es": "NEUMONÍA"}


def session() -> Session:
    return Session(ThresholdPolicy.from_card(CARD))


def write_xray(path: Path, seed: int = 0, size=(640, 560)) -> Path:
    Image.fromarray(xray_like(seed, size)).save(path)
    return path


def classified(s: Session, path: Path, p: float, scope: Scope | None = None,
               source: dict | None = None, keep_image: bool = False) -> Result:
    """A result as the engine makes it for ``path`` (its real fingerprint and facts)."""
    xray = read_image(path, preview_size=720)
    result = Result(path, p, None, {**xray.source, **(source or {})},
                    fingerprint(xray.model_input), scope=scope or Scope(IN_SCOPE))
    if keep_image:
        result.preview, result.model_input = xray.preview, xray.model_input
    return s.add(result)


def text_of(path: Path) -> str:
    reader = PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Extracted text with its line breaks and runs of spaces made single spaces."""
    return re.sub(r"\s+", " ", text)

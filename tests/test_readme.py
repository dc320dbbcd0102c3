"""README.md is a short user's guide whose every model figure comes from the shipped card.

The card blocks themselves are compared with a fresh rendering in
``tests/training/test_real_data.py``; here, no threshold or percentage may stand in the README's
prose outside those blocks (where a stale "threshold 0.8811" once contradicted the table), the
file stays short enough to read, and every link it makes to the details still leads somewhere.
"""

import re
from pathlib import Path

from training.card_tables import MARKER

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
COMMENT = re.compile(r"<!--.*?-->", re.S)
# A threshold or probability (0.7092, 0.88) or a percentage (75%, 98.5 %): figures of a model.
FIGURE = re.compile(r"\b0\.\d+\b|\b\d+(?:[.,]\d+)?\s?%")


def prose(text: str) -> str:
    """The README without its card blocks, code and comments: what a person reads as claims."""
    for pattern in (MARKER, FENCE, INLINE_CODE, COMMENT):
        text = pattern.sub("", text)
    return text


def test_no_model_figure_in_the_readme_outside_a_block_rendered_from_the_card():
    stray = [(n, line.strip()) for n, line in enumerate(prose(README.read_text("utf-8"))
                                                      .splitlines(), 1) if FIGURE.search(line)]
    assert not stray, ("figures written by hand in README.md (render them from the card with "
                       f"`python -m training card-tables`, or drop them): {stray}")


def test_the_readme_renders_its_opening_figures_from_the_card():
    blocks = {m.group(1) for m in MARKER.finditer(README.read_text("utf-8"))}
    assert {"overview", "test", "scope_summary"} <= blocks


def test_the_readme_is_a_users_guide_of_at_most_200_lines_with_the_two_setup_commands():
    text = README.read_text("utf-8")
    assert len(text.splitlines()) <= 200
    head = "\n".join(text.splitlines()[:5])
    assert "Not for clinical diagnosis." in head
    setup = text[text.index("## Set-up"):text.index("## Using the app")]
    assert "make run" in setup and "make test" in setup


def test_every_link_of_the_readme_leads_to_a_file_and_heading_that_exist():
    def anchors(path: Path) -> set[str]:
        headings = re.findall(r"^#+ (.+)$", path.read_text("utf-8"), re.M)
        return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}

    for target in re.findall(r"\]\(([^)\s]+)\)", README.read_text("utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        path = README if not file else ROOT / file
        assert path.exists(), target
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), target

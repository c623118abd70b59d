"""The README's generated blocks match the code and the gallery list."""

from __future__ import annotations

from pathlib import Path

from convgif.docs import fill, gallery_markdown, generated_blocks
from convgif.gallery import load_gallery

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_generated_blocks_are_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert fill(text, generated_blocks()) == text, "run `make readme` and commit README.md"


def test_readme_has_every_generated_block() -> None:
    text = README.read_text(encoding="utf-8")
    for name in generated_blocks():
        assert f"<!-- generated:{name} -->" in text


def test_gallery_table_shows_every_figure_with_its_caption() -> None:
    entries = load_gallery()
    table = gallery_markdown(entries)
    for entry in entries:
        assert f"(gallery/{entry.name}.gif)" in table
        assert entry.caption in table


def test_every_readme_gallery_link_exists() -> None:
    root = README.parent
    for entry in load_gallery():
        assert (root / "gallery" / f"{entry.name}.gif").exists(), entry.name

"""Themes: the shipped TOML files, user files, errors, and the palette built from a theme."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from convgif.theme import ThemeError, available_themes, load_theme, palette, templates_dir

SHIPPED = ("default", "dark", "contrast")


def over(below: tuple[int, int, int], above: tuple[int, int, int], alpha: float) -> np.ndarray:
    """Alpha compositing, straight from its definition."""
    return alpha * np.array(above, float) + (1 - alpha) * np.array(below, float)


def luminance(rgb: np.ndarray | tuple[int, int, int]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    c = np.asarray(rgb, float) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a: np.ndarray | tuple, b: np.ndarray | tuple) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_shipped_themes_are_listed_and_load() -> None:
    assert set(SHIPPED) <= set(available_themes())
    for name in SHIPPED:
        theme = load_theme(name)
        assert theme.name == name
        assert theme.description


def test_default_theme_is_the_guides_palette() -> None:
    # The numbers stated in the issue, not read from the file under test.
    theme = load_theme()
    assert theme.input == (38, 139, 210)
    assert theme.output == (42, 161, 152)
    assert theme.shade == (7, 54, 66)
    assert theme.shade_alpha == pytest.approx(0.4)
    assert theme.line == (0, 43, 54)
    assert theme.background == (255, 255, 255)


def test_shaded_is_alpha_compositing() -> None:
    theme = load_theme()
    for colour in (theme.input, theme.output, theme.background):
        expected = over(colour, theme.shade, theme.shade_alpha)
        assert np.abs(np.array(theme.shaded(colour)) - expected).max() <= 0.5


@pytest.mark.parametrize("name", SHIPPED)
def test_every_theme_marks_the_window_visibly(name: str) -> None:
    theme = load_theme(name)
    for fill in (theme.input, theme.output, theme.background):
        assert contrast_ratio(fill, theme.shaded(fill)) > 1.3, fill


def test_contrast_theme_has_strong_contrast_for_print() -> None:
    # Shaded and unshaded cells differ in luminance (colour-vision independent,
    # survives greyscale), and lines stand out against every fill.
    theme = load_theme("contrast")
    fills = [theme.input, theme.output, theme.background]
    shaded = [theme.shaded(f) for f in fills]
    for fill, dark in zip(fills, shaded, strict=True):
        assert contrast_ratio(fill, dark) >= 3.0
    for a, b in itertools.combinations(shaded, 2):
        assert contrast_ratio(a, b) >= 1.5 or np.abs(np.subtract(a, b)).sum() > 150
    for fill in fills:
        assert contrast_ratio(theme.line, fill) >= 3.0


def test_a_user_theme_sets_only_what_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[colors]\ninput = "#ff0000"\noutput = [0, 128, 0]\n', encoding="utf-8")
    theme = load_theme(str(path))
    default = load_theme()
    assert theme.input == (255, 0, 0)
    assert theme.output == (0, 128, 0)
    assert theme.name == "mine"
    assert theme.shade == default.shade and theme.line_width_pt == default.line_width_pt
    assert load_theme(path) == theme  # a Path works as well as a string


def test_a_theme_file_edited_between_two_loads_is_read_anew(tmp_path: Path) -> None:
    # A notebook draws, the user edits the theme (same size, same second), draws again.
    path = tmp_path / "mine.toml"
    path.write_text('[colors]\ninput = "#ff0000"\n', encoding="utf-8")
    assert load_theme(path).input == (255, 0, 0)
    path.write_text('[colors]\ninput = "#00ff00"\n', encoding="utf-8")
    assert load_theme(path).input == (0, 255, 0)
    path.write_text('[colors]\ninput = "#0000ff"\nbogus = 1\n', encoding="utf-8")
    with pytest.raises(ThemeError, match="bogus"):
        load_theme(path)


def test_unknown_name_lists_the_available_themes() -> None:
    with pytest.raises(ThemeError) as caught:
        load_theme("no-such-theme")
    message = str(caught.value)
    assert message.startswith("--theme: ")
    assert "\n" not in message
    for name in SHIPPED:
        assert name in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[colors]\ninput = "blue"\n', "colors.input"),
        ("[colors]\ninput = [1, 2]\n", "colors.input"),
        ("[colors]\nshade_alpha = 1.5\n", "colors.shade_alpha"),
        ("[colors]\nfoo = 1\n", "colors.foo"),
        ("[lines]\nwidth_pt = -1\n", "lines.width_pt"),
        ("[lines]\ndash_pt = [1]\n", "lines.dash_pt"),
        ("colour = 3\n", "colour"),
        ("[colors\n", "not valid TOML"),
    ],
)
def test_a_bad_file_says_which_key_is_wrong(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ThemeError) as caught:
        load_theme(str(path))
    message = str(caught.value)
    assert message.startswith("--theme: ") and key in message and "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="no such file"):
        load_theme(str(tmp_path / "absent.toml"))


def test_templates_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default_text = (templates_dir() / "themes" / "default.toml").read_text(encoding="utf-8")
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "default.toml").write_text(default_text, encoding="utf-8")
    (tmp_path / "themes" / "pink.toml").write_text(
        '[colors]\nbackground = "#ffc0cb"\n', encoding="utf-8"
    )
    monkeypatch.setenv("CONVGIF_TEMPLATES", str(tmp_path))
    assert templates_dir() == tmp_path
    assert available_themes() == ["default", "pink"]
    assert load_theme("pink").background == (255, 192, 203)


@pytest.mark.parametrize("name", SHIPPED)
def test_palette_holds_every_flat_colour_and_blends(name: str) -> None:
    theme = load_theme(name)
    table = palette(theme)
    assert table.dtype == np.uint8 and table.ndim == 2 and table.shape[1] == 3
    assert 1 <= len(table) <= 255
    assert len(np.unique(table, axis=0)) == len(table)
    entries = {tuple(int(v) for v in row) for row in table}
    plain = (theme.background, theme.input, theme.output)
    shaded = [np.rint(over(f, theme.shade, theme.shade_alpha)) for f in plain]
    fills = [*plain, *(tuple(int(v) for v in colour) for colour in shaded)]
    inks = [theme.line, theme.padding_line, theme.connector, theme.text]
    for colour in [*fills, *inks]:
        assert tuple(colour) in entries
    # An ink partly covering a fill (an antialiased line or glyph) has an entry
    # within a quarter of the way between them (the half blend, or either end);
    # a connector, thin, within a sixth (its blends are a third apart).
    for ink in inks:
        share = 6 if ink == theme.connector else 4
        for fill in fills:
            for t in (0.25, 1 / 3, 0.5, 2 / 3, 0.75):
                mixed = (1 - t) * np.array(fill, float) + t * np.array(ink, float)
                nearest = np.sqrt(((table.astype(float) - mixed) ** 2).sum(axis=1)).min()
                spread = np.sqrt(((np.subtract(ink, fill, dtype=float)) ** 2).sum())
                assert nearest <= spread / share + 1, (fill, ink, t, nearest)
    # Blends of two fills are colours no edge makes, and are left out.
    half = tuple(int(v) for v in np.rint((np.add(theme.input, theme.output, dtype=float)) / 2))
    assert half not in entries


def test_palette_of_a_plain_figure_fits_5_bit_codes() -> None:
    # The default theme (the guide's look): 6 fills, 2 inks (lines and text
    # share a colour), one blend of each ink over each fill and two for the
    # connector: under 32 colours, so a GIF (one index kept for transparency)
    # starts its codes at 5 bits.
    assert len(palette(load_theme("default"))) <= 31

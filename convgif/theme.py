"""Themes: the colours, line weights and fonts of a figure, read from TOML.

A theme is a data file in ``templates/themes/`` (``--theme NAME``) or anywhere
(``--theme PATH``). A user's file may set only the keys it changes; the rest
come from ``default.toml``. Read with the standard library's :mod:`tomllib`.

:func:`palette` lists every colour a frame can hold (the theme's colours, the
shaded ones and the antialiasing blends between them), so an animation is
encoded with one palette, without per-frame quantisation or dithering.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from convgif.errors import ConvgifError
from convgif.inputs import MAX_TEXT_BYTES, excerpt, read_text, shown, shown_path

RGB = tuple[int, int, int]

DEFAULT_THEME = "default"
THEME_SUFFIX = ".toml"
MAX_PALETTE_COLOURS = 255  # a GIF holds 256; one index stays free for transparency
# Blends of an ink over a fill in the palette (evenly spaced). Lines about
# 2 px wide and glyphs get the half blend only: an edge pixel a little lighter
# or darker is not seen. Connectors are about 1 px wide and all of their shape
# is in their antialiasing: they get two (1/3, 2/3). Few blends keep a plain
# figure's table under 32 colours, so a GIF codes each pixel in 5 bits to start
# with, not 6 or 8: the 15 guide figures take 44% of the guide's bytes, against
# 48% with three blends of every ink and 51% with three of every pair.
BLEND_STEPS = 1
CONNECTOR_BLEND_STEPS = 2
# Dash lengths: shorter dashes cannot be seen, and make so many path segments that
# matplotlib gives up ("Exceeded cell block limit"); longer ones are not dashes.
MIN_DASH_PT = 0.5
MAX_LENGTH_PT = 100.0
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# TOML table -> keys, each with the Theme field it sets and its kind.
_SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "colors": {
        "background": ("background", "colour"),
        "input": ("input", "colour"),
        "output": ("output", "colour"),
        "shade": ("shade", "colour"),
        "shade_alpha": ("shade_alpha", "fraction"),
        "line": ("line", "colour"),
        "padding_line": ("padding_line", "colour"),
        "connector": ("connector", "colour"),
        "text": ("text", "colour"),
    },
    "lines": {
        "width_pt": ("line_width_pt", "length"),
        "window_width_pt": ("window_width_pt", "length"),
        "connector_width_pt": ("connector_width_pt", "length"),
        "dash_pt": ("dash_pt", "dash"),
    },
    "fonts": {
        "family": ("font_family", "text"),
        "caption_pt": ("caption_font_pt", "length"),
        "value_pt": ("value_font_pt", "length"),
        "weight_pt": ("weight_font_pt", "length"),
        "equation_pt": ("equation_pt", "length"),
    },
}
_TOP_KEYS = {"name": ("name", "text"), "description": ("description", "text")}


class ThemeError(ConvgifError):
    """A theme that cannot be used; the message names ``--theme`` and the problem."""


@dataclass(frozen=True)
class Theme:
    """Everything a figure's look depends on, apart from its geometry.

    Colours are ``(r, g, b)`` in 0..255; lengths are in points (1/72 inch), so
    they follow ``--scale`` and ``--dpi`` like the rest of the figure.

    Attributes
    ----------
    name, description
        For listings and error messages.
    background
        Figure background (replaced by transparency with ``--transparent``).
    input, output
        Fill of the real input cells and of the output cells.
    shade, shade_alpha
        The overlay marking the kernel window's taps and the current output
        cell, and its opacity.
    line, padding_line
        Solid cell borders and window outline; dashed padding / zero borders.
    connector
        The four lines from the window to the output cell.
    text
        Caption, and the numbers in the cells where it reads better than the
        background colour (see :meth:`text_on`).
    line_width_pt, window_width_pt, connector_width_pt
        Stroke widths.
    dash_pt
        ``(on, off)`` lengths of the dashed padding grid.
    font_family, caption_font_pt, value_font_pt, weight_font_pt, equation_pt
        Font, and sizes of the caption and labels, cell values, kernel weights
        and the step's equation.
    """

    name: str
    description: str
    background: RGB
    input: RGB
    output: RGB
    shade: RGB
    shade_alpha: float
    line: RGB
    padding_line: RGB
    connector: RGB
    text: RGB
    line_width_pt: float
    window_width_pt: float
    connector_width_pt: float
    dash_pt: tuple[float, float]
    font_family: str
    caption_font_pt: float
    value_font_pt: float
    weight_font_pt: float
    equation_pt: float

    def shaded(self, colour: RGB) -> RGB:
        """``colour`` under the shade, composited (what a shaded cell shows)."""
        return blend(colour, self.shade, self.shade_alpha)

    def text_on(self, fill: RGB) -> RGB:
        """The colour to write on ``fill``: ``text`` or ``background``, whichever contrasts more.

        Numbers sit on light and dark fills alike (the input, the shaded
        window, the output); picking between the theme's own two text-ish
        colours by contrast ratio keeps them legible in every theme without a
        colour per fill, and keeps the frame's palette small. Ties go to
        ``text``.
        """
        if contrast_ratio(self.background, fill) > contrast_ratio(self.text, fill):
            return self.background
        return self.text

    def faint_text(self) -> RGB:
        """Half-strength text on the background: padding values and inserted zeros."""
        return blend(self.background, self.text_on(self.background), 0.5)

    @property
    def fill_colours(self) -> tuple[RGB, ...]:
        """The flat colours cells are filled with, shaded or not, in a fixed order."""
        fills = (self.background, self.input, self.output)
        return tuple(dict.fromkeys([*fills, *(self.shaded(f) for f in fills)]))

    @property
    def ink_colours(self) -> tuple[RGB, ...]:
        """The colours drawn over fills, antialiased: lines, connectors, text."""
        return tuple(dict.fromkeys([self.line, self.padding_line, self.connector, self.text]))


def blend(below: RGB, above: RGB, alpha: float) -> RGB:
    """``above`` at opacity ``alpha`` over ``below``, rounded to integers."""
    r, g, b = (round(alpha * a + (1.0 - alpha) * c) for c, a in zip(below, above, strict=True))
    return (r, g, b)


def relative_luminance(colour: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour, 0 (black) to 1 (white)."""
    linear = []
    for channel in colour:
        c = channel / 255.0
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (same) to 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def templates_dir() -> Path:
    """The templates directory (themes, the gallery list).

    ``$CONVGIF_TEMPLATES`` if set; else the copy a wheel installs inside the
    package (``convgif/templates``); else, in a checkout or an editable
    install, the repository's top-level ``templates/``.
    """
    env = os.environ.get("CONVGIF_TEMPLATES")
    if env:
        return Path(env)
    installed = Path(__file__).resolve().parent / "templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "templates"


def themes_dir() -> Path:
    """Where named themes live."""
    return templates_dir() / "themes"


def available_themes() -> list[str]:
    """Names usable with ``--theme``, sorted."""
    folder = themes_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*" + THEME_SUFFIX))


def looks_like_path(value: str) -> bool:
    """True when a ``--theme`` value is a path (ends in ``.toml`` or has a ``/``), not a name."""
    return value.endswith(THEME_SUFFIX) or "/" in value or os.sep in value


def load_theme(name_or_path: str | Path = DEFAULT_THEME) -> Theme:
    """Read a theme by name (``templates/themes/NAME.toml``) or from a file.

    Keys the file does not set are taken from the default theme.

    Raises
    ------
    ThemeError
        Unknown name (the message lists the available ones), missing or
        unreadable file, invalid TOML, unknown key or bad value (the message
        names the key).
    """
    if isinstance(name_or_path, Path) or looks_like_path(str(name_or_path)):
        path = Path(name_or_path)
    else:
        name = str(name_or_path)
        path = themes_dir() / (name + THEME_SUFFIX)
        if not name.isprintable() or not path.is_file():
            names = ", ".join(available_themes()) or "none found"
            raise ThemeError(
                f"--theme: unknown theme {excerpt(name)} (available: {names}; or give a path "
                f"to a {THEME_SUFFIX} file)"
            )
    default_path = themes_dir() / (DEFAULT_THEME + THEME_SUFFIX)
    inherits = default_path.is_file() and path.resolve() != default_path.resolve()
    return _theme_of(
        path, _theme_text(path), default_path, _theme_text(default_path) if inherits else None
    )


def _theme_text(path: Path) -> str:
    return read_text(path, "--theme", MAX_TEXT_BYTES, ThemeError)


# A gallery or a notebook loads its theme once per figure: the files are read
# each time (a theme edited between two figures is seen), parsed once per text.
@functools.lru_cache(maxsize=32)
def _theme_of(path: Path, text: str, default_path: Path, default_text: str | None) -> Theme:
    """The theme ``text`` (the file ``path``) sets; its missing keys from the default theme."""
    values = _read_values(path, text)
    if default_text is not None:
        inherited = _read_values(default_path, default_text)
        inherited.pop("name", None)
        inherited.pop("description", None)
        values = {**inherited, **values}
    values.setdefault("name", path.stem)
    values.setdefault("description", "")
    missing = [f.name for f in fields(Theme) if f.name not in values]
    if missing:
        raise ThemeError(
            f"--theme: {shown_path(path)}: missing {', '.join(_key_of(m) for m in missing)}"
        )
    return Theme(**values)


def _key_of(field_name: str) -> str:
    """The TOML key (``colors.input``) that sets a Theme field."""
    for table, keys in _SCHEMA.items():
        for key, (target, _) in keys.items():
            if target == field_name:
                return f"{table}.{key}"
    return field_name


def _read_values(path: Path, text: str) -> dict[str, Any]:
    """Theme fields set by one TOML file (``text``, read from ``path``), checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ThemeError(f"--theme: {shown_path(path)} is not valid TOML: {error}") from None
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key in _TOP_KEYS:
            target, kind = _TOP_KEYS[key]
            values[target] = _convert(raw, kind, key, path)
        elif key in _SCHEMA and isinstance(raw, dict):
            for sub, sub_raw in raw.items():
                if sub not in _SCHEMA[key]:
                    known = ", ".join(_SCHEMA[key])
                    raise ThemeError(
                        f"--theme: {shown_path(path)}: unknown key {key}.{shown(sub)} "
                        f"(known in [{key}]: {known})"
                    )
                target, kind = _SCHEMA[key][sub]
                values[target] = _convert(sub_raw, kind, f"{key}.{sub}", path)
        else:
            known = ", ".join([*_TOP_KEYS, *(f"[{t}]" for t in _SCHEMA)])
            raise ThemeError(
                f"--theme: {shown_path(path)}: unknown key {shown(key)} (known: {known})"
            )
    return values


def _convert(raw: object, kind: str, key: str, path: Path) -> Any:
    def bad(expected: str) -> ThemeError:
        return ThemeError(
            f"--theme: {shown_path(path)}: {key} must be {expected}, got {excerpt(raw)}"
        )

    def is_number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    number = is_number(raw)
    if kind == "colour":
        return _colour(raw, bad)
    if kind == "fraction":
        if not number or not 0.0 <= float(raw) <= 1.0:  # type: ignore[arg-type]
            raise bad("a number from 0 to 1")
        return float(raw)  # type: ignore[arg-type]
    if kind == "length":
        if not number or not 0.0 < float(raw) <= MAX_LENGTH_PT:  # type: ignore[arg-type]
            raise bad(f"a length in points, above 0 and at most {MAX_LENGTH_PT:g}")
        return float(raw)  # type: ignore[arg-type]
    if kind == "dash":
        ok = (
            isinstance(raw, list)
            and len(raw) == 2
            and all(is_number(v) and math.isfinite(v) for v in raw)
            and all(MIN_DASH_PT <= v <= MAX_LENGTH_PT for v in raw)
        )
        if not ok:
            raise bad(
                f"[on, off] lengths in points, each from {MIN_DASH_PT:g} to {MAX_LENGTH_PT:g}"
            )
        return (float(raw[0]), float(raw[1]))  # type: ignore[index]
    if not isinstance(raw, str):
        raise bad("a string")
    return raw


def _colour(raw: object, bad: Any) -> RGB:
    """``"#rrggbb"`` or ``[r, g, b]`` (0..255) as an RGB tuple."""
    expected = 'a colour like "#268bd2" or [38, 139, 210]'
    if isinstance(raw, str):
        if not _HEX_COLOUR.fullmatch(raw):  # exactly #rrggbb: int() would take "-", "0x", " "
            raise bad(expected)
        value = int(raw[1:], 16)
        return ((value >> 16) & 255, (value >> 8) & 255, value & 255)
    if (
        isinstance(raw, list)
        and len(raw) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in raw)
    ):
        return (raw[0], raw[1], raw[2])
    raise bad(expected)


def palette(theme: Theme, fills: Sequence[RGB] = (), inks: Sequence[RGB] = ()) -> np.ndarray:
    """Every colour a frame of this theme can contain, as ``(N, 3)`` uint8, ``N <= 255``.

    The flat colours first: the theme's fills (:attr:`Theme.fill_colours`) and
    inks (:attr:`Theme.ink_colours`), then the ``fills`` and ``inks`` a figure
    adds (channel colours, the colours of its numbers). Then blends of inks
    over fills: fills are drawn without antialiasing, so an antialiased pixel
    is a line, a connector or a glyph partly covering a fill, and it maps to a
    close entry without dithering. Blends of two fills, or of two inks, are
    colours no edge makes and are left out. See :data:`BLEND_STEPS` for how
    many blends each ink gets.
    """
    fill_colours = tuple(dict.fromkeys([*theme.fill_colours, *(tuple(c) for c in fills)]))
    ink_colours = tuple(dict.fromkeys([*theme.ink_colours, *(tuple(c) for c in inks)]))
    blends = [
        (fill, ink, CONNECTOR_BLEND_STEPS if ink == theme.connector else BLEND_STEPS)
        for ink in ink_colours
        for fill in fill_colours
        if fill != ink
    ]
    colours: dict[RGB, None] = dict.fromkeys([*fill_colours, *ink_colours])  # type: ignore[arg-type]
    for fill, ink, steps in blends:
        below, above = np.array(fill, dtype=float), np.array(ink, dtype=float)
        for s in range(1, steps + 1):
            t = s / (steps + 1)
            mixed = np.rint((1.0 - t) * below + t * above).astype(int)
            colours.setdefault((int(mixed[0]), int(mixed[1]), int(mixed[2])), None)
    table = np.array(list(colours), dtype=np.uint8).reshape(-1, 3)
    return table[:MAX_PALETTE_COLOURS]

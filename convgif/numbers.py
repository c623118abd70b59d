"""The numbers of a numerical figure, drawn as a :class:`~convgif.render.Layer`.

What is drawn, from :class:`convgif.values.Values`:

- every drawn input cell holds its value (``Values.grid``): input values at
  full strength; padding values (what the padding mode puts there) and a
  transposed convolution's inserted zeros faint, as they are not the input;
  max-pooling padding (``-inf`` in the maths, never a candidate) stays empty;
- under the window the values are redrawn over the shaded taps at full
  strength (they are the numbers being combined), and for a convolution each
  tap's weight (``Values.window_kernel``) is written small in its cell's
  lower-right corner;
- an output cell shows its value from its own step on; later cells are empty;
- max pooling rings the winning input cell (``Values.winners``).

Text is drawn as glyph outlines (:class:`matplotlib.textpath.TextPath`) placed
with the plane's own affine map: in the oblique layout the numbers lie on the
slanted planes as the cells do, in the flat layout they are upright text, and
in both the ink is centred on the cell exactly. Upright numbers read better:
a figure with numbers is drawn flat unless a layout is asked for
(:attr:`convgif.api.RenderOptions.resolved_layout`), with larger cells
(:data:`convgif.render.NUMBERS_CELL_INCH`) so four characters fit.

Every artist is made once per figure; a step only shows and hides labels,
moves the weights (one shared offset) and the ring. Computed outputs are
named as the layer's backdrop, so an animation draws each of them once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch, Polygon
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from convgif.geometry import Cell, CellKind, Step
from convgif.layout import Plane
from convgif.render import Layer, Renderer, Surface
from convgif.theme import RGB, Theme
from convgif.values import Values, format_value

# Widest label, as a fraction of a cell: values leave a margin inside the
# borders; weights share their cell with a value, so they keep to its corner.
VALUE_WIDTH_CELLS = 0.76
VALUE_HEIGHT_CELLS = 0.6
WEIGHT_WIDTH_CELLS = 0.55
WEIGHT_HEIGHT_CELLS = 0.3
# Labels no wider than this one set their group's size ("4.33", "−12", "17");
# a wider one ("−106", "164.88") is made smaller on its own.
TYPICAL_WIDEST = "8.88"
# Distance of a weight's ink from its cell's right and bottom borders (cells):
# clear of the border line, which is about 0.07 cell wide.
WEIGHT_INSET_CELLS = 0.09
# Radius of the ring around max pooling's winning value (cells).
RING_RADIUS_CELLS = 0.42
_RING_POINTS = 64

# Drawing order (the renderer draws moving artists by zorder, as a full draw
# does): the window's numbers and the current output above the window, the
# connecting lines and the output cell (zorder 20-23); computed outputs below
# them, which lets an animation keep them in its background (Layer.backdrop).
_STATIC_Z = 4  # over the input grid lines (3), under everything that moves
_DONE_Z = 12  # over the output grid lines (11), under everything that moves
_WINDOW_Z = 30
_WEIGHT_Z = 31
_OUTPUT_Z = 32
_RING_Z = 33


def _rgba(colour: RGB) -> tuple[float, float, float, float]:
    return (colour[0] / 255.0, colour[1] / 255.0, colour[2] / 255.0, 1.0)


@dataclass(frozen=True)
class _Glyphs:
    """A string's outline at a font size of 1 (em units, ``y`` up) and its ink box."""

    vertices: np.ndarray
    codes: np.ndarray
    ink: tuple[float, float, float, float]  # x0, y0, x1, y1

    @property
    def width(self) -> float:
        return self.ink[2] - self.ink[0]

    @property
    def height(self) -> float:
        return self.ink[3] - self.ink[1]


@lru_cache(maxsize=4096)
def _glyphs(text: str, family: str) -> _Glyphs:
    path = TextPath((0.0, 0.0), text, size=1.0, prop=FontProperties(family=family))
    vertices = np.asarray(path.vertices, dtype=float)
    codes = np.asarray(path.codes if path.codes is not None else [], dtype=np.uint8)
    if len(vertices):
        box = path.get_extents()
        ink = (box.x0, box.y0, box.x1, box.y1)
    else:
        ink = (0.0, 0.0, 0.0, 0.0)
    return _Glyphs(vertices, codes, ink)


@dataclass(frozen=True)
class _Fit:
    """A group's font size (em, in cells) and the widest a label of it may be (cells)."""

    size: float
    width_cells: float


class Label(PathPatch):
    """A number written on a plane as glyph outlines; :attr:`text` is what it says."""

    def __init__(self, text: str, path: MplPath, **kwargs: Any) -> None:
        super().__init__(path, edgecolor="none", linewidth=0.0, antialiased=True, **kwargs)
        self.text = text

    def get_text(self) -> str:
        """The string drawn (as :meth:`matplotlib.text.Text.get_text`)."""
        return self.text


class NumbersLayer(Layer):
    """Values in the cells, weights in the window, outputs as they are computed.

    Parameters
    ----------
    values
        The numbers of the figure (:func:`convgif.values.compute_values`) for
        the renderer's spec.

    Attributes
    ----------
    input_labels
        The static label of every drawn grid cell that has a value.
    window_labels
        A full-strength label per such cell, shown while the window covers it.
    weight_labels
        One label per tap, row-major (convolution only; else empty).
    output_labels
        One label per output cell, row-major, shown once the cell is computed
        (after its step: its own step shows ``current_labels``).
    current_labels
        One label per output cell, in the colour that reads on the shaded
        current cell, shown at its step only.
    ring
        Max pooling's marker of the winning cell (else None).
    """

    def __init__(self, values: Values) -> None:
        self.values = values
        self.input_labels: dict[Cell, Label] = {}
        self.window_labels: dict[Cell, Label] = {}
        self.weight_labels: list[Label] = []
        self.output_labels: list[Label] = []
        self.current_labels: list[Label] = []
        self.ring: Polygon | None = None
        self._plane: Plane | None = None

    # -- the Layer interface ---------------------------------------------------
    def colours(self, theme: Theme) -> Sequence[RGB]:
        """The faint text colour, not one of the theme's own."""
        return (theme.faint_text(),)

    def add_static(self, surface: Surface, renderer: Renderer) -> None:
        """The value of every drawn cell, under the window."""
        if renderer.spec != self.values.spec:
            raise ValueError("the values were computed for another spec")
        theme, layout = renderer.style.theme, renderer.layout
        self._family = theme.font_family
        self._cell_px = layout.cell_px
        self._style = renderer.style
        self._plane = plane = layout.input
        kinds = renderer.geometry.cell_kinds()
        grid = self.values.grid
        texts = {
            (r, c): format_value(grid[r, c])
            for r in range(grid.shape[0])
            for c in range(grid.shape[1])
            if not np.isnan(grid[r, c])
        }
        fit = self._fit(texts.values(), theme.value_font_pt, VALUE_WIDTH_CELLS)
        # One outline per cell, shared by its static label and its window label.
        self._cell_paths = {
            cell: (text, self._path(plane, text, (cell[0] + 0.5, cell[1] + 0.5), fit))
            for cell, text in texts.items()
        }
        full, faint = _rgba(theme.text_on(theme.input)), _rgba(theme.faint_text())
        self.input_labels = {}
        for cell, (text, path) in self._cell_paths.items():
            colour = full if kinds[cell[0]][cell[1]] == CellKind.INPUT else faint
            label = Label(text, path, facecolor=colour, zorder=_STATIC_Z)
            surface.add(label)
            self.input_labels[cell] = label

    def add_moving(self, surface: Surface, renderer: Renderer) -> Sequence[Artist]:
        """The window's values and weights, the outputs and the ring, all hidden."""
        theme, layout = renderer.style.theme, renderer.layout
        plane = layout.input
        kinds = renderer.geometry.cell_kinds()
        on_input = _rgba(theme.text_on(theme.shaded(theme.input)))
        on_empty = _rgba(theme.text_on(theme.shaded(theme.background)))
        self._tap_colour = {
            (r, c): on_input if kinds[r][c] == CellKind.INPUT else on_empty
            for r in range(len(kinds))
            for c in range(len(kinds[0]))
        }

        self.window_labels = {
            cell: Label(text, path, facecolor=self._tap_colour[cell], zorder=_WINDOW_Z)
            for cell, (text, path) in self._cell_paths.items()
        }
        self._shown_window: tuple[Cell, ...] = ()

        # The weights are placed under the first window and moved, all
        # together, by one shared offset: the window moves rigidly.
        self.weight_labels = []
        first = renderer.geometry.step(0)
        self._window_origin = first.window[0]
        self._weight_offset = Affine2D()
        kernel = self.values.window_kernel
        if kernel is not None:
            texts = [format_value(w) for w in kernel.ravel()]
            fit = self._fit(texts, theme.weight_font_pt, WEIGHT_WIDTH_CELLS, WEIGHT_HEIGHT_CELLS)
            corner = 1.0 - WEIGHT_INSET_CELLS
            transform = self._weight_offset + surface.transform
            for text, (r, c) in zip(texts, first.window, strict=True):
                path = self._path(plane, text, (r + corner, c + corner), fit, corner=True)
                label = Label(text, path, zorder=_WEIGHT_Z)
                label.set_transform(transform)
                self.weight_labels.append(label)

        out_plane = layout.output
        outputs = [format_value(v) for v in self.values.output.ravel()]
        fit = self._fit(outputs, theme.value_font_pt, VALUE_WIDTH_CELLS)
        done_colour = _rgba(theme.text_on(theme.output))
        current_colour = _rgba(theme.text_on(theme.shaded(theme.output)))
        self.output_labels, self.current_labels = [], []
        for index, text in enumerate(outputs):
            r, c = divmod(index, out_plane.cols)
            path = self._path(out_plane, text, (r + 0.5, c + 0.5), fit)
            self.output_labels.append(Label(text, path, facecolor=done_colour, zorder=_DONE_Z))
            self.current_labels.append(
                Label(text, path, facecolor=current_colour, zorder=_OUTPUT_Z)
            )

        self.ring = None
        if self.values.winners is not None:
            self.ring = Polygon(
                np.zeros((_RING_POINTS, 2)), closed=True, fill=False, edgecolor=on_input,
                linewidth=renderer.style.points(theme.window_width_pt), zorder=_RING_Z,
            )  # fmt: skip
            angles = np.linspace(0.0, 2.0 * np.pi, _RING_POINTS, endpoint=False)
            self._ring_rc = RING_RADIUS_CELLS * np.column_stack([np.sin(angles), np.cos(angles)])

        moving: list[Artist] = [
            *self.output_labels,
            *self.window_labels.values(),
            *self.weight_labels,
            *self.current_labels,
        ]
        if self.ring is not None:
            moving.append(self.ring)
        for artist in moving:
            artist.set_visible(False)
            surface.add(artist)
        return moving

    def update(self, step: Step) -> None:
        """Show this step's window values, weights, outputs so far and winner."""
        for cell in self._shown_window:
            label = self.window_labels.get(cell)
            if label is not None:
                label.set_visible(False)
        for cell in step.window:
            label = self.window_labels.get(cell)
            if label is not None:
                label.set_visible(True)
        self._shown_window = step.window

        if self.weight_labels:
            assert self._plane is not None
            dr = step.window[0][0] - self._window_origin[0]
            dc = step.window[0][1] - self._window_origin[1]
            dx, dy = self._plane.matrix @ np.array([dr, dc], dtype=float)
            self._weight_offset.clear().translate(float(dx), float(dy))
            for label, cell in zip(self.weight_labels, step.window, strict=True):
                label.set_facecolor(self._tap_colour[cell])
                label.set_visible(True)

        for index, (done, current) in enumerate(
            zip(self.output_labels, self.current_labels, strict=True)
        ):
            done.set_visible(index < step.index)
            current.set_visible(index == step.index)

        if self.ring is not None:
            assert self.values.winners is not None and self._plane is not None
            winner = self.values.winners[step.index]
            self.ring.set_visible(winner is not None)
            if winner is not None:
                centre = np.array([winner[0] + 0.5, winner[1] + 0.5])
                self.ring.set_xy(self._plane.points(centre + self._ring_rc))

    def backdrop(self, step: Step) -> Sequence[Artist]:
        """The outputs computed before this step: they stay as they are."""
        return self.output_labels[: step.index]

    # -- for tests and callers -------------------------------------------------
    def visible_output_texts(self) -> list[str]:
        """What each output cell shows at the current step, ``""`` where empty (row-major)."""
        return [
            next((label.text for label in pair if label.get_visible()), "")
            for pair in zip(self.output_labels, self.current_labels, strict=True)
        ]

    # -- helpers ---------------------------------------------------------------
    def _fit(
        self,
        texts: Iterable[str],
        font_pt: float,
        width_cells: float,
        height_cells: float = VALUE_HEIGHT_CELLS,
    ) -> _Fit:
        """The font size of a group of labels (input values, weights, outputs).

        The theme's size, scaled with the cell; shrunk, for the whole group,
        until its widest ordinary label (no wider than :data:`TYPICAL_WIDEST`)
        fits, so the numbers of a plane read alike. A wider label is shrunk
        alone (:meth:`_path`), not the group with it.
        """
        size = self._style.points_to_px(font_pt) / self._cell_px
        digit = _glyphs("0", self._family).height
        size = min(size, height_cells / digit)
        texts = list(texts)
        widths = [_glyphs(t, self._family).width for t in texts]
        limit = _glyphs(TYPICAL_WIDEST, self._family).width * (1 + 1e-9)
        widest = max((w for w in widths if w <= limit), default=min(widths, default=0.0))
        if widest > 0:
            size = min(size, width_cells / widest)
        return _Fit(size, width_cells)

    def _path(
        self, plane: Plane, text: str, anchor: tuple[float, float], fit: _Fit,
        corner: bool = False,
    ) -> MplPath:  # fmt: skip
        """The outline of ``text`` at ``anchor`` (plane row, col), in image pixels.

        Centred on the anchor by its ink horizontally and by the height of a
        digit vertically (so the numbers of a row share a baseline), or, with
        ``corner``, its ink's right edge and baseline on the anchor.
        """
        glyphs = _glyphs(text, self._family)
        size = fit.size
        if glyphs.width * size > fit.width_cells:
            size = fit.width_cells / glyphs.width
        digit = _glyphs("0", self._family).height
        u, v = glyphs.vertices[:, 0], glyphs.vertices[:, 1]
        if corner:
            u0, v0 = glyphs.ink[2], 0.0
        else:
            u0, v0 = (glyphs.ink[0] + glyphs.ink[2]) / 2.0, digit / 2.0
        rows = anchor[0] - (v - v0) * size  # the glyphs' y points up, rows go down
        cols = anchor[1] + (u - u0) * size
        pixels = plane.points(np.column_stack([rows, cols]))
        return MplPath(pixels, glyphs.codes if len(glyphs.codes) else None)


__all__ = ["Label", "NumbersLayer"]

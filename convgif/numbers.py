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
in both the ink is centred on the cell exactly. Every artist is made once per
figure; a step only shows and hides labels, moves the weights (one shared
offset) and the ring, and sets colours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch, Polygon
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from convgif.geometry import Cell, CellKind, Step
from convgif.layout import Plane
from convgif.render import Layer, Renderer
from convgif.theme import RGB, Theme
from convgif.values import Values, format_value

# Widest label, as a fraction of a cell: values leave a margin inside the
# borders; weights share their cell with a value, so they keep to its corner.
VALUE_WIDTH_CELLS = 0.84
WEIGHT_WIDTH_CELLS = 0.4
WEIGHT_HEIGHT_CELLS = 0.3
# Distance of a weight's ink from its cell's right and bottom borders (cells):
# clear of the border line, which is about 0.07 cell wide.
WEIGHT_INSET_CELLS = 0.09
# Radius of the ring around max pooling's winning value (cells).
RING_RADIUS_CELLS = 0.42
_RING_POINTS = 64

# Drawing order: above the window, the connecting lines and the output cell
# (zorder 20-23 in the renderer), in the order the moving artists are listed,
# so a blitted frame and a fully drawn figure stack the same way.
_STATIC_Z = 4  # over the input grid lines (3), under everything that moves
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


class Label(PathPatch):
    """A number written on a plane as glyph outlines; :attr:`text` is what it says."""

    def __init__(self, text: str, path: MplPath, **kwargs: object) -> None:
        super().__init__(path, **kwargs)  # type: ignore[arg-type]
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
        One label per output cell, row-major.
    ring
        Max pooling's marker of the winning cell (else None).
    """

    def __init__(self, values: Values) -> None:
        self.values = values
        self.input_labels: dict[Cell, Label] = {}
        self.window_labels: dict[Cell, Label] = {}
        self.weight_labels: list[Label] = []
        self.output_labels: list[Label] = []
        self.ring: Polygon | None = None
        self._plane: Plane | None = None

    # -- the Layer interface ---------------------------------------------------
    def colours(self, theme: Theme) -> Sequence[RGB]:
        """The faint text colour, not one of the theme's own."""
        return (theme.faint_text(),)

    def add_static(self, ax: Axes, renderer: Renderer) -> None:
        """The value of every drawn cell, under the window."""
        if renderer.spec != self.values.spec:
            raise ValueError("the values were computed for another spec")
        theme, layout = renderer.style.theme, renderer.layout
        self._renderer = renderer
        self._family = theme.font_family
        self._plane = plane = layout.input
        kinds = renderer.geometry.cell_kinds()
        grid = self.values.grid
        self._texts = {
            (r, c): format_value(grid[r, c])
            for r in range(grid.shape[0])
            for c in range(grid.shape[1])
            if not np.isnan(grid[r, c])
        }
        self._input_size = self._fitted_size(
            self._texts.values(), theme.value_font_pt, VALUE_WIDTH_CELLS, 0.6
        )
        full, faint = _rgba(theme.text_on(theme.input)), _rgba(theme.faint_text())
        self.input_labels = {}
        for cell, text in self._texts.items():
            colour = full if kinds[cell[0]][cell[1]] == CellKind.INPUT else faint
            label = self._label(plane, text, (cell[0] + 0.5, cell[1] + 0.5), self._input_size)
            label.set_facecolor(colour)
            label.set_zorder(_STATIC_Z)
            ax.add_artist(label)  # add_patch would compute data limits from the glyphs
            self.input_labels[cell] = label

    def add_moving(self, ax: Axes, renderer: Renderer) -> Sequence[Artist]:
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
        moving: list[Artist] = []

        self.window_labels = {}
        for cell, text in self._texts.items():
            label = self._label(plane, text, (cell[0] + 0.5, cell[1] + 0.5), self._input_size)
            label.set_facecolor(self._tap_colour[cell])
            self.window_labels[cell] = label
        self._shown_window: tuple[Cell, ...] = ()

        self.weight_labels = []
        kernel = self.values.window_kernel
        first = renderer.geometry.step(0)
        self._window_origin = first.window[0]
        self._weight_offset = Affine2D()
        if kernel is not None:
            texts = [format_value(w) for w in kernel.ravel()]
            size = self._fitted_size(
                texts, theme.weight_font_pt, WEIGHT_WIDTH_CELLS, WEIGHT_HEIGHT_CELLS
            )
            corner = 1.0 - WEIGHT_INSET_CELLS
            transform = self._weight_offset + ax.transData
            for text, (r, c) in zip(texts, first.window, strict=True):
                label = self._label(plane, text, (r + corner, c + corner), size, corner=True)
                label.set_transform(transform)
                label.set_zorder(_WEIGHT_Z)
                self.weight_labels.append(label)

        out_plane = layout.output
        outputs = [format_value(v) for v in self.values.output.ravel()]
        size = self._fitted_size(outputs, theme.value_font_pt, VALUE_WIDTH_CELLS, 0.6)
        self._output_colour = _rgba(theme.text_on(theme.output))
        self._current_colour = _rgba(theme.text_on(theme.shaded(theme.output)))
        cols = out_plane.cols
        self.output_labels = []
        for index, text in enumerate(outputs):
            r, c = divmod(index, cols)
            label = self._label(out_plane, text, (r + 0.5, c + 0.5), size)
            label.set_facecolor(self._output_colour)
            label.set_zorder(_OUTPUT_Z)
            self.output_labels.append(label)

        for label in self.window_labels.values():
            label.set_zorder(_WINDOW_Z)
        moving.extend(self.window_labels.values())
        moving.extend(self.weight_labels)
        moving.extend(self.output_labels)

        self.ring = None
        if self.values.winners is not None:
            self.ring = Polygon(
                np.zeros((_RING_POINTS, 2)), closed=True, fill=False, edgecolor=on_input,
                linewidth=renderer.style.points(theme.window_width_pt), zorder=_RING_Z,
            )  # fmt: skip
            angles = np.linspace(0.0, 2.0 * np.pi, _RING_POINTS, endpoint=False)
            self._ring_rc = RING_RADIUS_CELLS * np.column_stack([np.sin(angles), np.cos(angles)])
            moving.append(self.ring)

        self._current_output: int | None = None
        for artist in moving:
            artist.set_visible(False)
            ax.add_artist(artist)
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

        for index, label in enumerate(self.output_labels):
            label.set_visible(index <= step.index)
        # Only the current output cell is shaded: its label takes the colour
        # that reads on the shade, and the previous one gets its own back.
        if self._current_output is not None:
            self.output_labels[self._current_output].set_facecolor(self._output_colour)
        self.output_labels[step.index].set_facecolor(self._current_colour)
        self._current_output = step.index

        if self.ring is not None:
            assert self.values.winners is not None and self._plane is not None
            winner = self.values.winners[step.index]
            self.ring.set_visible(winner is not None)
            if winner is not None:
                centre = np.array([winner[0] + 0.5, winner[1] + 0.5])
                self.ring.set_xy(self._plane.points(centre + self._ring_rc))

    # -- the winning cell, the current step, for tests -------------------------
    def visible_output_texts(self) -> list[str]:
        """The text of each output label, ``""`` where it is hidden (row-major)."""
        return [label.text if label.get_visible() else "" for label in self.output_labels]

    # -- helpers ---------------------------------------------------------------
    def _fitted_size(
        self, texts: Iterable[str], font_pt: float, width_cells: float, height_cells: float
    ) -> float:
        """Font size (em, in cells) of a group of labels: the theme's, shrunk to fit a cell.

        One size per group (input values, weights, outputs), so numbers of a
        plane read alike; only when the widest would not fit is the group made
        smaller.
        """
        style = self._renderer.style
        size = style.points_to_px(font_pt) / self._renderer.layout.cell_px
        widest = max((_glyphs(t, self._family).width for t in texts), default=0.0)
        digit = _glyphs("0", self._family).height
        if widest > 0:
            size = min(size, width_cells / widest)
        return min(size, height_cells / digit)

    def _label(
        self, plane: Plane, text: str, anchor: tuple[float, float], size: float,
        corner: bool = False,
    ) -> Label:  # fmt: skip
        """``text`` at ``anchor`` (plane row, col) on ``plane``, ``size`` cells per em.

        Centred on the anchor by its ink horizontally and by the height of a
        digit vertically (so every number of a row shares a baseline), or,
        with ``corner``, its ink's right edge and baseline on the anchor.
        """
        glyphs = _glyphs(text, self._family)
        digit = _glyphs("0", self._family).height
        u, v = glyphs.vertices[:, 0], glyphs.vertices[:, 1]
        if corner:
            u0, v0 = glyphs.ink[2], 0.0
        else:
            u0, v0 = (glyphs.ink[0] + glyphs.ink[2]) / 2.0, digit / 2.0
        rows = anchor[0] - (v - v0) * size  # text's y points up, rows go down
        cols = anchor[1] + (u - u0) * size
        pixels = plane.points(np.column_stack([rows, cols]))
        path = MplPath(pixels, glyphs.codes if len(glyphs.codes) else None)
        return Label(text, path, edgecolor="none", linewidth=0.0, antialiased=True)


__all__ = ["Label", "NumbersLayer"]

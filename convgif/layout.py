"""Where things go: the plane -> pixel transforms of a figure.

Pure numpy (no matplotlib): the renderer draws with these transforms and the
tests probe pixels with the very same ones.

A plane is a grid of cells in its own coordinates, ``(row, col)`` with the
grid's top-left corner at ``(0, 0)`` and one unit per cell. It is mapped to
image pixels (origin at the image's top-left corner, ``y`` down) by an affine
map. In the ``oblique`` layout both planes are slanted the way the guide's
TikZ figures are (``yslant=0.5, xslant=-0.7``), the output plane raised above
the input plane; in the ``flat`` layout they are plain 2-D grids, side by
side, on whole pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from convgif.geometry import Cell

LayoutKind = Literal["oblique", "flat"]
LAYOUTS: tuple[LayoutKind, ...] = ("oblique", "flat")

# Image-pixel displacement, in cells, of one column and of one row. TikZ's
# yslant=0.5 after xslant=-0.7 maps (x, y) to (x - 0.7 y, 0.5 x + 0.65 y) with
# y up; a row is y = -1 and the image's y axis points down.
OBLIQUE_COL = (1.0, -0.5)
OBLIQUE_ROW = (0.7, 0.65)

# Spacing, in cells. Measured on the guide's figures: a margin of about two
# thirds of a cell all round (20 px of white around the ink, TikZ standalone's
# border: it is clear of the lines' outer edges, not of their centres); the
# output plane's lowest edge clears the input plane by about 0.8 cell.
MARGIN_CELLS = 0.66
OBLIQUE_CLEARANCE_CELLS = 0.8
FLAT_GAP_CELLS = 1.5
CAPTION_GAP_CELLS = 0.4

Segment = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Plane:
    """One grid placed in the image by an affine map.

    Attributes
    ----------
    rows, cols
        Grid size in cells.
    origin
        Image pixel ``(x, y)`` of the grid's top-left corner.
    col_px, row_px
        Image pixel displacement of one column and of one row.
    """

    rows: int
    cols: int
    origin: tuple[float, float]
    col_px: tuple[float, float]
    row_px: tuple[float, float]

    @property
    def matrix(self) -> np.ndarray:
        """``2x2`` map from ``(row, col)`` offsets to pixel ``(x, y)`` offsets."""
        return np.array(
            [[self.row_px[0], self.col_px[0]], [self.row_px[1], self.col_px[1]]], dtype=float
        )

    def points(self, rc: np.ndarray | list[tuple[float, float]]) -> np.ndarray:
        """Pixel ``(x, y)`` of plane points ``(row, col)`` (any leading shape)."""
        rc = np.asarray(rc, dtype=float)
        return rc @ self.matrix.T + np.asarray(self.origin, dtype=float)

    def point(self, row: float, col: float) -> tuple[float, float]:
        """Pixel ``(x, y)`` of one plane point."""
        x, y = self.points([(row, col)])[0]
        return (float(x), float(y))

    def rect(self, top: float, left: float, bottom: float, right: float) -> np.ndarray:
        """The four pixel corners of a plane rectangle, clockwise from its top-left."""
        return self.points([(top, left), (top, right), (bottom, right), (bottom, left)])

    def cell_corners(self, cell: Cell) -> np.ndarray:
        """The four pixel corners of a cell, clockwise from its top-left (``4x2``)."""
        r, c = cell
        return self.rect(r, c, r + 1, c + 1)

    def cells_corners(self, cells: list[Cell] | tuple[Cell, ...]) -> np.ndarray:
        """Corners of many cells at once (``Nx4x2``)."""
        if not cells:
            return np.zeros((0, 4, 2))
        rc = np.asarray(cells, dtype=float)[:, None, :]
        unit = np.array([(0, 0), (0, 1), (1, 1), (1, 0)], dtype=float)[None, :, :]
        return self.points(rc + unit)

    def cell_center(self, cell: Cell) -> tuple[float, float]:
        """Pixel ``(x, y)`` of a cell's centre."""
        return self.point(cell[0] + 0.5, cell[1] + 0.5)

    def outline(self) -> np.ndarray:
        """The grid's four pixel corners, clockwise from its top-left."""
        return self.rect(0, 0, self.rows, self.cols)


@dataclass(frozen=True)
class Layout:
    """The placement of a whole figure.

    Attributes
    ----------
    kind
        ``oblique`` or ``flat``.
    width_px, height_px
        Image size.
    cell_px
        Side of a cell, in pixels (before slanting).
    input, output
        The two planes.
    caption_xy
        Pixel ``(x, y)`` of the caption's top centre, or None without one.
    """

    kind: LayoutKind
    width_px: int
    height_px: int
    cell_px: int
    input: Plane
    output: Plane
    caption_xy: tuple[float, float] | None

    def plane(self, name: str) -> Plane:
        """``input`` or ``output``."""
        if name == "input":
            return self.input
        if name == "output":
            return self.output
        raise ValueError(f"plane must be 'input' or 'output', got {name!r}")

    def connectors(self, window: tuple[int, int, int, int], output_cell: Cell) -> list[Segment]:
        """The lines from the window's corners to the output cell's corners.

        Parameters
        ----------
        window
            The window's extent on the input plane, ``(top, left, bottom,
            right)`` in cells (bottom/right exclusive).
        output_cell
            The output cell being computed.

        Returns
        -------
        list of segments
            The visible parts. In the oblique view the output plane lies in
            front of the lines, so a line's part over it is hidden, as in the
            guide's figures; the flat view has no depth and shows whole lines.
        """
        starts = self.input.rect(*window)
        ends = self.output.cell_corners(output_cell)
        if self.kind == "flat":
            return [_segment(p0, p1) for p0, p1 in zip(starts, ends, strict=True)]
        segments: list[Segment] = []
        for p0, p1 in zip(starts, ends, strict=True):
            segments.extend(_clip_outside(p0, p1, self._output_edges))
        return segments

    @cached_property
    def _output_edges(self) -> tuple[_Edge, ...]:
        """The output plane's edges, which hide the lines behind it (worked out once)."""
        return _inward_edges(self.output.outline())


# An edge of a convex polygon: a point on it and its inward normal, (ax, ay, nx, ny).
_Edge = tuple[float, float, float, float]


def _inward_edges(polygon: np.ndarray) -> tuple[_Edge, ...]:
    """The edges of a convex polygon, each with its normal pointing inwards."""
    corners = [(float(x), float(y)) for x, y in polygon]
    cx = sum(x for x, _ in corners) / len(corners)
    cy = sum(y for _, y in corners) / len(corners)
    edges = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        nx, ny = ay - by, bx - ax  # the edge's normal ...
        if nx * (cx - ax) + ny * (cy - ay) < 0:
            nx, ny = -nx, -ny  # ... pointing inwards
        edges.append((ax, ay, nx, ny))
    return tuple(edges)


def clip_outside(p0: np.ndarray, p1: np.ndarray, polygon: np.ndarray) -> list[Segment]:
    """The parts of segment ``p0``-``p1`` outside a convex polygon (Cyrus-Beck).

    In plain floats: it runs four times a frame on 2-vectors, where numpy's
    per-call overhead was most of its cost (about a sixth of a blitted frame).
    """
    return _clip_outside(p0, p1, _inward_edges(polygon))


def _clip_outside(p0: np.ndarray, p1: np.ndarray, edges: tuple[_Edge, ...]) -> list[Segment]:
    x0, y0 = float(p0[0]), float(p0[1])
    dx, dy = float(p1[0]) - x0, float(p1[1]) - y0
    t_in, t_out = 0.0, 1.0
    for ax, ay, nx, ny in edges:
        num = nx * (x0 - ax) + ny * (y0 - ay)
        den = nx * dx + ny * dy
        if abs(den) < 1e-12:
            if num < 0:
                return [_segment(p0, p1)]  # parallel to this edge and outside it
            continue
        t = -num / den
        if den > 0:
            t_in = max(t_in, t)
        else:
            t_out = min(t_out, t)
    if t_in >= t_out:
        return [_segment(p0, p1)]
    pieces = []
    if t_in > 1e-9:
        pieces.append(((x0, y0), (x0 + t_in * dx, y0 + t_in * dy)))
    if t_out < 1 - 1e-9:
        pieces.append(((x0 + t_out * dx, y0 + t_out * dy), (float(p1[0]), float(p1[1]))))
    return pieces


def _segment(a: np.ndarray, b: np.ndarray) -> Segment:
    return ((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))


def _span_y(polygon: np.ndarray, x: float) -> tuple[float, float] | None:
    """Lowest and highest pixel ``y`` of a convex polygon on the vertical line at ``x``."""
    ys = []
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        lo, hi = sorted((a[0], b[0]))
        if lo - 1e-9 <= x <= hi + 1e-9:
            if hi - lo < 1e-12:
                ys.extend((a[1], b[1]))
            else:
                t = (x - a[0]) / (b[0] - a[0])
                ys.append(a[1] + t * (b[1] - a[1]))
    return (min(ys), max(ys)) if ys else None


def _raise_above(lower: np.ndarray, upper: np.ndarray, clearance: float) -> float:
    """Vertical shift (pixels, negative is up) that puts ``upper`` ``clearance`` above ``lower``.

    Both are convex polygons; the smallest vertical gap between ``upper``'s
    bottom and ``lower``'s top, over the x range they share, becomes
    ``clearance``. Both boundaries are piecewise linear, so checking every
    vertex x suffices.
    """
    xs = sorted({float(x) for x in np.concatenate([lower[:, 0], upper[:, 0]])})
    lo = max(lower[:, 0].min(), upper[:, 0].min())
    hi = min(lower[:, 0].max(), upper[:, 0].max())
    gaps = []
    for x in [lo, hi, *xs]:
        if not lo <= x <= hi:
            continue
        below, above = _span_y(lower, x), _span_y(upper, x)
        if below is not None and above is not None:
            gaps.append(below[0] - above[1])
    if not gaps:  # no shared x range: line the centres up instead
        return float(lower[:, 1].min() - upper[:, 1].max() - clearance)
    return float(min(gaps) - clearance)


def make_layout(
    grid_size: tuple[int, int],
    output_size: tuple[int, int],
    kind: LayoutKind = "oblique",
    cell_px: int = 30,
    caption_size_px: tuple[float, float] | None = None,
    line_px: float = 0.0,
) -> Layout:
    """Place the input (drawn grid) and output planes, and size the image.

    Parameters
    ----------
    grid_size, output_size
        ``(rows, cols)`` of the drawn input grid and of the output.
    kind
        ``oblique`` (the guide's view) or ``flat`` (side by side, plain 2-D).
    cell_px
        Side of a cell in pixels; everything else is proportional to it.
    caption_size_px
        Width and height of the caption text block, if there is one.
    line_px
        Width of the planes' outer lines, in pixels: the margin is measured
        from their outer edges, half a line beyond the planes' corners.
    """
    if kind not in LAYOUTS:
        raise ValueError(f"--layout: must be one of {', '.join(LAYOUTS)}, got {kind!r}")
    s = float(cell_px)
    if kind == "oblique":
        col = (OBLIQUE_COL[0] * s, OBLIQUE_COL[1] * s)
        row = (OBLIQUE_ROW[0] * s, OBLIQUE_ROW[1] * s)
    else:
        col, row = (s, 0.0), (0.0, s)
    inp = Plane(*grid_size, origin=(0.0, 0.0), col_px=col, row_px=row)
    out = Plane(*output_size, origin=(0.0, 0.0), col_px=col, row_px=row)
    if kind == "oblique":
        # Centre the output above the input, then raise it until it clears.
        dx = inp.outline()[:, 0].mean() - out.outline()[:, 0].mean()
        out = Plane(*output_size, origin=(dx, 0.0), col_px=col, row_px=row)
        dy = _raise_above(inp.outline(), out.outline(), OBLIQUE_CLEARANCE_CELLS * s)
        out = Plane(*output_size, origin=(dx, dy), col_px=col, row_px=row)
    else:
        # Side by side, centred vertically, on whole pixels so lines stay crisp.
        x = (grid_size[1] + FLAT_GAP_CELLS) * s
        y = (grid_size[0] - output_size[0]) * s / 2.0
        out = Plane(*output_size, origin=(round(x), round(y)), col_px=col, row_px=row)
    corners = np.concatenate([inp.outline(), out.outline()])
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    scene_w, scene_h = x1 - x0, y1 - y0
    # A whole number of pixels, so a flat figure's lines stay on whole pixels.
    margin = round(MARGIN_CELLS * s + line_px / 2.0)
    width = scene_w + 2 * margin
    height = scene_h + 2 * margin
    caption_xy = None
    if caption_size_px is not None:
        cap_w, cap_h = caption_size_px
        width = max(width, cap_w + 2 * margin)
        height += CAPTION_GAP_CELLS * s + cap_h
    width_px, height_px = math.ceil(width - 1e-6), math.ceil(height - 1e-6)
    # Shift the scene to whole pixels (centred when the caption is wider).
    shift_x = math.floor((width_px - scene_w) / 2.0) - x0
    shift_y = margin - y0
    inp = _moved(inp, shift_x, shift_y)
    out = _moved(out, shift_x, shift_y)
    if caption_size_px is not None:
        caption_xy = (width_px / 2.0, margin + scene_h + CAPTION_GAP_CELLS * s)
    return Layout(
        kind=kind,
        width_px=width_px,
        height_px=height_px,
        cell_px=cell_px,
        input=inp,
        output=out,
        caption_xy=caption_xy,
    )


def _moved(plane: Plane, dx: float, dy: float) -> Plane:
    x, y = plane.origin
    return Plane(plane.rows, plane.cols, (x + dx, y + dy), plane.col_px, plane.row_px)

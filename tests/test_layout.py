"""The plane -> pixel transforms: slant, placement, image size, hidden connector parts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path as MplPath

from convgif.layout import clip_outside, make_layout

SIZES = [((4, 4), (2, 2)), ((9, 9), (7, 7)), ((7, 7), (3, 3)), ((8, 5), (3, 6)), ((3, 12), (1, 10))]


def pixels_inside(polygon: np.ndarray, width: int, height: int) -> np.ndarray:
    """Mask of the pixel centres inside a polygon (an independent rasteriser)."""
    ys, xs = np.mgrid[0:height, 0:width]
    centres = np.column_stack([xs.ravel() + 0.5, ys.ravel() + 0.5])
    return MplPath(polygon).contains_points(centres).reshape(height, width)


def test_oblique_planes_are_slanted_like_the_guides_tikz() -> None:
    layout = make_layout((5, 5), (3, 3), "oblique", cell_px=30)
    plane = layout.input
    x0, y0 = plane.point(0, 0)
    # One column: TikZ (1, 0) -> (1, 0.5) up; one row: TikZ (0, -1) -> (0.7, -0.65) up.
    assert np.allclose(np.subtract(plane.point(0, 1), (x0, y0)), (30, -15))
    assert np.allclose(np.subtract(plane.point(1, 0), (x0, y0)), (21, 19.5))


@pytest.mark.parametrize(("grid", "output"), SIZES)
def test_oblique_output_is_above_the_input_and_centred(grid, output) -> None:  # type: ignore[no-untyped-def]
    cell = 30
    layout = make_layout(grid, output, "oblique", cell_px=cell)
    w, h = layout.width_px, layout.height_px
    inp = pixels_inside(layout.input.outline(), w, h)
    out = pixels_inside(layout.output.outline(), w, h)
    assert inp.any() and out.any() and not (inp & out).any()
    # In every pixel column holding both, the output is above, with a gap.
    for x in np.flatnonzero(inp.any(axis=0) & out.any(axis=0)):
        lowest_out = np.flatnonzero(out[:, x]).max()
        highest_in = np.flatnonzero(inp[:, x]).min()
        assert highest_in - lowest_out >= 0.5 * cell
    in_x = np.flatnonzero(inp.any(axis=0))
    out_x = np.flatnonzero(out.any(axis=0))
    assert abs((in_x.min() + in_x.max()) / 2 - (out_x.min() + out_x.max()) / 2) <= 1.5


@pytest.mark.parametrize("kind", ["oblique", "flat"])
@pytest.mark.parametrize(("grid", "output"), SIZES)
def test_everything_fits_with_a_margin(kind, grid, output) -> None:  # type: ignore[no-untyped-def]
    cell = 30
    layout = make_layout(grid, output, kind, cell_px=cell)
    corners = np.concatenate([layout.input.outline(), layout.output.outline()])
    assert corners[:, 0].min() >= cell / 2 and corners[:, 1].min() >= cell / 2
    assert corners[:, 0].max() <= layout.width_px - cell / 2
    assert corners[:, 1].max() <= layout.height_px - cell / 2
    # Margins within a pixel of each other left/right and top/bottom.
    assert abs(corners[:, 0].min() - (layout.width_px - corners[:, 0].max())) <= 1.0
    assert abs(corners[:, 1].min() - (layout.height_px - corners[:, 1].max())) <= 1.0


@pytest.mark.parametrize(("grid", "output"), SIZES)
def test_flat_is_side_by_side_on_whole_pixels(grid, output) -> None:  # type: ignore[no-untyped-def]
    cell = 27
    layout = make_layout(grid, output, "flat", cell_px=cell)
    for plane in (layout.input, layout.output):
        corners = plane.points(
            [(r, c) for r in range(plane.rows + 1) for c in range(plane.cols + 1)]
        )
        assert np.array_equal(corners, np.round(corners))
        assert np.allclose(np.subtract(plane.point(1, 1), plane.point(0, 0)), (cell, cell))
    in_box, out_box = layout.input.outline(), layout.output.outline()
    assert out_box[:, 0].min() - in_box[:, 0].max() >= cell  # a gap between them
    in_mid, out_mid = in_box[:, 1].mean(), out_box[:, 1].mean()
    assert abs(in_mid - out_mid) <= 1


@pytest.mark.parametrize("kind", ["oblique", "flat"])
@pytest.mark.parametrize(("grid", "output"), SIZES)
def test_the_margin_is_clear_of_the_lines_outer_edges(kind, grid, output) -> None:  # type: ignore[no-untyped-def]
    cell, line = 30, 2.0
    thin = make_layout(grid, output, kind, cell_px=cell)
    thick = make_layout(grid, output, kind, cell_px=cell, line_px=line)
    # Two thirds of a cell (the guide's 20 px) from the lines' outer edges,
    # half a line beyond the corners, to within the whole pixel it is rounded to.
    corners = np.concatenate([thick.input.outline(), thick.output.outline()])
    space = [
        corners[:, 0].min(),
        corners[:, 1].min(),
        thick.width_px - corners[:, 0].max(),
        thick.height_px - corners[:, 1].max(),
    ]
    assert min(space) - line / 2 >= 0.66 * cell - 0.5
    # The same figure, moved by whole pixels (a flat figure stays on whole pixels).
    shift = np.subtract(thick.input.origin, thin.input.origin)
    assert np.array_equal(shift, np.round(shift)) and shift[0] == shift[1] > 0
    assert np.allclose(np.subtract(thick.output.origin, thin.output.origin), shift)
    assert (thick.width_px, thick.height_px) == (
        thin.width_px + 2 * shift[0],
        thin.height_px + 2 * shift[1],
    )


def test_caption_widens_and_heightens_the_image() -> None:
    plain = make_layout((4, 4), (2, 2), "oblique", cell_px=30)
    wide = make_layout((4, 4), (2, 2), "oblique", cell_px=30, caption_size_px=(600.0, 30.0))
    assert wide.width_px >= 600 and wide.height_px >= plain.height_px + 30
    assert wide.caption_xy is not None
    x, y = wide.caption_xy
    assert abs(x - wide.width_px / 2) <= 1
    assert y >= wide.input.outline()[:, 1].max()


def test_unknown_layout() -> None:
    with pytest.raises(ValueError, match="--layout"):
        make_layout((4, 4), (2, 2), "isometric")  # type: ignore[arg-type]


SQUARE = np.array([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)])
PARALLELOGRAM = np.array([(0.0, 0.0), (30.0, -15.0), (51.0, 4.5), (21.0, 19.5)])


def test_clip_keeps_a_segment_that_misses() -> None:
    assert clip_outside(np.array([-5.0, -5.0]), np.array([-1.0, 20.0]), SQUARE) == [
        ((-5.0, -5.0), (-1.0, 20.0))
    ]


def test_clip_stops_a_segment_at_the_edge() -> None:
    pieces = clip_outside(np.array([5.0, 30.0]), np.array([5.0, 5.0]), SQUARE)
    assert len(pieces) == 1
    assert np.allclose(pieces[0], [(5.0, 30.0), (5.0, 10.0)])


def test_clip_a_segment_through_the_polygon_keeps_both_ends() -> None:
    pieces = clip_outside(np.array([-10.0, 5.0]), np.array([20.0, 5.0]), SQUARE)
    assert np.allclose(pieces, [[(-10, 5), (0, 5)], [(10, 5), (20, 5)]])


coordinate = st.floats(min_value=-40, max_value=80, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(coordinate, coordinate, coordinate, coordinate)
def test_clip_keeps_exactly_the_outside_points(x0, y0, x1, y1) -> None:  # type: ignore[no-untyped-def]
    p0, p1 = np.array([x0, y0]), np.array([x1, y1])
    pieces = clip_outside(p0, p1, PARALLELOGRAM)
    path = MplPath(PARALLELOGRAM)
    for t in np.linspace(0.01, 0.99, 25):
        point = p0 + t * (p1 - p0)
        inside = path.contains_point(point, radius=-1e-6) or path.contains_point(point, radius=1e-6)
        near_edge = path.contains_point(point, radius=-1e-3) != path.contains_point(
            point, radius=1e-3
        )
        if near_edge:
            continue
        covered = any(_on_segment(point, np.array(a), np.array(b)) for a, b in pieces)
        assert covered != inside, (point, pieces)


def _on_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    d = b - a
    length = float(np.dot(d, d))
    if length == 0:
        return bool(np.allclose(p, a))
    t = float(np.dot(p - a, d)) / length
    return -1e-9 <= t <= 1 + 1e-9 and bool(np.allclose(a + t * d, p, atol=1e-6))

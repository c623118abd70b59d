"""The plane -> pixel transforms: slant, placement of any number of grids, image size,
hidden connector parts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path as MplPath

from convgif.figures.model import Grid
from convgif.layout import (
    DECK_CLEARANCE_CELLS,
    DECK_OFFSET_CELLS,
    FLAT_GAP_CELLS,
    clip_outside,
    clip_outside_boxes,
    make_layout,
)

SIZES = [((4, 4), (2, 2)), ((9, 9), (7, 7)), ((7, 7), (3, 3)), ((8, 5), (3, 6)), ((3, 12), (1, 10))]


def two(grid: tuple[int, int], output: tuple[int, int]) -> tuple[Grid, Grid]:
    """The window figures' grids: ``input`` (level 0) and ``output`` above it (level 1)."""
    return (
        Grid.filled("input", *grid, "input", level=0),
        Grid.filled("output", *output, "output", level=1),
    )


def pixels_inside(polygon: np.ndarray, width: int, height: int) -> np.ndarray:
    """Mask of the pixel centres inside a polygon (an independent rasteriser)."""
    ys, xs = np.mgrid[0:height, 0:width]
    centres = np.column_stack([xs.ravel() + 0.5, ys.ravel() + 0.5])
    return MplPath(polygon).contains_points(centres).reshape(height, width)


def all_corners(layout) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.concatenate([plane.outline() for plane in layout.planes.values()])


def test_oblique_planes_are_slanted_like_the_guides_tikz() -> None:
    layout = make_layout(two((5, 5), (3, 3)), "oblique", cell_px=30)
    for name in ("input", "output"):
        plane = layout.plane(name)
        x0, y0 = plane.point(0, 0)
        # One column: TikZ (1, 0) -> (1, 0.5) up; one row: TikZ (0, -1) -> (0.7, -0.65) up.
        assert np.allclose(np.subtract(plane.point(0, 1), (x0, y0)), (30, -15))
        assert np.allclose(np.subtract(plane.point(1, 0), (x0, y0)), (21, 19.5))
    assert layout.kind == "oblique"


def test_a_plane_maps_cells_and_rectangles_consistently() -> None:
    plane = make_layout(two((5, 4), (3, 3)), "oblique", cell_px=30).plane("input")
    corners = plane.cell_corners((2, 1))
    assert np.allclose(corners, [plane.point(2, 1), plane.point(2, 2), plane.point(3, 2),
                                 plane.point(3, 1)])  # fmt: skip
    assert np.allclose(plane.cells_corners([(2, 1), (0, 3)])[0], corners)
    assert plane.cells_corners([]).shape == (0, 4, 2)
    assert np.allclose(plane.cell_center((2, 1)), corners.mean(axis=0))
    assert np.allclose(plane.outline(), plane.rect(0, 0, 5, 4))
    assert np.allclose(plane.points(np.zeros((2, 3, 2))), np.broadcast_to(plane.origin, (2, 3, 2)))


@pytest.mark.parametrize(("grid", "output"), SIZES)
def test_oblique_output_is_above_the_input_and_centred(grid, output) -> None:  # type: ignore[no-untyped-def]
    cell = 30
    layout = make_layout(two(grid, output), "oblique", cell_px=cell)
    w, h = layout.width_px, layout.height_px
    inp = pixels_inside(layout.plane("input").outline(), w, h)
    out = pixels_inside(layout.plane("output").outline(), w, h)
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
    layout = make_layout(two(grid, output), kind, cell_px=cell)
    corners = all_corners(layout)
    assert corners[:, 0].min() >= cell / 2 and corners[:, 1].min() >= cell / 2
    assert corners[:, 0].max() <= layout.width_px - cell / 2
    assert corners[:, 1].max() <= layout.height_px - cell / 2
    # Margins within a pixel of each other left/right and top/bottom.
    assert abs(corners[:, 0].min() - (layout.width_px - corners[:, 0].max())) <= 1.0
    assert abs(corners[:, 1].min() - (layout.height_px - corners[:, 1].max())) <= 1.0


@pytest.mark.parametrize(("grid", "output"), SIZES)
def test_flat_is_side_by_side_on_whole_pixels(grid, output) -> None:  # type: ignore[no-untyped-def]
    cell = 27
    layout = make_layout(two(grid, output), "flat", cell_px=cell)
    for plane in layout.planes.values():
        corners = plane.points(
            [(r, c) for r in range(plane.rows + 1) for c in range(plane.cols + 1)]
        )
        assert np.array_equal(corners, np.round(corners))
        assert np.allclose(np.subtract(plane.point(1, 1), plane.point(0, 0)), (cell, cell))
    in_box, out_box = layout.plane("input").outline(), layout.plane("output").outline()
    assert out_box[:, 0].min() - in_box[:, 0].max() >= cell  # a gap between them
    in_mid, out_mid = in_box[:, 1].mean(), out_box[:, 1].mean()
    assert abs(in_mid - out_mid) <= 1


@pytest.mark.parametrize("kind", ["oblique", "flat"])
@pytest.mark.parametrize(("grid", "output"), SIZES)
def test_the_margin_is_clear_of_the_lines_outer_edges(kind, grid, output) -> None:  # type: ignore[no-untyped-def]
    cell, line = 30, 2.0
    thin = make_layout(two(grid, output), kind, cell_px=cell)
    thick = make_layout(two(grid, output), kind, cell_px=cell, line_px=line)
    # Two thirds of a cell (the guide's 20 px) from the lines' outer edges,
    # half a line beyond the corners, to within the whole pixel it is rounded to.
    corners = all_corners(thick)
    space = [
        corners[:, 0].min(),
        corners[:, 1].min(),
        thick.width_px - corners[:, 0].max(),
        thick.height_px - corners[:, 1].max(),
    ]
    assert min(space) - line / 2 >= 0.66 * cell - 0.5
    # The same figure, moved by whole pixels (a flat figure stays on whole pixels).
    shift = np.subtract(thick.plane("input").origin, thin.plane("input").origin)
    assert np.array_equal(shift, np.round(shift)) and shift[0] == shift[1] > 0
    assert np.allclose(
        np.subtract(thick.plane("output").origin, thin.plane("output").origin), shift
    )
    assert (thick.width_px, thick.height_px) == (
        thin.width_px + 2 * shift[0],
        thin.height_px + 2 * shift[1],
    )


def test_caption_and_equation_widen_and_heighten_the_image() -> None:
    grids = two((4, 4), (2, 2))
    plain = make_layout(grids, "oblique", cell_px=30)
    wide = make_layout(grids, "oblique", cell_px=30, caption_size_px=(600.0, 30.0))
    assert plain.caption_xy is None and plain.equation_xy is None
    assert wide.width_px >= 600 and wide.height_px >= plain.height_px + 30
    assert wide.caption_xy is not None
    x, y = wide.caption_xy
    assert abs(x - wide.width_px / 2) <= 1
    assert y >= all_corners(wide)[:, 1].max()
    both = make_layout(
        grids, "oblique", cell_px=30, equation_size_px=(100.0, 20.0), caption_size_px=(100.0, 30.0)
    )
    assert both.equation_xy is not None and both.caption_xy is not None
    # The equation first, then the caption below it.
    assert all_corners(both)[:, 1].max() <= both.equation_xy[1]
    assert both.equation_xy[1] + 20 <= both.caption_xy[1]
    assert both.height_px >= plain.height_px + 50


def test_unknown_layout_and_no_grids() -> None:
    with pytest.raises(ValueError, match="--layout"):
        make_layout(two((4, 4), (2, 2)), "isometric")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one grid"):
        make_layout([], "flat")
    with pytest.raises(ValueError, match="no grid named 'kernel'"):
        make_layout(two((4, 4), (2, 2)), "flat").plane("kernel")


# -- any number of grids -------------------------------------------------------------

THREE = (
    Grid.filled("a", 5, 5, "input", level=0),
    Grid.filled("b", 3, 4, "output", level=1),
    Grid.filled("c", 2, 2, "red", level=2),
)


def test_oblique_levels_each_clear_the_one_below() -> None:
    cell = 30
    layout = make_layout(THREE, "oblique", cell_px=cell)
    w, h = layout.width_px, layout.height_px
    masks = [pixels_inside(layout.plane(n).outline(), w, h) for n in "abc"]
    for lower, upper in itertools.pairwise(masks):
        assert not (lower & upper).any()
        for x in np.flatnonzero(lower.any(axis=0) & upper.any(axis=0)):
            assert (
                np.flatnonzero(lower[:, x]).min() - np.flatnonzero(upper[:, x]).max() >= 0.5 * cell
            )
    assert layout.levels == {"a": 0, "b": 1, "c": 2}


def test_flat_levels_go_left_to_right_centred() -> None:
    cell = 20
    layout = make_layout(THREE, "flat", cell_px=cell)
    boxes = [layout.plane(n).outline() for n in "abc"]
    for left, right in itertools.pairwise(boxes):
        assert right[:, 0].min() - left[:, 0].max() == FLAT_GAP_CELLS * cell
        assert abs(left[:, 1].mean() - right[:, 1].mean()) <= 1


def test_a_row_is_flat_left_to_right_and_top_aligned() -> None:
    cell = 20
    layout = make_layout(THREE, "oblique", cell_px=cell, arrangement="row")
    assert layout.kind == "flat"  # a row is never slanted
    boxes = [layout.plane(n).outline() for n in "abc"]
    assert len({box[:, 1].min() for box in boxes}) == 1
    for left, right in itertools.pairwise(boxes):
        assert right[:, 0].min() - left[:, 0].max() == FLAT_GAP_CELLS * cell
    assert np.allclose(np.subtract(layout.plane("c").point(1, 1), layout.plane("c").point(0, 0)),
                       (cell, cell))  # fmt: skip


def test_a_column_is_flat_bottom_to_top_and_centred() -> None:
    cell = 20
    layout = make_layout(THREE, "oblique", cell_px=cell, arrangement="column")
    assert layout.kind == "flat"
    boxes = [layout.plane(n).outline() for n in "abc"]
    for lower, upper in itertools.pairwise(boxes):
        assert lower[:, 1].min() - upper[:, 1].max() == FLAT_GAP_CELLS * cell
        assert abs(lower[:, 0].mean() - upper[:, 0].mean()) <= 1


DECK = (
    Grid.filled("x0", 4, 4, "red", level=0, index=0),
    Grid.filled("x1", 4, 4, "green", level=0, index=1),
    Grid.filled("y", 2, 2, "output", level=1),
)


def test_an_oblique_deck_is_an_exploded_stack() -> None:
    # Each plane of a deck is shifted back and raised clear of the one before,
    # so a window shaded through the deck shows on every plane.
    cell = 30
    layout = make_layout(DECK, "oblique", cell_px=cell)
    x0, x1 = layout.plane("x0"), layout.plane("x1")
    assert x1.origin[0] - x0.origin[0] == pytest.approx(DECK_OFFSET_CELLS[0] * cell)
    assert x1.origin[1] < x0.origin[1]  # raised
    w, h = layout.width_px, layout.height_px
    lower, upper = pixels_inside(x0.outline(), w, h), pixels_inside(x1.outline(), w, h)
    assert not (lower & upper).any()
    # In every pixel column holding both, the upper plane is above, with a gap.
    for x in np.flatnonzero(lower.any(axis=0) & upper.any(axis=0)):
        gap = np.flatnonzero(lower[:, x]).min() - np.flatnonzero(upper[:, x]).max()
        assert gap >= DECK_CLEARANCE_CELLS * cell - 2
    # The next level clears the whole deck.
    top = pixels_inside(layout.plane("y").outline(), w, h)
    assert not (top & (lower | upper)).any()


def test_a_flat_deck_goes_top_to_bottom() -> None:
    cell = 20
    layout = make_layout(DECK, "flat", cell_px=cell)
    a, b = layout.plane("x0").outline(), layout.plane("x1").outline()
    assert b[:, 1].min() - a[:, 1].max() == FLAT_GAP_CELLS * cell
    assert a[:, 0].min() == b[:, 0].min()


def test_labels_are_placed_and_counted_in_the_image() -> None:
    cell = 30
    grids = two((4, 4), (2, 2))
    bare = make_layout(grids, "oblique", cell_px=cell)
    assert bare.labels == {}
    sizes = {"input": (200.0, 12.0), "output": (90.0, 12.0)}
    layout = make_layout(grids, "oblique", cell_px=cell, label_sizes_px=sizes)
    for name, (w, _) in sizes.items():
        x, y, ha = layout.labels[name]
        assert ha == "right"  # left of a slanted plane
        outline = layout.plane(name).outline()
        assert x < outline[:, 0].min() and outline[:, 1].min() < y < outline[:, 1].max()
        assert x - w >= 0  # the label is inside the image
    assert layout.width_px > bare.width_px
    flat = make_layout(grids, "flat", cell_px=cell, label_sizes_px=sizes)
    for name in sizes:
        x, y, ha = flat.labels[name]
        outline = flat.plane(name).outline()
        assert ha == "center" and y < outline[:, 1].min() and y - 12 >= 0
        assert abs(x - outline[:, 0].mean()) <= 1e-9


# -- connectors ------------------------------------------------------------------------


def test_flat_connectors_join_the_facing_sides_of_the_boxes() -> None:
    # Flat: two lines, from the source box's side that faces the target to the
    # target box's side that faces the source, so neither box's cells are crossed.
    layout = make_layout(two((5, 5), (3, 3)), "flat", cell_px=20)
    segments = layout.connectors("input", (1, 2, 3, 5), "output", (2, 0, 3, 1))
    inp, out = layout.plane("input"), layout.plane("output")
    assert [tuple(map(tuple, np.round(s, 9))) for s in np.array(segments)] == [
        (inp.point(1, 5), out.point(2, 0)),
        (inp.point(3, 5), out.point(3, 0)),
    ]
    column = make_layout(two((5, 5), (3, 3)), "flat", cell_px=20, arrangement="column")
    segments = column.connectors("input", (1, 2, 3, 5), "output", (2, 0, 3, 1))
    inp, out = column.plane("input"), column.plane("output")
    assert [tuple(map(tuple, np.round(s, 9))) for s in np.array(segments)] == [
        (inp.point(1, 2), out.point(3, 0)),  # the input is below: its top meets the
        (inp.point(1, 5), out.point(3, 1)),  # output's bottom
    ]


def test_oblique_connectors_are_hidden_behind_higher_levels_only() -> None:
    layout = make_layout(THREE, "oblique", cell_px=30)
    for source, target in (("a", "b"), ("a", "c"), ("b", "c")):
        box = (0, 0, 1, 1)
        segments = layout.connectors(source, box, target, box)
        starts = {tuple(np.round(s[0], 6)) for s in segments}
        # Every line starts at a corner (a line behind a level between is cut in pieces).
        assert starts >= {tuple(np.round(p, 6)) for p in layout.plane(source).rect(*box)}
        for name in "abc":
            if layout.levels[name] <= layout.levels[source]:
                continue
            outline = MplPath(layout.plane(name).outline())
            for p0, p1 in segments:
                for t in (0.02, 0.5, 0.98):
                    point = np.add(p0, t * np.subtract(p1, p0))
                    assert not outline.contains_point(point, radius=-1e-6), (source, name)


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


def test_clip_outside_boxes_cuts_around_every_box() -> None:
    segments = [((0.0, 5.0), (40.0, 5.0)), ((0.0, 50.0), (40.0, 50.0))]
    pieces = clip_outside_boxes(segments, [(10.0, 0.0, 15.0, 10.0), (20.0, 0.0, 30.0, 10.0)])
    assert np.allclose(
        sorted(pieces), sorted([((0, 5), (10, 5)), ((15, 5), (20, 5)), ((30, 5), (40, 5)),
                                ((0, 50), (40, 50))])
    )  # fmt: skip
    assert clip_outside_boxes(segments, []) == segments


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

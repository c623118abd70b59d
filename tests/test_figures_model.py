"""The figure description: validation, lookups, JSON round trips and purity.

The JSON tests compare a figure read back with the figure written (frozen
dataclasses compare field by field), for the window builder's figures with and
without numbers and for figures built by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgif.figures.model import (
    FILLS,
    Figure,
    FigureError,
    Grid,
    Link,
    Outline,
    Ring,
    Shade,
    Step,
    Text,
    box_of,
)
from convgif.figures.window import window_figure
from convgif.spec import ConvSpec
from convgif.values import compute_values

SPECS = [
    ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2),
    ConvSpec(input_size=(5, 7), kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    ConvSpec(input_size=3, kernel_size=3, padding=1, stride=2, transposed=True, output_padding=1),
    ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2, mode="max"),
    ConvSpec(input_size=4, kernel_size=3, padding=1, mode="avg"),
    ConvSpec(input_size=(2, 1), kernel_size=(1, 2), padding=(0, 0, 1, 1), dilation=(1, 2),
             mode="max"),
]  # fmt: skip


def three_grids() -> Figure:
    """A small figure built by hand: three levels, every kind of mark, a reveal."""
    grids = (
        Grid("a", 3, 4, ("input", None, "input", "input") * 3, level=0, label="a 3×4"),
        Grid.filled("b", 2, 2, "output", level=1),
        Grid.filled("c", 1, 2, "red", level=2, label="c"),
    )
    steps = (
        Step(
            marks=(
                Shade("a", ((0, 0), (0, 1))),
                Outline("a", (0, 0, 1, 2)),
                Link("a", (0, 0, 1, 2), "b", (0, 0, 1, 1)),
                Text("a", (0, 0), "−1.5", "value", on_shade=True),
                Text("a", (0, 0), "2", "weight", on_shade=True),
                Ring("a", (0, 0)),
            ),
            equation="y = 1",
        ),
        Step(
            marks=(Shade("b", ((1, 1),)), Link("b", (1, 1, 2, 2), "c", (0, 1, 1, 2))),
            reveals=(Text("c", (0, 0), "7"), Shade("c", ((0, 0),))),
        ),
    )
    return Figure(
        grids, steps, texts=(Text("a", (2, 1), "0", "faint"),), caption="three\ngrids",
        arrangement="row", title="hand-made",
    )  # fmt: skip


# -- grids -------------------------------------------------------------------------


def test_a_grid_reads_its_fills_row_major() -> None:
    grid = Grid("g", 2, 3, ("input", None, "red", "blue", "green", "output"))
    assert grid.size == "2x3"
    assert [grid.fill((r, c)) for r in range(2) for c in range(3)] == list(grid.fills)
    assert grid.fill((0, 1)) is None and grid.fill((1, 0)) == "blue"
    assert grid.contains((1, 2)) and not grid.contains((2, 0)) and not grid.contains((0, -1))
    assert Grid.filled("h", 2, 2, "output", level=3).fills == ("output",) * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("g", 0, 2, ()), "size"),
        (("g", 2, 2, ("input",) * 3), "3 fills for 2x2"),
        (("g", 1, 2, ("input", "purple")), "unknown fill 'purple'"),
    ],
)
def test_an_inconsistent_grid_is_refused(args: tuple, message: str) -> None:
    with pytest.raises(FigureError, match=message):
        Grid(*args)


def test_every_fill_role_is_accepted() -> None:
    assert Grid("g", 1, len(FILLS) + 1, (*FILLS, None)).fills[-1] is None


# -- figures -------------------------------------------------------------------------


def test_grids_are_found_by_name_and_texts_and_marks_collected() -> None:
    figure = three_grids()
    assert figure.grid("b").rows == 2
    with pytest.raises(FigureError, match="no grid named 'z'"):
        figure.grid("z")
    assert len(figure) == 2
    texts = figure.all_texts()
    assert [t.text for t in texts] == ["0", "−1.5", "2", "7"]
    marks = figure.all_marks()
    assert len(marks) == 1 + 6 + 2 + 2
    figure.check()


def test_a_figure_needs_unique_names_and_a_step() -> None:
    grid = Grid.filled("g", 1, 1, "input")
    with pytest.raises(FigureError, match="unique"):
        Figure((grid, grid), (Step(),))
    with pytest.raises(FigureError, match="at least one step"):
        Figure((grid,), ())


@pytest.mark.parametrize(
    "mark",
    [
        Shade("g", ((0, 0), (2, 0))),
        Outline("g", (0, 0, 3, 1)),
        Outline("g", (1, 1, 1, 2)),  # empty
        Link("g", (0, 0, 1, 1), "h", (0, 0, 1, 1)),  # no grid h
        Link("g", (0, 0, 1, 1), "g", (1, 1, 2, 3)),
        Text("g", (-1, 0), "1"),
        Ring("g", (0, 2)),
    ],
)
def test_check_refuses_a_mark_outside_its_grid(mark) -> None:  # type: ignore[no-untyped-def]
    grid = Grid.filled("g", 2, 2, "input")
    Figure((grid,), (Step(marks=(Shade("g", ((1, 1),)),)),)).check()
    for figure in (
        Figure((grid,), (Step(marks=(mark,)),)),
        Figure((grid,), (Step(), Step(reveals=(mark,)))),
    ):
        with pytest.raises(FigureError):
            figure.check()


def test_box_of_is_the_smallest_box_holding_the_cells() -> None:
    assert box_of([(2, 3)]) == (2, 3, 3, 4)
    assert box_of(((0, 4), (3, 1), (1, 2))) == (0, 1, 4, 5)


# -- JSON ------------------------------------------------------------------------------


def round_trip(figure: Figure) -> None:
    text = figure.to_json()
    assert isinstance(json.loads(text), dict)  # plain JSON
    again = Figure.from_json(text)
    assert again == figure
    assert again.to_json() == text
    assert Figure.from_dict(json.loads(json.dumps(figure.to_dict()))) == figure


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.parameters_text())
def test_window_figures_round_trip_through_json(spec: ConvSpec) -> None:
    plain = window_figure(spec)
    round_trip(plain)
    numbers = window_figure(spec, compute_values(spec, seed=4))
    round_trip(numbers)
    assert numbers != plain  # the comparison sees the marks
    assert Figure.from_json(numbers.to_json()).steps[-1] == numbers.steps[-1]


def test_a_hand_built_figure_round_trips_through_json() -> None:
    figure = three_grids()
    round_trip(figure)
    data = json.loads(figure.to_json())
    # Readable keys: a mark says what it is.
    assert [m["mark"] for m in data["steps"][0]["marks"]] == [
        "shade", "outline", "link", "text", "text", "ring",
    ]  # fmt: skip
    assert data["steps"][1]["reveals"][0] == {
        "mark": "text", "grid": "c", "cell": [0, 0], "text": "7", "role": "value",
        "on_shade": False,
    }  # fmt: skip
    assert data["arrangement"] == "row" and data["caption"] == "three\ngrids"
    # The read-back marks are tuples again: they hash and compare as built.
    again = Figure.from_json(figure.to_json())
    assert again.steps[0].marks[0].cells == ((0, 0), (0, 1))  # type: ignore[union-attr]
    assert hash(again.steps[1].reveals[0]) == hash(figure.steps[1].reveals[0])


def test_an_unknown_mark_is_refused() -> None:
    data = three_grids().to_dict()
    data["steps"][0]["marks"][0]["mark"] = "arrow"
    with pytest.raises(FigureError, match="unknown mark"):
        Figure.from_dict(data)


cells = st.tuples(st.integers(0, 2), st.integers(0, 2))
texts = st.builds(
    Text, st.just("g"), cells, st.text(min_size=1, max_size=4),
    st.sampled_from(["value", "faint", "weight"]), st.booleans(),
)  # fmt: skip
marks = st.one_of(
    texts,
    st.builds(Shade, st.just("g"), st.lists(cells, min_size=1, max_size=4).map(tuple)),
    st.builds(Ring, st.just("g"), cells),
    st.builds(Outline, st.just("g"), st.just((0, 1, 2, 3))),
)
steps = st.builds(
    Step, st.lists(marks, max_size=4).map(tuple), st.lists(texts, max_size=2).map(tuple),
    st.one_of(st.none(), st.text(max_size=12)),
)  # fmt: skip


@settings(max_examples=40)
@given(
    st.lists(st.sampled_from([*FILLS, None]), min_size=9, max_size=9),
    st.lists(steps, min_size=1, max_size=3),
    st.sampled_from(["stack", "row", "column"]),
)
def test_any_figure_round_trips_through_json(fills, step_list, arrangement) -> None:  # type: ignore[no-untyped-def]
    figure = Figure(
        (Grid("g", 3, 3, tuple(fills), label="g"),), tuple(step_list), arrangement=arrangement
    )
    round_trip(figure)


# -- purity ----------------------------------------------------------------------------

_LOADED = (
    "import json, sys, {modules}; "
    "print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
)


def loaded(*modules: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after importing modules in a fresh interpreter."""
    code = _LOADED.format(modules=", ".join(modules))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def test_the_pure_modules_import_no_matplotlib() -> None:
    packages = loaded(
        "convgif.figures.model", "convgif.figures.window", "convgif.layout", "convgif.geometry",
        "convgif.spec",
    )  # fmt: skip
    assert "convgif" in packages
    assert "matplotlib" not in packages and "PIL" not in packages


def test_the_description_modules_are_plain_python() -> None:
    # The description, the spec and the geometry need no numpy either (the
    # window builder takes values computed elsewhere); layout is numpy.
    packages = loaded(
        "convgif.spec", "convgif.geometry", "convgif.figures.model", "convgif.figures.window"
    )
    assert "numpy" not in packages and "matplotlib" not in packages
    assert "numpy" in loaded("convgif.layout")

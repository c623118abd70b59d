"""The Python API: files read back with Pillow, checks before rendering, atomic writes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convgif.api import RenderError, RenderOptions, render_frames, render_to_file
from convgif.figures.window import window_figure
from convgif.render import Renderer, Style
from convgif.spec import ConvSpec
from convgif.theme import ThemeError
from convgif.writers import OutputError

SPEC = ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2)  # 9 steps
SMALL = ConvSpec(input_size=4, kernel_size=3)  # 4 steps
# What palette rounding may change in a pixel's channel: an antialiased pixel
# is at most a quarter of the way from its nearest blend or end (theme.palette).
ROUNDING = 64


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decoded_frames(path: Path) -> tuple[list[np.ndarray], list[int], dict]:
    """Every frame as RGBA, each frame's duration, and the file's info."""
    frames, durations = [], []
    with Image.open(path) as image:
        info = dict(image.info)
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGBA")))
            durations.append(image.info.get("duration"))  # WebP sets it on load
    return frames, durations, info


def test_gif_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "figure.gif"
    written = render_to_file(SPEC, path, RenderOptions())
    assert written.path == path and written.frame_count == SPEC.step_count
    assert written.size_bytes == path.stat().st_size
    frames, durations, info = decoded_frames(path)
    assert len(frames) == SPEC.step_count
    assert durations == [1000] * SPEC.step_count
    assert info["loop"] == 0
    renderer = Renderer(window_figure(SPEC), Style())
    width, height = renderer.size_px
    assert {f.shape for f in frames} == {(height, width, 4)}
    # Each decoded frame is the rendered one, up to the palette's rounding (few
    # pixels are antialiased).
    for k, drawn in enumerate(renderer.frames()):
        difference = np.abs(frames[k][..., :3].astype(int) - drawn[..., :3].astype(int))
        assert difference.max() <= ROUNDING and difference.mean() < 1.0, k


def test_same_input_same_bytes(tmp_path: Path) -> None:
    for suffix in (".gif", ".png", ".webp"):
        a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        options = RenderOptions(layout="flat", caption=True)
        render_to_file(SMALL, a, options)
        render_to_file(SMALL, b, options)
        assert sha256(a) == sha256(b), suffix


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_apng_and_webp_animations(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"figure{suffix}"
    render_to_file(SMALL, path, RenderOptions(duration_ms=250))
    frames, durations, info = decoded_frames(path)
    assert len(frames) == SMALL.step_count
    assert durations == [250] * SMALL.step_count
    assert info.get("loop", 0) == 0


def test_default_file_name_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    written = render_to_file(SMALL, None, RenderOptions())
    assert written.path == Path(SMALL.slug() + ".gif")
    assert (tmp_path / (SMALL.slug() + ".gif")).is_file()
    still = render_to_file(SMALL, None, RenderOptions(step=1))
    assert still.path.suffix == ".png" and (tmp_path / still.path).is_file()


@pytest.fixture
def no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if a renderer is even built: checks must come first."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendering started before the options were checked")

    monkeypatch.setattr(Renderer, "__init__", refuse)


@pytest.mark.usefixtures("no_rendering")
@pytest.mark.parametrize(
    ("name", "options", "error", "start"),
    [
        ("figure.bmp", RenderOptions(), OutputError, "--output"),
        ("figure", RenderOptions(), OutputError, "--output"),
        ("figure.svg", RenderOptions(), RenderError, "--output"),
        ("figure.gif", RenderOptions(step=0), RenderError, "--step"),
        ("figure.gif", RenderOptions(max_frames=8), RenderError, "--max-frames"),
        ("figure.png", RenderOptions(step=9), RenderError, "--step"),
    ],
)
def test_refused_before_rendering_and_nothing_written(
    tmp_path: Path, name: str, options: RenderOptions, error: type, start: str
) -> None:
    with pytest.raises(error) as caught:
        render_to_file(SPEC, tmp_path / name, options)
    message = str(caught.value)
    assert message.startswith(start) and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_max_frames_says_how_to_raise_the_limit(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as caught:
        render_to_file(SPEC, tmp_path / "x.gif", RenderOptions(max_frames=5))
    assert "--max-frames 9" in str(caught.value)


def test_unknown_theme_and_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="--theme"):
        render_to_file(SMALL, tmp_path / "x.gif", RenderOptions(theme="no-such-theme"))
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(OutputError, match="--output"):
        render_to_file(SMALL, blocker / "x.gif", RenderOptions())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_a_failure_while_rendering_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "figure.gif"
    path.write_bytes(b"a good file from before")
    real_frames = Renderer.frames

    def failing(self: Renderer) -> Iterator[np.ndarray]:
        frames = real_frames(self)
        yield next(frames)
        yield next(frames)
        raise KeyboardInterrupt

    monkeypatch.setattr(Renderer, "frames", failing)
    with pytest.raises(KeyboardInterrupt):
        render_to_file(SPEC, path, RenderOptions())
    assert path.read_bytes() == b"a good file from before"
    assert [p.name for p in tmp_path.iterdir()] == ["figure.gif"]


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_stills_are_written_and_deterministic(tmp_path: Path, suffix: str) -> None:
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    options = RenderOptions(step=4)
    written = render_to_file(SPEC, a, options)
    render_to_file(SPEC, b, options)
    assert written.frame_count == 1 and a.stat().st_size > 0
    assert sha256(a) == sha256(b)
    head = a.read_bytes()[:400]
    if suffix == ".svg":
        assert b"<svg" in head
    elif suffix == ".pdf":
        assert head.startswith(b"%PDF")
    else:
        with Image.open(a) as image:
            still = np.asarray(image.convert("RGB")).astype(int)
        drawn = Renderer(window_figure(SPEC), Style()).frame(4)[..., :3].astype(int)
        assert still.shape == drawn.shape
        assert np.abs(still - drawn).max() <= ROUNDING


def test_frames_directory(tmp_path: Path) -> None:
    folder = tmp_path / "steps"
    written = render_frames(SPEC, folder, RenderOptions(layout="flat"))
    files = sorted(folder.iterdir())
    assert written.frame_count == SPEC.step_count == len(files)
    assert [f.suffix for f in files] == [".png"] * len(files)
    sizes = set()
    for f in files:
        with Image.open(f) as image:
            sizes.add(image.size)
    assert sizes == {Renderer(window_figure(SPEC), Style(layout="flat")).size_px}
    with pytest.raises(RenderError, match="--max-frames"):
        render_frames(SPEC, tmp_path / "more", RenderOptions(max_frames=2))
    assert not (tmp_path / "more").exists()


def test_transparent_gif(tmp_path: Path) -> None:
    path = tmp_path / "clear.gif"
    render_to_file(SMALL, path, RenderOptions(transparent=True))
    frames, _, info = decoded_frames(path)
    assert "transparency" in info
    assert frames[0][0, 0, 3] == 0
    renderer = Renderer(window_figure(SMALL), Style(transparent=True))
    x, y = renderer.cell_center_px("input", (2, 2))
    assert frames[0][int(y), int(x), 3] == 255


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("layout", "isometric", "--layout"),
        ("duration_ms", 0, "--duration-ms"),
        ("duration_ms", 2.5, "--duration-ms"),
        ("scale", -1.0, "--scale"),
        ("dpi", 0, "--dpi"),
        ("max_frames", 0, "--max-frames"),
        ("step", -1, "--step"),
        ("caption", "yes", "--caption"),
        ("theme", "", "--theme"),
    ],
)
def test_bad_options_name_the_option(field: str, value: object, option: str) -> None:
    with pytest.raises(RenderError) as caught:
        RenderOptions(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value).startswith(option + ":")


# -- numerical figures -------------------------------------------------------------


def test_numbers_gif_round_trip(tmp_path: Path) -> None:
    from convgif.api import _renderer

    path = tmp_path / "numbers.gif"
    options = RenderOptions(numbers=True, seed=2)
    written = render_to_file(SPEC, path, options)
    frames, durations, _ = decoded_frames(path)
    assert durations == [1000] * SPEC.step_count
    assert written.frame_count == len(frames) == SPEC.step_count
    renderer = _renderer(SPEC, options)
    width, height = renderer.size_px
    assert {f.shape for f in frames} == {(height, width, 4)}
    # Larger cells than the plain figure, so the numbers fit.
    plain_w, plain_h = Renderer(window_figure(SPEC), Style(layout="flat")).size_px
    assert width > plain_w and height > plain_h
    for k, drawn in enumerate(renderer.frames()):
        difference = np.abs(frames[k][..., :3].astype(int) - drawn[..., :3].astype(int))
        assert difference.max() <= ROUNDING and difference.mean() < 1.0, k


def test_numbers_default_to_the_flat_layout_unless_one_is_given() -> None:
    assert RenderOptions().resolved_layout == "oblique"
    assert RenderOptions(numbers=True).resolved_layout == "flat"
    assert RenderOptions(input_values="1,2;3,4").shows_numbers
    assert RenderOptions(kernel_values=[[1, 2], [3, 4]]).resolved_layout == "flat"
    assert RenderOptions(padding_mode="reflect").shows_numbers
    assert RenderOptions(flip=True).shows_numbers
    assert RenderOptions(seed=3).shows_numbers  # a seed asks for numbers, as on the CLI
    assert not RenderOptions().shows_numbers
    assert RenderOptions(numbers=True, layout="oblique").resolved_layout == "oblique"


def test_inline_lists_as_a_gallery_gives_them(tmp_path: Path) -> None:
    from convgif.api import figure_values

    options = RenderOptions(input_values=[[1, 2, 3]] * 3, kernel_values=[[1, 0], [0, -1]])
    values = figure_values(ConvSpec(input_size=3, kernel_size=2), options)
    assert values is not None
    assert values.output.tolist() == [[-1.0, -1.0], [-1.0, -1.0]]  # x[i,j] - x[i+1,j+1]
    assert figure_values(SPEC, RenderOptions()) is None


def test_padding_modes_are_the_values_modules() -> None:
    from convgif.api import PADDING_MODES
    from convgif.values import PADDING_MODES as VALUES_PADDING_MODES

    assert PADDING_MODES == VALUES_PADDING_MODES


@pytest.mark.usefixtures("no_rendering")
@pytest.mark.parametrize(
    ("spec", "options", "start"),
    [
        (SPEC, RenderOptions(input_values="1,2;3,4"), "--input-values: expected 5x5"),
        (SPEC, RenderOptions(kernel_values="1,2,3;4,5"), "--kernel-values: ragged rows"),
        (SPEC, RenderOptions(input_values="missing.csv"), "--input-values: file not found"),
        (SPEC, RenderOptions(padding_mode="reflect", input_values=np.ones((5, 5))), None),
        (ConvSpec(mode="max"), RenderOptions(kernel_values="1"), "--kernel-values"),
        (ConvSpec(mode="avg"), RenderOptions(padding_mode="circular"), "--padding-mode"),
        (ConvSpec(padding=5), RenderOptions(padding_mode="reflect"), "--padding-mode: reflect"),
        (ConvSpec(transposed=True), RenderOptions(flip=True), "--flip"),
    ],
)
def test_bad_values_refused_before_rendering_and_nothing_written(
    tmp_path: Path, spec: ConvSpec, options: RenderOptions, start: str | None
) -> None:
    from convgif.values import ValuesError

    if start is None:  # a valid combination: rendering starts (and is refused by the fixture)
        with pytest.raises(AssertionError, match="rendering started"):
            render_to_file(spec, tmp_path / "x.gif", options)
        return
    with pytest.raises(ValuesError) as caught:
        render_to_file(spec, tmp_path / "x.gif", options)
    message = str(caught.value)
    assert message.startswith(start) and "\n" not in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("numbers", "yes", "--numbers"),
        ("flip", 1, "--flip"),
        ("seed", -1, "--seed"),
        ("seed", 1.5, "--seed"),
        ("padding_mode", "mirror", "--padding-mode"),
        ("input_values", 3, "--input-values"),
        ("kernel_values", "  ", "--kernel-values"),
    ],
)
def test_bad_value_options_name_the_option(field: str, value: object, option: str) -> None:
    with pytest.raises(RenderError) as caught:
        RenderOptions(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value).startswith(option + ":")

"""``convgif.animate``: the options of ``convgif render``, the CLI's errors and bytes, a kernel."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import convgif
from convgif.api import RenderOptions
from convgif.cli import cli
from convgif.errors import ConvgifError
from convgif.geometry import Geometry
from convgif.notebook import Animation
from convgif.spec import ConvSpec

SMALL = {"input_size": 4, "kernel_size": 3}  # 4 steps
SMALL_ARGS = ["--input-size", "4", "--kernel-size", "3"]


def cli_render(tmp_path: Path, *args: str):
    """Run ``convgif render`` in a folder of its own; its result and the files it wrote."""
    folder = tmp_path / "cli"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = CliRunner().invoke(cli, ["render", *args])
    return result, {p.name: p.read_bytes() for p in folder.iterdir()}


def test_import_convgif_loads_no_drawing_library() -> None:
    code = (
        "import convgif, sys; "
        "print(*(m in sys.modules for m in ('matplotlib', 'PIL', 'convgif.notebook')))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.split() == ["False", "False", "False"], output.stderr
    assert "animate" in convgif.__all__ and convgif.animate is not None


@pytest.mark.parametrize(
    ("options", "args", "name"),
    [
        ({"padding": 1, "stride": 2}, ["--padding", "1", "--stride", "2"], "fig.gif"),
        (
            {**SMALL, "numbers": True, "theme": "dark"},
            [*SMALL_ARGS, "--numbers", "--theme", "dark"],
            "fig.gif",
        ),
        (
            {**SMALL, "layout": "flat", "caption": True},
            [*SMALL_ARGS, "--layout", "flat", "--caption"],
            "fig.webp",
        ),
        ({**SMALL, "step": 2, "seed": 3}, [*SMALL_ARGS, "--step", "2", "--seed", "3"], "fig.svg"),
        ({**SMALL, "duration_ms": 300}, [*SMALL_ARGS, "--duration-ms", "300"], "fig.html"),
        (
            {"input_size": 2, "transposed": True, "stride": 2},  # 25 steps
            ["--input-size", "2", "--transposed", "--stride", "2"],
            "fig.png",
        ),
    ],
)
def test_save_writes_the_clis_bytes(tmp_path: Path, options, args, name) -> None:
    result, files = cli_render(tmp_path, *args, "-o", name)
    assert result.exit_code == 0, result.output
    written = convgif.animate(**options).save(tmp_path / name)
    assert written.path.read_bytes() == files[name]


def test_frames_geometry_and_size() -> None:
    animation = convgif.animate(padding=1, stride=2)
    spec = ConvSpec(padding=1, stride=2)
    assert animation.spec == spec
    assert animation.geometry == Geometry(spec)
    frames = animation.frames()
    assert len(frames) == spec.step_count == animation.frame_count
    width, height = animation.size_px
    assert all(f.shape == (height, width, 4) and f.dtype == np.uint8 for f in frames)
    assert not np.array_equal(frames[0], frames[1])  # copies, not one reused buffer
    still = convgif.animate(padding=1, stride=2, step=4).frames()
    assert len(still) == 1
    np.testing.assert_array_equal(still[0], frames[4])
    assert "9 frames" in repr(animation) and "stride 2" in repr(animation)


def test_it_displays_as_the_player() -> None:
    shown = convgif.animate(**SMALL)._repr_html_()
    assert shown.startswith('<div class="convgif-player"')
    for control in ("play", "prev", "next", "scrub", "step"):
        assert f'data-convgif="{control}"' in shown
    assert ">1 / 4</span>" in shown
    still = convgif.animate(**SMALL, step=1)._repr_html_()
    assert ">1 / 1</span>" in still


def test_every_option_of_the_spec_and_the_render_options_is_taken() -> None:
    # Each field given its own default is accepted (a new field needs no change here).
    for cls in (ConvSpec, RenderOptions):
        for field in dataclasses.fields(cls):
            if field.init and field.name != "padding_name":
                default = getattr(cls(), field.name)
                assert isinstance(convgif.animate(**{**SMALL, field.name: default}), Animation)


def test_an_unknown_option_is_a_type_error_naming_the_valid_ones() -> None:
    with pytest.raises(TypeError) as caught:
        convgif.animate(strides=2, colour="red")
    message = str(caught.value)
    assert message.startswith("animate() got unknown options 'colour', 'strides'")
    assert "'strides' (did you mean 'stride'?)" in message
    for name in ("input_size", "padding", "dilation", "mode", "theme", "duration_ms", "numbers"):
        assert name in message.split("valid options: ")[1]


@pytest.mark.parametrize(
    ("options", "args"),
    [
        ({"stride": 0}, ["--stride", "0"]),
        ({"kernel_size": 9}, ["--kernel-size", "9"]),
        ({"padding": -1}, ["--padding", "-1"]),
        (
            {"padding": "same", "stride": 3, "transposed": True, "kernel_size": 2},
            ["--padding", "same", "--stride", "3", "--transposed", "--kernel-size", "2"],
        ),
        ({"output_padding": 1}, ["--output-padding", "1"]),
        ({"scale": 0.01}, ["--scale", "0.01"]),
        ({"dpi": 5.5}, ["--dpi", "5.5"]),
        ({"theme": "no-such-theme"}, ["--theme", "no-such-theme"]),
        ({"max_frames": 3}, ["--max-frames", "3"]),
        ({"step": 7}, ["--step", "7"]),
        ({"input_values": "1,2;3"}, ["--input-values", "1,2;3"]),
        ({"kernel_values": "1,2;3,4"}, ["--kernel-values", "1,2;3,4"]),
        ({"mode": "max", "flip": True}, ["--mode", "max", "--flip"]),
    ],
)
def test_a_bad_value_is_the_clis_error(tmp_path: Path, options, args) -> None:
    result, files = cli_render(tmp_path, *SMALL_ARGS, *args)
    assert result.exit_code == 2 and files == {}
    with pytest.raises(ConvgifError) as caught:
        convgif.animate(**{**SMALL, **options})
    assert f"convgif: error: {caught.value}" == result.stderr.strip()


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"duration_ms": 0}, "--duration-ms"),
        ({"seed": -1}, "--seed"),
        ({"layout": "x"}, "--layout"),
    ],
)
def test_values_the_cli_checks_while_parsing_are_refused_naming_the_option(
    tmp_path: Path, options, option: str
) -> None:
    # click's own range and choice checks word these differently; both name the option.
    result, _ = cli_render(tmp_path, *SMALL_ARGS, f"{option}={next(iter(options.values()))}")
    assert result.exit_code == 2 and result.stderr.startswith(f"convgif: error: {option}: ")
    with pytest.raises(ConvgifError, match=f"^{option}: "):
        convgif.animate(**{**SMALL, **options})


def test_in_a_real_kernel_the_output_is_the_player(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import convgif\nconvgif.animate(input_size=4, numbers=True)"),
        nbformat.v4.new_code_cell("convgif.animate(input_size=4).save('fig.gif').frame_count"),
    ]
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    (shown,) = notebook.cells[0].outputs
    assert shown["output_type"] == "execute_result"
    player = shown["data"]["text/html"]
    assert 'data-convgif-player="1"' in player and ">1 / 4</span>" in player
    assert shown["data"]["text/plain"].startswith("<convgif.Animation conv, input 4")
    (saved,) = notebook.cells[1].outputs
    assert saved["data"]["text/plain"] == "4"
    assert (tmp_path / "fig.gif").read_bytes()[:6] == b"GIF89a"

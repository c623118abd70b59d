"""Hostile input and interrupts (issue 15), one section per class of failure.

1. signals stop a run at once and clean up; 2. what used to be a traceback is
one line, exit 2; 3. what used to be accepted wrongly is refused; 4. what used
to run without bound is refused by a guard naming the option that raises it;
5. a gallery reads only files in its folder, and no message echoes a file;
6. messages name the target; 7. the Python API refuses wrong types by name
and accepts numpy scalars.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner, Result

from convgif.api import RenderOptions, cell_count, render_frames, render_to_file
from convgif.cli import cli
from convgif.errors import ConvgifError
from convgif.gallery import GalleryError, load_gallery
from convgif.geometry import Geometry
from convgif.inputs import excerpt
from convgif.spec import ArgumentTypeError, ConvSpec, SpecError
from convgif.theme import ThemeError, load_theme
from convgif.values import ValuesError, compute_values, parse_values
from convgif.writers import atomic_path, write_frames

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--input-size", "3", "--kernel-size", "2"]  # 4 steps


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_error_line(result: Result, start: str, status: int = 2) -> str:
    """The single stderr line of a refused command, checked."""
    assert result.exit_code == status, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"convgif: error: {start}"), lines[0]
    return lines[0]


def entries(tmp_path: Path, text: str, name: str = "g.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def figure(name: str, spec: str = "input_size = 3, kernel_size = 2", render: str = "") -> str:
    text = f'[[figure]]\nname = "{name}"\nspec = {{ {spec} }}\n'
    return text + (f"render = {{ {render} }}\n" if render else "")


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob(".*"))


# -- 1. signals ----------------------------------------------------------------------

# Each figure takes most of a second on one core; twenty on two workers leave more
# work after the first than STOP_TIMEOUT_S, which an ignored signal would let finish.
SLOW_FIGURE = "input_size = 7, kernel_size = 3, padding = 1"
SLOW_FIGURES = 20
PLACEHOLDER = b"old output"
STARTUP_TIMEOUT_S = 120.0  # a loaded 2-core machine: imports and the first figure
STOP_TIMEOUT_S = 5.0  # the run must end this soon after the signal (the work left is longer)
# Sent to the parent alone, the signal reaches the workers through the parent:
# a figure may be finished in the moment that takes.
PARENT_REACTION_S = 0.25


def _convgif(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "convgif", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a shell job has
    )


def _send(process: subprocess.Popen[bytes], signum: int, to_group: bool) -> None:
    if to_group:
        os.killpg(process.pid, signum)
    else:
        os.kill(process.pid, signum)


def _wait_for(condition, process: subprocess.Popen[bytes]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the run ended or stalled first: {process.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.01)


def stopped_by(process: subprocess.Popen[bytes], signum: int) -> None:
    """Wait for a run sent ``signum``: it ends soon, exit status 128 + signum, one line."""
    try:
        status = process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail(f"still running {STOP_TIMEOUT_S} s after {signal.Signals(signum).name}")
    stderr = process.stderr.read().decode()  # type: ignore[union-attr]
    assert status == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().endswith("convgif: interrupted")


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [
        (signal.SIGINT, True),  # Ctrl-C in a terminal
        (signal.SIGINT, False),
        (signal.SIGTERM, False),  # kill, timeout, a CI runner
        (signal.SIGHUP, True),  # the terminal closed
    ],
    ids=["sigint-group", "sigint-parent", "sigterm-parent", "sighup-group"],
)
def test_a_signal_stops_a_parallel_gallery_at_once_and_writes_nothing_after_it(
    tmp_path: Path, signum: int, to_group: bool
) -> None:
    names = [f"f{i:02d}" for i in range(SLOW_FIGURES)]
    gallery = entries(tmp_path, "".join(figure(n, SLOW_FIGURE) for n in names))
    out = tmp_path / "out"
    out.mkdir()
    long_ago = time.time() - 3600
    for name in names:  # earlier outputs, which a stopped run must not replace
        (out / f"{name}.gif").write_bytes(PLACEHOLDER)
        os.utime(out / f"{name}.gif", (long_ago, long_ago))

    def written() -> list[Path]:
        return [p for p in out.glob("*.gif") if p.stat().st_size != len(PLACEHOLDER)]

    process = _convgif(
        "gallery", "--gallery", str(gallery), "--out", str(out), "--jobs", "2", cwd=tmp_path
    )
    _wait_for(lambda: bool(written()), process)
    signalled = time.time()
    _send(process, signum, to_group)
    stopped_by(process, signum)
    grace = 0.0 if to_group else PARENT_REACTION_S
    late = [p.name for p in written() if p.stat().st_mtime > signalled + grace]
    assert late == [], "written after the signal"
    assert len(written()) < SLOW_FIGURES  # the run was cut short
    assert hidden(out) == []  # no temporary file left


def test_sigterm_during_a_render_removes_its_temporary_file(tmp_path: Path) -> None:
    process = _convgif(
        "render", "--input-size", "12", "--padding", "1", "-o", "x.gif", cwd=tmp_path
    )
    _wait_for(lambda: bool(hidden(tmp_path)), process)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _frames_then(interrupt: BaseException, count: int) -> Iterator[np.ndarray]:
    for _ in range(count):
        yield np.zeros((4, 4, 3), dtype=np.uint8)
    raise interrupt


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), SystemExit(143)])
def test_an_interrupted_frames_folder_leaves_no_directory_it_made(
    tmp_path: Path, interrupt: BaseException
) -> None:
    with pytest.raises(type(interrupt)):
        write_frames(tmp_path / "newdir" / "fr", _frames_then(interrupt, 2))
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(type(interrupt)):
        write_frames(kept / "fr", _frames_then(interrupt, 2))
    assert list(tmp_path.iterdir()) == [kept] and list(kept.iterdir()) == []


def test_remove_temporaries_removes_every_write_in_progress(tmp_path: Path) -> None:
    # What a gallery worker does on a signal, and what runs at exit should a second
    # interrupt cut a write's own cleanup short.
    from convgif.writers import _atomic_directory, remove_temporaries

    file_write = atomic_path(tmp_path / "x.gif")
    folder_write = _atomic_directory(tmp_path / "frames")
    file_write.__enter__().write_bytes(b"partial")
    (folder_write.__enter__() / "step_0.png").write_bytes(b"partial")
    assert len(hidden(tmp_path)) == 2  # the file and the folder
    remove_temporaries()
    assert hidden(tmp_path) == []
    for write in (file_write, folder_write):
        write.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_gallery_removes_the_folder_it_made_if_empty(tmp_path: Path) -> None:
    from convgif.gallery import build_gallery

    listed = load_gallery(entries(tmp_path, figure("bad", "stride = 0") + figure("b")))
    results = build_gallery(listed, tmp_path / "new" / "out", jobs=1)
    assert next(results).error is not None  # nothing written yet; the folder is made
    assert (tmp_path / "new" / "out").is_dir()
    results.close()  # what an interrupt does to the generator (the CLI closes it)
    assert not (tmp_path / "new").exists()
    results = build_gallery(listed[::-1], tmp_path / "out", jobs=1)
    assert next(results).ok
    results.close()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["b.gif"]


# -- 2. tracebacks become one line, exit 2 ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("figure = 5\n", "figure must be a list of [[figure]] tables, got 5"),
        ('figure = ["a", "b"]\n', "figure must be a list of [[figure]] tables"),
        ("defaults = 5\n" + figure("a"), "defaults must be a table"),
        ("[defaults]\nrender = 7\n" + figure("a"), "defaults.render must be a table"),
        ("[defaults]\nspec = {}\n" + figure("a"), "defaults must be a table"),
        ("[[figures]]\nname = 'a'\n", "unknown key(s) figures"),
        ("title = 'x'\n" + figure("a"), "unknown key(s) title"),
        ("", "no figures"),
        ("figure = []\n", "no figures"),
        ("[defaults.render]\nlayout = 'flat'\n", "no figures"),
    ],
)
def test_a_gallery_of_the_wrong_shape_is_one_line_exit_2(
    tmp_path: Path, text: str, words: str
) -> None:
    path = entries(tmp_path, text)
    with pytest.raises(GalleryError, match=f"^--gallery: .*{re.escape(words)}"):
        load_gallery(path)
    result = invoke("gallery", "--gallery", str(path), "--out", str(tmp_path / "out"))
    assert words in one_error_line(result, "--gallery: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("spec = 5", "spec must be a table, got 5"),
        ("render = 'flat'", "render must be a table, got 'flat'"),
        ("caption = 3", "caption must be a string, got 3"),
        ('spec = { input_size = "x" }', "--input-size: must be"),
        ("render = { layout = 7 }", "--layout: must be one of"),
    ],
)
def test_an_entry_of_the_wrong_shape_fails_alone_in_one_line(
    tmp_path: Path, table: str, words: str
) -> None:
    path = entries(tmp_path, figure("good") + f'[[figure]]\nname = "bad"\n{table}\n')
    bad = {e.name: e for e in load_gallery(path)}["bad"]
    assert bad.error is not None and words in bad.error
    out = tmp_path / "out"
    result = invoke("gallery", "--gallery", str(path), "--out", str(out), "--jobs", "1")
    assert f"convgif: error: bad: {words}" in one_error_line(result, "bad: ", status=1)
    assert [p.name for p in out.glob("*.gif")] == ["good.gif"]


def _float_options() -> list[tuple[str, str]]:
    """Every float option of every command: (command, option)."""
    found = []
    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(
                param.type, click.types.FloatParamType
            ):
                found.append((name, max(param.opts, key=len)))
    return found


def test_the_float_options_are_found() -> None:
    assert {"--fps", "--scale", "--dpi"} <= {option for _, option in _float_options()}


@pytest.mark.parametrize(("command", "option"), _float_options())
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_every_float_option_refuses_nan_and_infinity(
    tmp_path: Path, command: str, option: str, value: str
) -> None:
    out = tmp_path / "x.gif"
    spec = ["--input-size", "4", "--layer", "kernel-size=3"] if command == "stack" else SMALL
    drawn = command in ("render", "stack")
    result = invoke(command, *spec, option, value, *(["-o", str(out)] * drawn))
    one_error_line(result, f"{option}: ")
    assert list(tmp_path.iterdir()) == []


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"PK\x03\x04" + bytes(60), "zip archive"),  # a corrupt .npz
        (b"PK\x05\x06" + bytes(18), "zip archive"),  # an empty zip
        (b"\x93NUMPY\x01\x00\xff\xff{'descr'", "header"),  # a header cut short
        (b"\x93NUMPY\x01\x00" + b"\x10\x00" + b"{'descr': '<f8',\n", "header"),
        (_npy_header((100000, 100000)) + bytes(64), "announces 100000x100000 values"),
        (_npy_header((2, 2), "|O"), "Python objects"),
        (b"\x93NUMPY\x09\x00" + bytes(20), "version 9.0"),
        (b"", "signature"),
    ],
)
def test_a_corrupt_npy_is_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "v.npy"
    path.write_bytes(content)
    with pytest.raises(ValuesError, match=r"^--input-values: cannot read .* as a .npy file"):
        parse_values(path, "--input-values")
    result = invoke("render", *SMALL, "--input-values", str(path), "-o", str(tmp_path / "x.gif"))
    assert words in one_error_line(result, "--input-values: ")
    assert not (tmp_path / "x.gif").exists()


def test_a_valid_npy_still_reads(tmp_path: Path) -> None:
    values = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "v.npy", values)
    np.testing.assert_array_equal(parse_values(tmp_path / "v.npy", "--input-values"), values)


HUGE = ["--input-size", "100000", "--kernel-size", "100000"]


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (command, extra)
        for command in ("render", "geometry")
        for extra in ([], ["--numbers"], ["--seed", "1"], ["--mode", "max", "--numbers"])
    ]
    + [("render", ["--step", "0"]), ("render", ["--step", "0", "--numbers"])],
)
def test_every_size_guard_runs_before_anything_of_the_spec_size_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, extra: list[str]
) -> None:
    import convgif.values

    made = []
    monkeypatch.setattr(convgif.values, "compute_values", lambda *a, **k: made.append(a))
    monkeypatch.setattr(Geometry, "to_dict", lambda self: made.append(self))
    monkeypatch.setattr(Geometry, "cell_kinds", lambda self: made.append(self))
    out = tmp_path / ("x.png" if "--step" in extra else "x.gif")
    result = invoke(command, *HUGE, *extra, *(["-o", str(out)] * (command == "render")))
    assert "--max-cells 20000000000" in one_error_line(result, "--max-cells: ")
    assert made == []
    assert list(tmp_path.iterdir()) == []


def test_the_values_guard_checks_given_values_before_drawing_random_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = []
    real = np.random.default_rng

    def recording(seed: int):  # type: ignore[no-untyped-def]
        drawn.append(seed)
        return real(seed)

    monkeypatch.setattr(np.random, "default_rng", recording)
    with pytest.raises(ValuesError, match="--kernel-values: expected 3x3"):
        compute_values(ConvSpec(input_size=4), kernel_values="1,2;3,4")
    assert drawn == []


@pytest.mark.parametrize("dash", ["[1e-9, 1e-9]", "[0.1, 5]", "[5, 0]", "[5, 1e9]"])
def test_a_dash_too_small_or_large_to_draw_is_refused(tmp_path: Path, dash: str) -> None:
    path = entries(tmp_path, f"[lines]\ndash_pt = {dash}\n", "t.toml")
    with pytest.raises(ThemeError, match=r"lines.dash_pt must be"):
        load_theme(path)
    result = invoke("render", *SMALL, "--theme", str(path), "-o", str(tmp_path / "x.gif"))
    assert "lines.dash_pt" in one_error_line(result, "--theme: ")


def test_the_shortest_dash_allowed_still_draws(tmp_path: Path) -> None:
    from convgif.theme import MIN_DASH_PT

    path = entries(tmp_path, f"[lines]\ndash_pt = [{MIN_DASH_PT}, {MIN_DASH_PT}]\n", "t.toml")
    assert load_theme(path).dash_pt == (MIN_DASH_PT, MIN_DASH_PT)
    result = invoke(
        "render", "--input-size", "2", "--kernel-size", "2", "--padding", "2", "--step", "0",
        "--theme", str(path), "-o", str(tmp_path / "x.png"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _make_fifo(path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(path)
    return path


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: a read that waits for ever is cut by SIGALRM."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still reading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("source", ["/dev/zero", "FIFO"])
def test_a_gallery_that_is_a_device_or_fifo_is_refused_without_reading(
    tmp_path: Path, source: str
) -> None:
    path = str(_make_fifo(tmp_path / "g.toml")) if source == "FIFO" else source
    with _deadline(30):
        result = invoke("gallery", "--list", "--gallery", path)
    one_error_line(result, f"--gallery: {path} is not a regular file")


@pytest.mark.parametrize("name", ["FIFO.csv", "FIFO.npy", "FIFO.txt"])
def test_values_from_a_fifo_are_refused_without_reading(tmp_path: Path, name: str) -> None:
    path = _make_fifo(tmp_path / name)
    with _deadline(30), pytest.raises(ValuesError, match=r"^--kernel-values: .* is not a regular"):
        parse_values(str(path), "--kernel-values")


@pytest.mark.parametrize("source", ["/dev/zero", "FIFO"])
def test_a_theme_that_is_a_device_or_fifo_is_refused_without_reading(
    tmp_path: Path, source: str
) -> None:
    path = str(_make_fifo(tmp_path / "t.toml")) if source == "FIFO" else source
    with _deadline(30), pytest.raises(ThemeError, match=r"^--theme: .* is not a regular file"):
        load_theme(path)


@pytest.mark.parametrize(
    ("option", "name", "limit"),
    [("--gallery", "big.toml", 1 << 20), ("--theme", "big.toml", 1 << 20)],
)
def test_text_files_are_read_up_to_a_limit(
    tmp_path: Path, option: str, name: str, limit: int
) -> None:
    path = tmp_path / name
    path.write_bytes(b"# " + b"x" * limit + b"\n")
    command = ["gallery", "--list"] if option == "--gallery" else ["render", *SMALL]
    result = invoke(*command, option, str(path))
    assert f"larger than {limit} bytes" in one_error_line(result, f"{option}: ")


def test_values_files_are_read_up_to_a_limit(tmp_path: Path) -> None:
    from convgif.inputs import MAX_VALUES_BYTES

    path = tmp_path / "big.csv"
    with open(path, "wb") as file:
        file.truncate(MAX_VALUES_BYTES + 1)  # sparse: no disk used
    with pytest.raises(ValuesError, match=f"larger than {MAX_VALUES_BYTES} bytes"):
        parse_values(str(path), "--input-values")


# -- 3. accepted before, wrong: now refused ------------------------------------------------


@pytest.mark.parametrize("value", ['"false"', '"true"', "0", "1", "[true]"])
def test_booleans_in_a_gallery_must_be_booleans(tmp_path: Path, value: str) -> None:
    path = entries(
        tmp_path,
        figure("a", f"input_size = 3, transposed = {value}")
        + figure("b", "input_size = 3", f"caption = {value}"),
    )
    a, b = load_gallery(path)
    assert a.error is not None and a.error.startswith("--transposed: must be true or false")
    assert b.error is not None and b.error.startswith("--caption: must be true or false")


@pytest.mark.parametrize("value", ["false", "False", 0, 1, None, [True]])
def test_booleans_in_the_api_must_be_booleans(value: object) -> None:
    with pytest.raises(SpecError, match=r"^--transposed: must be true or false"):
        ConvSpec(transposed=value)  # type: ignore[arg-type]
    with pytest.raises(ConvgifError, match=r"^--flip: must be true or false"):
        RenderOptions(flip=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "colour",
    ["#-12345", "#0x1234", "# 12345", "#+12345", " #268bd2", "#268bd2 ", "#268bd", "#2_68bd2"],
)
def test_colours_are_exactly_hash_and_six_hex_digits(tmp_path: Path, colour: str) -> None:
    path = entries(tmp_path, f'[colors]\ninput = "{colour}"\n', "t.toml")
    with pytest.raises(ThemeError, match=r"colors.input must be a colour"):
        load_theme(path)


def test_hex_colours_in_either_case_are_read(tmp_path: Path) -> None:
    path = entries(tmp_path, '[colors]\ninput = "#A0b1C2"\n', "t.toml")
    assert load_theme(path).input == (0xA0, 0xB1, 0xC2)


@pytest.mark.parametrize("dash", ["[inf, 1]", "[1, nan]", "[-inf, 1]", "[true, 1]"])
def test_a_dash_must_be_finite_numbers(tmp_path: Path, dash: str) -> None:
    path = entries(tmp_path, f"[lines]\ndash_pt = {dash}\n", "t.toml")
    with pytest.raises(ThemeError, match=r"lines.dash_pt must be"):
        load_theme(path)


# -- 4. unbounded work is refused by a guard naming its option ----------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--input-size", "100000", "--kernel-size", "100000"],
        ["--input-size", "3000", "--kernel-size", "3000", "--json"],
        ["--input-size", "2000", "--kernel-size", "1990", "--json"],  # 121 steps of 4M taps
        ["--input-size", "1000", "--kernel-size", "2", "--dilation", "999"],  # one step
    ],
)
def test_geometry_refuses_unbounded_output_naming_the_option(args: list[str]) -> None:
    result = invoke("geometry", *args)
    line = one_error_line(result, "--max-cells: ")
    assert "raise it with --max-cells" in line
    assert result.stdout == ""


def test_max_cells_counts_what_geometry_json_lists() -> None:
    spec = ConvSpec(input_size="6x7", kernel_size="3x2", padding=1, stride=(2, 1))
    data = json.loads(invoke("geometry", "--input-size", "6x7", "--kernel-size", "3x2",
                             "--padding", "1", "--stride", "2x1", "--json").stdout)  # fmt: skip
    listed = sum(len(row) for row in data["grid"]) + sum(len(s["window"]) for s in data["steps"])
    assert cell_count(spec) == listed
    base = ["geometry", "--input-size", "6x7", "--kernel-size", "3x2", "--padding", "1"]
    base += ["--stride", "2x1", "--json", "--max-cells"]
    one_error_line(invoke(*base, str(listed - 1)), f"--max-cells: this spec lists {listed} cells")
    assert invoke(*base, str(listed)).exit_code == 0


def test_render_has_the_same_cell_guard(tmp_path: Path) -> None:
    out = tmp_path / "x.gif"
    result = invoke("render", *SMALL, "--max-cells", "10", "-o", str(out))
    one_error_line(result, "--max-cells: this spec lists 25 cells")  # 3x3 grid, 4 steps of 2x2
    with pytest.raises(ConvgifError, match=r"^--max-cells: "):
        render_to_file(ConvSpec(input_size=3, kernel_size=2), out, RenderOptions(max_cells=10))
    assert not out.exists()


@pytest.mark.parametrize(
    "value", ["99999999999", "9" * 5000, "-" + "9" * 5000, "3x" + "9" * 20, "1,2,3," + "9" * 5000]
)
def test_absurd_sizes_are_one_line(value: str) -> None:
    result = invoke("geometry", "--padding" if "," in value else "--input-size", value)
    line = one_error_line(result, "--")
    assert len(line) < 200


# -- 5. a gallery reads only its own folder; no message echoes a file -----------------------


def test_gallery_paths_resolve_relative_to_the_gallery_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "x.csv").write_text("1,2,3\n4,5,6\n7,8,9\n", encoding="utf-8")
    (folder / "t.toml").write_text('[colors]\ninput = "#ff0000"\n', encoding="utf-8")
    gallery = entries(
        folder, figure("a", "input_size = 3", 'input_values = "data/x.csv", theme = "t.toml"')
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (entry,) = load_gallery(gallery)
    assert entry.error is None
    assert Path(entry.render["input_values"]).resolve() == (folder / "data" / "x.csv").resolve()
    result = invoke("gallery", "--gallery", str(gallery), "--out", "out", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert (elsewhere / "out" / "a.gif").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("input_values", "/etc/passwd"),
        ("input_values", "../secret.csv"),
        ("kernel_values", "../secret.npy"),
        ("theme", "../secret.toml"),
        ("input_values", "link.csv"),  # a symbolic link inside, to a file outside
        ("theme", "/etc/passwd.toml"),
    ],
)
def test_gallery_paths_must_stay_in_its_folder(tmp_path: Path, key: str, value: str) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("top secret line\n", encoding="utf-8")
    (folder / "link.csv").symlink_to(tmp_path / "secret.csv")
    gallery = entries(folder, figure("a", "input_size = 3", f'{key} = "{value}"'))
    (entry,) = load_gallery(gallery)
    assert entry.error is not None
    assert entry.error.startswith(f"render.{key}: ") and "--allow-paths-outside" in entry.error
    result = invoke("gallery", "--gallery", str(gallery), "--out", str(tmp_path / "out"))
    line = one_error_line(result, "a: render.", status=1)
    assert "secret line" not in line and "root:" not in line


def test_allow_paths_outside_reads_them(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (tmp_path / "shared.csv").write_text("1,0\n0,1\n", encoding="utf-8")
    gallery = entries(
        folder, figure("a", "input_size = 3, kernel_size = 2", 'kernel_values = "../shared.csv"')
    )
    (entry,) = load_gallery(gallery, allow_paths_outside=True)
    assert entry.error is None
    out = tmp_path / "out"
    result = invoke(
        "gallery", "--gallery", str(gallery), "--out", str(out), "--allow-paths-outside"
    )
    assert result.exit_code == 0, result.output
    assert (out / "a.gif").exists()


def test_inline_values_in_a_gallery_are_not_paths(tmp_path: Path) -> None:
    inline = figure("a", "input_size = 2, kernel_size = 1", 'input_values = "1,2;3,4"')
    gallery = entries(tmp_path, inline)
    (entry,) = load_gallery(gallery)
    assert entry.error is None and entry.render["input_values"] == "1,2;3,4"


SECRET = "root:x:0:0:" + "very-long-secret-" * 20 + "\x1b[31m"


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_an_error_quotes_only_a_short_escaped_excerpt_of_a_file(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"v{suffix}"
    path.write_text(SECRET + "\n", encoding="utf-8")
    with pytest.raises(ValuesError) as caught:
        parse_values(str(path), "--input-values")
    message = str(caught.value)
    assert "root:x:0:0:" in message  # enough to find the line ...
    assert "very-long-secret-very-long-secret-" not in message  # ... but no more of it
    assert "\x1b" not in message and "\n" not in message


@pytest.mark.parametrize(
    "text",
    [
        f'[colors]\ninput = "{SECRET}"\n',
        f'[colors]\n"{SECRET}" = 1\n',
        f'"{SECRET}" = 1\n',
        f'[lines]\ndash_pt = ["{SECRET}", 1]\n',
    ],
)
def test_theme_errors_quote_only_an_excerpt(tmp_path: Path, text: str) -> None:
    path = entries(tmp_path, text.replace("\x1b", "\\u001b"), "t.toml")
    with pytest.raises(ThemeError) as caught:
        load_theme(path)
    message = str(caught.value)
    assert "very-long-secret-very-long-secret-" not in message
    assert "\x1b" not in message and "\n" not in message


def test_gallery_errors_quote_only_an_excerpt(tmp_path: Path) -> None:
    secret = SECRET.replace("\x1b", "\\u001b")
    path = entries(
        tmp_path,
        f'[[figure]]\nname = "{secret}"\n'
        + figure("b", f'input_size = "{secret}"')
        + figure("c", "input_size = 3", f'theme = "{secret}"')
        + f'[[figure]]\nname = "d"\n"{secret}" = 1\n',
    )
    from convgif.gallery import render_entry

    listed = load_gallery(path)
    messages = [e.error or render_entry(e, tmp_path).error or "" for e in listed]
    assert all(messages)
    for message in messages:
        assert "very-long-secret-very-long-secret-" not in message
        assert "\x1b" not in message and "\n" not in message


def test_excerpt_is_short_escaped_and_marks_the_cut() -> None:
    assert excerpt("abc") == "'abc'"
    assert excerpt("a\nb\x1b") == "'a\\nb\\x1b'"
    assert excerpt("x" * 100, 5) == "'xxxxx' …"
    assert excerpt(list(range(100)), 10) == "[0, 1, 2, …"
    assert excerpt(5) == "5"


# -- 6. messages name the target ------------------------------------------------------------


def test_a_full_disk_names_the_target(tmp_path: Path) -> None:
    target = tmp_path / "x.gif"
    with pytest.raises(OSError) as caught, atomic_path(target):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.filename == str(target) and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_names_the_target_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    import convgif.writers

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")

    def full(file: object, mode: str = "r", *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        # Every write lands on /dev/full, which answers ENOSPC without a file name.
        return builtins.open("/dev/full" if "w" in mode else file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(convgif.writers, "open", full, raising=False)
    out = tmp_path / "x.gif"
    result = invoke("render", *SMALL, "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"convgif: error: cannot write {out}: No space left on device"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "blamed"),
    [
        (["--kernel-values", "1e308,1e308;1e308,1e308", "--input-values", "1,1;1,1"],
         "--kernel-values"),
        (["--input-values", "1e308,1e308;1e308,1e308", "--kernel-values", "1,1;1,1"],
         "--input-values"),
        (["--input-values", "1e150,1;1,1", "--kernel-values", "1e200,1;1,1"], "--kernel-values"),
        (["--input-values", "1e200,1;1,1", "--kernel-values", "1e150,1;1,1"], "--input-values"),
        (["--input-values", "1e308,1e308;1e308,1e308", "--mode", "avg"], "--input-values"),
        (["--kernel-values", "1e308,1e308;1e308,1e308", "--seed", "0"], "--kernel-values"),
    ],
)  # fmt: skip
def test_an_overflow_blames_the_values_that_caused_it(args: list[str], blamed: str) -> None:
    result = invoke("geometry", "--input-size", "2", "--kernel-size", "2", *args)
    assert "overflows" in one_error_line(result, f"{blamed}: ")


@pytest.mark.parametrize("length", [242, 250, 255])
def test_output_names_up_to_255_bytes_work(tmp_path: Path, length: int) -> None:
    out = tmp_path / ("a" * (length - 4) + ".gif")
    result = invoke("render", *SMALL, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_an_output_name_over_255_bytes_is_one_line(tmp_path: Path) -> None:
    result = invoke("render", *SMALL, "-o", str(tmp_path / ("a" * 252 + ".gif")))
    assert "longer than 255 bytes" in one_error_line(result, "--output: ")
    result = invoke("render", *SMALL, "-o", str(tmp_path / ("a" * 300) / "x.gif"))
    assert "File name too long" in one_error_line(result, "--output: cannot use")
    result = invoke("render", *SMALL, "--frames", str(tmp_path / ("a" * 300) / "f"))
    assert "File name too long" in one_error_line(result, "--frames: cannot use")


def test_frames_onto_a_directory_are_all_or_nothing_and_name_the_target(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "step_004.png").mkdir()
    (frames / "step_0.png").write_bytes(b"earlier run")
    nine_steps = ["--input-size", "4", "--kernel-size", "2"]
    result = invoke("render", *nine_steps, "--frames", str(frames))
    line = one_error_line(result, "--frames: ")
    assert repr(str(frames / "step_004.png")) in line and ".cg-" not in line
    assert sorted(p.name for p in frames.iterdir()) == ["step_0.png", "step_004.png"]
    assert (frames / "step_0.png").read_bytes() == b"earlier run"
    # Without a length the names are known only at the end: still nothing moves in.
    (frames / "step_0004.png").mkdir()
    with pytest.raises(ConvgifError, match=r"step_0004.png' is a directory"):
        write_frames(frames, iter([np.zeros((2, 2, 3), np.uint8)] * 5))
    assert sorted(p.name for p in frames.iterdir()) == [
        "step_0.png",
        "step_0004.png",
        "step_004.png",
    ]


# -- 7. the Python API: wrong types by name, numpy scalars welcome ---------------------------

SPEC = ConvSpec(input_size=3, kernel_size=2)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda out: render_to_file("5x5", out), "spec"),  # type: ignore[arg-type]
        (lambda out: render_to_file(None, out), "spec"),  # type: ignore[arg-type]
        (lambda out: render_to_file(SPEC, out, {"layout": "flat"}), "options"),  # type: ignore[arg-type]
        (lambda out: render_to_file(SPEC, out, "flat"), "options"),  # type: ignore[arg-type]
        (lambda out: render_to_file(SPEC, os.fsencode(out)), "output"),  # type: ignore[arg-type]
        (lambda out: render_to_file(SPEC, 5), "output"),  # type: ignore[arg-type]
        (lambda out: render_frames("5x5", out.parent / "f"), "spec"),  # type: ignore[arg-type]
        (lambda out: render_frames(SPEC, None), "directory"),  # type: ignore[arg-type]
        (lambda out: render_frames(SPEC, b"frames"), "directory"),  # type: ignore[arg-type]
        (lambda out: Geometry("5x5"), "spec"),  # type: ignore[arg-type]
        (lambda out: Geometry({"input_size": 5}), "spec"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_raise_the_projects_error_naming_the_argument(
    tmp_path: Path,
    call,
    argument: str,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(ArgumentTypeError, match=f"^{argument}: must be") as caught:
        call(tmp_path / "out.gif")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["o\x00ut.gif", "a/\x00/b.gif"])
def test_a_nul_in_a_path_is_an_output_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConvgifError, match=r"^--output: the path contains a NUL"):
        render_to_file(SPEC, str(tmp_path) + "/" + name)
    with pytest.raises(ConvgifError, match=r"^--frames: the path contains a NUL"):
        render_frames(SPEC, str(tmp_path) + "/" + name)


@pytest.mark.parametrize(
    "kind", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint64]
)
def test_numpy_integers_are_spec_sizes(kind: type) -> None:
    plain = ConvSpec(input_size=(5, 6), kernel_size=3, padding=(1, 1, 0, 2), stride=2)
    numpy = ConvSpec(
        input_size=(kind(5), kind(6)), kernel_size=kind(3),
        padding=(kind(1), kind(1), kind(0), kind(2)), stride=kind(2),
    )  # fmt: skip
    assert numpy == plain
    assert all(type(v) is int for v in (*numpy.input_size, *numpy.padding, *numpy.stride))
    assert ConvSpec(padding=kind(1)) == ConvSpec(padding=1)
    assert ConvSpec(transposed=np.bool_(True)).transposed is True


@pytest.mark.parametrize("value", [np.float32(5.0), np.float64(5.0), 5.0, np.bool_(True)])
def test_non_integers_are_still_refused_as_sizes(value: object) -> None:
    with pytest.raises(SpecError, match=r"^--input-size: must be a positive integer"):
        ConvSpec(input_size=value)  # type: ignore[arg-type]


def test_numpy_numbers_are_render_options() -> None:
    numpy = RenderOptions(
        scale=np.float32(1.5), dpi=np.int64(80), duration_ms=np.int32(250),
        max_frames=np.uint16(100), seed=np.int64(3), step=np.int8(2),
        caption=np.bool_(True), max_cells=np.int64(500),
    )  # fmt: skip
    plain = RenderOptions(
        scale=1.5,
        dpi=80.0,
        duration_ms=250,
        max_frames=100,
        seed=3,
        step=2,
        caption=True,
        max_cells=500,
    )
    assert numpy == plain
    assert type(numpy.scale) is float and type(numpy.duration_ms) is int
    for name in ("scale", "dpi"):
        for bad in (np.float32("nan"), np.float64("inf"), math.inf):
            with pytest.raises(ConvgifError, match=f"^--{name}: must be from"):
                RenderOptions(**{name: bad})


def test_pure_modules_import_no_numpy() -> None:
    code = (
        "import sys, convgif.spec, convgif.geometry, convgif.api, convgif.gallery, "
        "convgif.inputs, convgif.cli; print('numpy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.strip() == "False", done.stderr


def test_a_stop_signal_turned_into_another_error_still_reports_an_interruption() -> None:
    # A signal's exception raised inside a call from C++ back into Python can
    # come out as another exception (matplotlib: "Invalid affine transformation
    # matrix"); the run was interrupted all the same: exit 128 + signal, no error.
    from convgif.cli import ConvgifGroup

    @click.group(cls=ConvgifGroup)
    def group() -> None: ...

    @group.command()
    def draw() -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1.0)  # the handler raises here
        except KeyboardInterrupt as error:
            raise ValueError("Invalid affine transformation matrix") from error

    @group.command()
    def fail() -> None:
        raise ConvgifError("--stride: must be at least 1, got 0")

    result = CliRunner().invoke(group, ["draw"])
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert result.output.strip() == "convgif: interrupted"
    # Without a signal, the same kind of failure is reported as usual.
    result = CliRunner().invoke(group, ["fail"])
    assert result.exit_code == 2 and result.output.strip().startswith("convgif: error: --stride")

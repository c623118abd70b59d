"""The gallery: the TOML list, bad entries, parallel rendering, the CLI."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from convgif.cli import cli
from convgif.gallery import (
    MANIFEST_NAME,
    GalleryError,
    build_gallery,
    default_gallery_path,
    load_gallery,
    select,
)
from convgif.spec import ConvSpec

ANCHOR_README = Path(__file__).resolve().parents[2] / "shared" / "anchor-gallery" / "README.md"
ANCHOR_NAMES = (
    "no_padding_no_strides",
    "arbitrary_padding_no_strides",
    "same_padding_no_strides",
    "full_padding_no_strides",
    "no_padding_strides",
    "padding_strides",
    "padding_strides_odd",
    "dilation",
    "no_padding_no_strides_transposed",
    "arbitrary_padding_no_strides_transposed",
    "same_padding_no_strides_transposed",
    "full_padding_no_strides_transposed",
    "no_padding_strides_transposed",
    "padding_strides_transposed",
    "padding_strides_odd_transposed",
)

TINY = '[[figure]]\nname = "{name}"\ncaption = "{name}"\nspec = {{ {spec} }}\n'


def write_gallery(path: Path, figures: list[tuple[str, str]]) -> Path:
    path.write_text("".join(TINY.format(name=n, spec=s) for n, s in figures), encoding="utf-8")
    return path


def anchor_table() -> dict[str, tuple[int, int]]:
    """Output size and frame count of each original figure, read from the anchor README."""
    if not ANCHOR_README.exists():
        pytest.skip("the anchor gallery (../shared/anchor-gallery) is not beside the repo")
    rows = {}
    for line in ANCHOR_README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and re.fullmatch(r"\d+", cells[8]):
            rows[cells[0]] = (int(cells[7]), int(cells[8]))
    return rows


def test_gallery_holds_the_anchor_figures_with_their_sizes_and_frame_counts() -> None:
    entries = {e.name: e for e in load_gallery()}
    table = anchor_table()
    assert set(table) == set(ANCHOR_NAMES)
    for name, (output, frames) in table.items():
        entry = entries[name]
        assert entry.error is None, (name, entry.error)
        spec = ConvSpec(**entry.spec)
        assert spec.output_size == (output, output), name
        assert spec.step_count == frames, name


def test_anchor_figures_are_no_smaller_than_the_originals_and_not_much_larger() -> None:
    # The issue: the 15 figures "at no smaller pixel size" than the originals,
    # whose sizes are read from the GIFs themselves.
    from convgif.api import RenderOptions, _renderer

    anchors = sorted(ANCHOR_README.parent.glob("*.gif"))
    if not anchors:
        pytest.skip("the anchor gallery (../shared/anchor-gallery) is not beside the repo")
    entries = {e.name: e for e in load_gallery()}
    assert {a.stem for a in anchors} == set(ANCHOR_NAMES)
    for anchor in anchors:
        with Image.open(anchor) as image:
            width, height = image.size
        entry = entries[anchor.stem]
        ours = _renderer(ConvSpec(**entry.spec), RenderOptions(**entry.render)).size_px
        assert ours[0] >= width and ours[1] >= height, (anchor.stem, ours, (width, height))
        assert ours[0] <= 1.03 * width and ours[1] <= 1.03 * height, (anchor.stem, ours)


def test_every_gallery_entry_is_valid_and_captioned() -> None:
    entries = load_gallery()
    assert len(entries) >= len(ANCHOR_NAMES)
    for entry in entries:
        assert entry.error is None, (entry.name, entry.error)
        assert entry.caption


def test_bad_entries_fail_with_their_name_and_the_others_are_written(tmp_path: Path) -> None:
    toml = write_gallery(
        tmp_path / "g.toml",
        [
            ("good", "input_size = 3, kernel_size = 2"),
            ("bad_stride", "input_size = 3, stride = 0"),
            ("bad_key", "input_size = 3, colour = 2"),
        ],
    )
    entries = load_gallery(toml)
    results = {r.name: r for r in build_gallery(entries, tmp_path / "out", jobs=1)}
    assert results["good"].ok and (tmp_path / "out" / "good.gif").exists()
    assert "--stride" in results["bad_stride"].error
    assert "spec.colour" in results["bad_key"].error
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.gif"]


def test_duplicate_names_are_an_error(tmp_path: Path) -> None:
    toml = write_gallery(tmp_path / "g.toml", [("a", "input_size = 3"), ("a", "input_size = 4")])
    first, second = load_gallery(toml)
    assert first.error is None
    assert "twice" in second.error


def test_select_keeps_gallery_order_and_refuses_unknown_names() -> None:
    entries = load_gallery()
    chosen = select(entries, ["padding_strides", "dilation"])
    names = [e.name for e in entries]
    assert [e.name for e in chosen] == sorted(["padding_strides", "dilation"], key=names.index)
    with pytest.raises(GalleryError, match="--only"):
        select(entries, ["no_such_figure"])


def test_missing_gallery_file_is_a_gallery_error(tmp_path: Path) -> None:
    with pytest.raises(GalleryError, match="no such file"):
        load_gallery(tmp_path / "missing.toml")


def test_parallel_and_serial_builds_give_the_same_bytes(tmp_path: Path) -> None:
    toml = write_gallery(
        tmp_path / "g.toml",
        [("a", "input_size = 3, kernel_size = 2"), ("b", "input_size = 2, transposed = true")],
    )
    entries = load_gallery(toml)
    digests = []
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        results = list(build_gallery(entries, out, jobs=jobs))
        assert all(r.ok for r in results)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()})
    assert digests[0] == digests[1]
    with Image.open(tmp_path / "out1" / "b.gif") as image:
        assert image.n_frames == ConvSpec(input_size=2, transposed=True).step_count


def test_cli_gallery_reports_and_exits_non_zero_on_a_bad_entry(tmp_path: Path) -> None:
    toml = write_gallery(
        tmp_path / "g.toml", [("good", "input_size = 3"), ("bad", "input_size = 0")]
    )
    result = CliRunner().invoke(
        cli, ["gallery", "--gallery", str(toml), "--out", str(tmp_path / "out"), "--jobs", "1"]
    )
    assert result.exit_code == 1
    assert "bad" in result.output and "--input-size" in result.output
    assert re.search(r"^1 figures, 1 frames, \d+ bytes, [\d.]+ s, 1 failed$", result.output, re.M)
    assert (tmp_path / "out" / "good.gif").exists()


def test_cli_gallery_list_and_only(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["gallery", "--list"])
    assert listed.exit_code == 0
    assert [line.split("\t")[0] for line in listed.output.splitlines()] == [
        e.name for e in load_gallery()
    ]
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["gallery", "--only", "no_padding_no_strides", "--out", str(out), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "no_padding_no_strides.gif"]
    unknown = runner.invoke(cli, ["gallery", "--only", "nope", "--out", str(out)])
    assert unknown.exit_code == 2
    assert "--only" in unknown.output


def test_default_gallery_path_is_in_templates() -> None:
    assert default_gallery_path().parent.name == "templates"
    assert default_gallery_path().exists()


# -- the manifest: figures already current are not drawn again ---------------------------
def _run(tmp_path: Path, toml: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["gallery", "--gallery", str(toml), "--out", str(tmp_path / "out"), "--jobs", "1"]
    result = CliRunner().invoke(cli, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result


def _lines(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(line.split(": ", 1) for line in result.output.splitlines() if ": " in line)


def test_a_second_gallery_run_keeps_current_figures_and_the_same_bytes(tmp_path: Path) -> None:
    toml = write_gallery(
        tmp_path / "g.toml", [("a", "input_size = 3, kernel_size = 2"), ("b", "input_size = 4")]
    )
    out = tmp_path / "out"
    first = _run(tmp_path, toml)
    assert "current" not in first.output
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert MANIFEST_NAME in files
    second = _run(tmp_path, toml)
    assert all(line.endswith("(current)") for line in _lines(second).values())
    assert "2 already current" in second.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files  # manifest included
    forced = _run(tmp_path, toml, "--force")
    assert "current" not in forced.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files


def test_a_changed_entry_or_file_is_rendered_again(tmp_path: Path) -> None:
    toml = write_gallery(
        tmp_path / "g.toml", [("a", "input_size = 3, kernel_size = 2"), ("b", "input_size = 4")]
    )
    out = tmp_path / "out"
    _run(tmp_path, toml)
    write_gallery(toml, [("a", "input_size = 3, kernel_size = 2"), ("b", "input_size = 5")])
    lines = _lines(_run(tmp_path, toml))
    assert lines["a"].endswith("(current)") and not lines["b"].endswith("(current)")
    with Image.open(out / "b.gif") as image:
        assert image.n_frames == ConvSpec(input_size=5).step_count
    (out / "a.gif").write_bytes(b"GIF89a changed by hand")
    (out / "b.gif").unlink()
    lines = _lines(_run(tmp_path, toml))
    assert not lines["a"].endswith("(current)") and not lines["b"].endswith("(current)")
    with Image.open(out / "a.gif") as image:
        assert image.n_frames == ConvSpec(input_size=3, kernel_size=2).step_count


def test_a_values_file_is_part_of_the_entry(tmp_path: Path) -> None:
    values = tmp_path / "x.csv"
    values.write_text("1,2,3\n4,5,6\n7,8,9\n", encoding="utf-8")
    toml = tmp_path / "g.toml"
    toml.write_text(
        '[[figure]]\nname = "v"\nspec = { input_size = 3, kernel_size = 2 }\n'
        'render = { input_values = "x.csv" }\n',
        encoding="utf-8",
    )
    _run(tmp_path, toml)
    assert _lines(_run(tmp_path, toml))["v"].endswith("(current)")
    values.write_text("1,2,3\n4,5,6\n7,8,0\n", encoding="utf-8")
    assert not _lines(_run(tmp_path, toml))["v"].endswith("(current)")


def test_an_unreadable_manifest_renders_everything(tmp_path: Path) -> None:
    toml = write_gallery(tmp_path / "g.toml", [("a", "input_size = 3, kernel_size = 2")])
    out = tmp_path / "out"
    out.mkdir()
    for text in ("not json", "[]", '{"format": 1, "figures": []}', '{"format": 99}'):
        (out / MANIFEST_NAME).write_text(text, encoding="utf-8")
        assert not _lines(_run(tmp_path, toml))["a"].endswith("(current)")


def test_a_run_that_writes_no_figure_writes_no_manifest(tmp_path: Path) -> None:
    toml = write_gallery(tmp_path / "g.toml", [("bad", "input_size = 0")])
    results = list(build_gallery(load_gallery(toml), tmp_path / "out", jobs=1, reuse=True))
    assert not results[0].ok
    assert list((tmp_path / "out").iterdir()) == []

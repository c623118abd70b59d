"""The Sphinx directive: a tiny project built with the html and latex builders.

The figures a build writes are compared with what ``convgif render`` writes for
the same options (same bytes).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from convgif.cli import cli

sphinx_application = pytest.importorskip(
    "sphinx.application", reason="Sphinx is not installed (pip install -e '.[sphinx]')"
)
from sphinx.util.docutils import docutils_namespace  # noqa: E402 - Sphinx is optional

ANSI = re.compile(r"\x1b\[[0-9;]*m")

PAGE = """\
Figures
=======

.. convgif:: --padding 1 --stride 2
   :alt: A 3x3 kernel over a 5x5 input
   :caption: Padding 1, *stride* 2.

.. convgif:: --input-size 4 --step 2 --theme dark

.. convgif:: --input-size 4 --duration-ms 300
   :latex-step: 1
"""


def build(tmp_path: Path, builder: str, page: str = PAGE) -> tuple[Path, str]:
    """Build ``page`` as index.rst; the output folder and the warnings."""
    source = tmp_path / "source"
    source.mkdir(exist_ok=True)
    (source / "conf.py").write_text('extensions = ["convgif.sphinx"]\nproject = "figures"\n')
    (source / "index.rst").write_text(page)
    output = tmp_path / builder
    warnings = io.StringIO()
    with docutils_namespace():  # each build registers its directives and nodes afresh
        app = sphinx_application.Sphinx(
            str(source),
            str(source),
            str(output),
            str(tmp_path / "doctrees"),
            builder,
            status=None,
            warning=warnings,
            freshenv=True,
        )
        app.build()
    return output, ANSI.sub("", warnings.getvalue())


def rendered(tmp_path: Path, *args: str) -> bytes:
    """What ``convgif render ARGS -o cli-N.SUFFIX`` writes; the last argument is the suffix."""
    target = tmp_path / f"cli-{len(list(tmp_path.glob('cli-*')))}{args[-1]}"
    result = CliRunner().invoke(cli, ["render", *args[:-1], "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_bytes()


def test_html_builds_get_the_animation(tmp_path: Path) -> None:
    output, warnings = build(tmp_path, "html")
    assert warnings == ""
    page = (output / "index.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)" alt="([^"]*)" class="convgif" />', page)
    assert [alt for _, alt in images] == [
        "A 3x3 kernel over a 5x5 input",
        "convgif animation: conv, input 4, kernel 3, padding 0, stride 1, output 2",
        "convgif animation: conv, input 4, kernel 3, padding 0, stride 1, output 2",
    ]
    files = [output / source for source, _ in images]
    assert [f.suffix for f in files] == [".gif", ".png", ".gif"]
    assert files[0].read_bytes() == rendered(tmp_path, "--padding", "1", "--stride", "2", ".gif")
    assert files[1].read_bytes() == rendered(
        tmp_path, "--input-size", "4", "--step", "2", "--theme", "dark", ".png"
    )
    with Image.open(files[2]) as animation:
        assert animation.n_frames == 4 and animation.info["duration"] == 300
    caption = re.search(r"<figcaption>\s*<p>(.*?)</p>\s*</figcaption>", page, re.S)
    assert caption is not None and "Padding 1, <em>stride</em> 2." in caption.group(1)


def test_latex_builds_get_a_still(tmp_path: Path) -> None:
    output, warnings = build(tmp_path, "latex")
    assert warnings == ""
    tex = (output / "figures.tex").read_text(encoding="utf-8")
    included = re.findall(r"\\sphinxincludegraphics\[\]\{\{([^}]+)\}\.pdf\}", tex)
    assert len(included) == 3
    stills = [(output / f"{name}.pdf").read_bytes() for name in included]
    # The middle step unless --step or :latex-step: says which.
    assert stills[0] == rendered(tmp_path, "--padding", "1", "--stride", "2", "--step", "4", ".pdf")
    assert stills[1] == rendered(
        tmp_path, "--input-size", "4", "--step", "2", "--theme", "dark", ".pdf"
    )
    assert stills[2] == rendered(tmp_path, "--input-size", "4", "--step", "1", ".pdf")
    assert re.search(r"\\caption\{Padding 1, \\sphinxstyleemphasis\{stride\} 2\.\}", tex)


def test_files_in_the_options_are_found_next_to_the_page(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "values.csv").write_text("1,2,0\n0,1,3\n2,2,1\n")
    page = (
        "Values\n======\n\n.. convgif:: --input-size 3 --kernel-size 2 --input-values values.csv\n"
    )
    output, warnings = build(tmp_path, "html", page)
    assert warnings == ""
    (source_name,) = re.findall(r'<img src="([^"]+)"', (output / "index.html").read_text())
    inline = ("--input-size", "3", "--kernel-size", "2", "--input-values", "1,2,0;0,1,3;2,2,1")
    assert (output / source_name).read_bytes() == rendered(tmp_path, *inline, ".gif")


def test_text_builds_get_the_alt_text(tmp_path: Path) -> None:
    output, warnings = build(tmp_path, "text")
    assert warnings == ""
    assert "[A 3x3 kernel over a 5x5 input]" in (output / "index.txt").read_text()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (".. convgif:: --strid 2", "convgif: No such option '--strid'"),
        (".. convgif:: --stride x --input-size", "convgif: Option '--input-size' requires"),
        (".. convgif:: -o fig.gif", "convgif: --output: the build names the file; leave it out"),
        (".. convgif:: --frames d", "convgif: --frames: the build names the file"),
        (".. convgif:: --stride 0", "convgif: --stride: must be at least 1, got 0"),
        (".. convgif:: --mode max --flip", "convgif: --flip: "),
        (".. convgif:: --padding '1", "convgif: cannot read the options"),
    ],
)
def test_bad_options_are_reported_where_they_are(tmp_path: Path, line: str, message: str) -> None:
    page = f"Figures\n=======\n\nText.\n\n{line}\n"
    output, warnings = build(tmp_path, "html", page)
    assert re.search(rf"index\.rst:6: (ERROR|WARNING): {re.escape(message)}", warnings), warnings
    assert "Traceback" not in warnings
    assert not (output / "_images").exists() or not any((output / "_images").iterdir())

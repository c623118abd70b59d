"""Sphinx: the ``convgif`` directive, which renders a figure at build time.

In ``conf.py``: ``extensions = ["convgif.sphinx"]``; in a page::

    .. convgif:: --padding 1 --stride 2
       :alt: A 3x3 kernel over a 5x5 input, padding 1, stride 2
       :caption: Padding 1, stride 2.

The argument is the ``convgif render`` options as on the command line, parsed
by the ``render`` command itself (every option, the same errors), less
``--output`` and ``--frames``, which the build chooses. HTML builders get the
animation (a GIF; a PNG with ``--step``); LaTeX builders a still PDF of one
step: ``--step`` when given, else the ``:latex-step:`` option, else the middle
step. Other builders write the alt text. Files the options name (``--theme
FILE``, ``--input-values FILE``) are found next to the page, and the page is
rebuilt when they change. Figures are written once per build folder, named by
a hash of their options, the files they name and convgif's version.

Sphinx is an optional extra (``pip install convgif[sphinx]``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shlex
from pathlib import Path
from typing import Any

import click
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from convgif.errors import ConvgifError

logger = logging.getLogger(__name__)

_BUILD_CHOOSES = ("output", "frames_dir")  # the build names the file


# Lower case, as docutils names its node classes.
class convgif_figure(nodes.General, nodes.Element):
    """A figure to render when the document is written: its arguments, alt and still step."""


def _parse(arguments: list[str]) -> click.Context:
    """The ``render`` command's own parse of ``arguments`` (raises click's errors)."""
    from convgif.cli import render

    return render.make_context("convgif render", list(arguments))


def _files(arguments: list[str], folder: Path) -> list[Path]:
    """The arguments that name files in ``folder`` (a theme, values): their paths."""
    found = []
    for argument in arguments:
        if argument.startswith("-"):
            continue
        path = folder / argument
        with contextlib.suppress(OSError):
            if path.is_file():
                found.append(path)
    return found


def _middle_step(context: click.Context) -> int:
    """The middle step of the figure: of its view (scatter steps through the input)."""
    from convgif.api import step_count
    from convgif.cli import build_spec

    params = dict(context.params)
    spec = build_spec(params)
    return step_count(spec, params["view"], params["separable"]) // 2


class ConvgifDirective(SphinxDirective):
    """``.. convgif:: OPTIONS`` with ``:alt:``, ``:caption:`` and ``:latex-step:``."""

    has_content = False
    required_arguments = 0
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = {  # noqa: RUF012 - docutils reads this class attribute
        "alt": directives.unchanged,
        "caption": directives.unchanged,
        "latex-step": directives.nonnegative_int,
    }

    def run(self) -> list[nodes.Node]:
        try:
            arguments = shlex.split(self.arguments[0] if self.arguments else "")
        except ValueError as error:
            raise self.error(f"convgif: cannot read the options: {error}") from None
        if {"-h", "--help"} & set(arguments):  # refused before click prints the help
            raise self.error("convgif: --help has no place in a document")
        try:
            context = _parse(arguments)
        except click.exceptions.Exit:
            raise self.error("convgif: --help has no place in a document") from None
        except click.ClickException as error:
            raise self.error(f"convgif: {error.format_message()}") from None
        for name in _BUILD_CHOOSES:
            if context.params.get(name) is not None:
                option = "--output" if name == "output" else "--frames"
                raise self.error(f"convgif: {option}: the build names the file; leave it out")
        folder = Path(self.env.doc2path(self.env.docname)).parent
        for path in _files(arguments, folder):
            self.env.note_dependency(str(path))  # the page is rebuilt when the file changes
        node = convgif_figure()
        node["arguments"] = arguments
        node["folder"] = str(folder)
        node["alt"] = self.options.get("alt")
        node["latex_step"] = self.options.get("latex-step")
        self.set_source_info(node)
        caption = self.options.get("caption")
        if not caption:
            return [node]
        figure = nodes.figure("", node)
        inline, messages = self.parse_inline(caption, lineno=self.lineno)
        caption_node = nodes.caption(caption, "", *inline)
        caption_node.extend(messages)
        self.set_source_info(caption_node)
        figure += caption_node
        return [figure]


def _render(node: convgif_figure, folder: Path, still: bool) -> tuple[Path, str]:
    """Render ``node``'s figure into ``folder``; return the file and its alt text.

    ``still``: one step as a PDF (for LaTeX), unless the arguments ask for a step.

    Raises
    ------
    ConvgifError, click.ClickException
        The command line's errors.
    """
    from convgif import __version__
    from convgif.cli import build_spec, render

    arguments = list(node["arguments"])
    source = Path(node["folder"])
    context = _parse(arguments)
    asked_step = context.params.get("step") is not None
    if asked_step:
        suffix = ".pdf" if still else ".png"
    elif still:
        step = node["latex_step"] if node["latex_step"] is not None else _middle_step(context)
        arguments += ["--step", str(step)]
        suffix = ".pdf"
    else:
        suffix = ".gif"
    key = hashlib.sha256("\0".join([__version__, *arguments, suffix]).encode())
    for path in _files(arguments, source):
        key.update(path.read_bytes())
    target = folder / f"convgif-{key.hexdigest()[:16]}{suffix}"
    alt = node["alt"] or f"convgif animation: {build_spec(dict(context.params)).parameters_text()}"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        context = _parse([*arguments, "--output", str(target.resolve())])
        # Files named in the options are found next to the page, as images are.
        with contextlib.chdir(source), context, contextlib.redirect_stdout(io.StringIO()):
            render.invoke(context)  # (it prints the path written)
    return target, alt


def _report(translator: Any, node: convgif_figure, error: Exception) -> None:
    message = error.format_message() if isinstance(error, click.ClickException) else str(error)
    logger.warning("convgif: %s", message, location=node)


def _visit_html(translator: Any, node: convgif_figure) -> None:
    builder = translator.builder
    try:
        target, alt = _render(node, Path(builder.outdir) / builder.imagedir, still=False)
    except (ConvgifError, click.ClickException) as error:
        _report(translator, node, error)
        raise nodes.SkipNode from None
    source = f"{builder.imgpath}/{target.name}"
    translator.body.append(
        f'<img src="{translator.attval(source)}" alt="{translator.attval(alt)}" '
        f'class="convgif" />\n'
    )
    raise nodes.SkipNode


def _visit_latex(translator: Any, node: convgif_figure) -> None:
    try:
        target, _ = _render(node, Path(translator.builder.outdir), still=True)
    except (ConvgifError, click.ClickException) as error:
        _report(translator, node, error)
        raise nodes.SkipNode from None
    translator.body.append(f"\n\\sphinxincludegraphics[]{{{{{target.stem}}}{target.suffix}}}\n")
    raise nodes.SkipNode


def _visit_alt_text(translator: Any, node: convgif_figure) -> None:
    if node["alt"]:
        translator.add_text(f"[{node['alt']}]")
    raise nodes.SkipNode


def _skip(translator: Any, node: convgif_figure) -> None:
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive (Sphinx calls this for ``extensions = ["convgif.sphinx"]``)."""
    from convgif import __version__

    app.add_node(
        convgif_figure,
        html=(_visit_html, None),
        latex=(_visit_latex, None),
        text=(_visit_alt_text, None),
        man=(_skip, None),
        texinfo=(_skip, None),
    )
    app.add_directive("convgif", ConvgifDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}

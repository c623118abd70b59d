"""The ``convgif`` command line: parse, call one function, report.

Errors are one line on stderr (``convgif: error: ...``), exit status 2 for bad
input, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from convgif.spec import DEFAULTS, MODES, ConvSpec, SpecError

F = Callable[..., Any]


class ConvgifGroup(click.Group):
    """A group whose errors are a single line and exit status 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as error:
            click.echo(f"convgif: error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except SpecError as error:
            click.echo(f"convgif: error: {error}", err=True)
            sys.exit(2)
        except (click.Abort, KeyboardInterrupt):
            click.echo("convgif: interrupted", err=True)
            sys.exit(130)


def spec_options(command: F) -> F:
    """The options that define a :class:`ConvSpec`, shared by every command."""
    options = [
        click.option(
            "--input-size",
            default=str(DEFAULTS["input_size"]),
            show_default=True,
            metavar="N|HxW",
            help="Input size (a transposed convolution's own input).",
        ),
        click.option(
            "--kernel-size",
            default=str(DEFAULTS["kernel_size"]),
            show_default=True,
            metavar="N|HxW",
            help="Kernel (or pooling window) size.",
        ),
        click.option(
            "--padding",
            default=str(DEFAULTS["padding"]),
            show_default=True,
            metavar="N|HxW|T,B,L,R|NAME",
            help="Zero padding: a number, per axis, per side, or valid, same, full.",
        ),
        click.option(
            "--stride",
            default=str(DEFAULTS["stride"]),
            show_default=True,
            metavar="N|HxW",
            help="Stride.",
        ),
        click.option(
            "--dilation",
            default=str(DEFAULTS["dilation"]),
            show_default=True,
            metavar="N|HxW",
            help="Dilation (spacing of the kernel taps).",
        ),
        click.option(
            "--transposed/--direct",
            default=False,
            show_default=True,
            help="A transposed convolution (conv_transpose2d).",
        ),
        click.option(
            "--output-padding",
            default=str(DEFAULTS["output_padding"]),
            show_default=True,
            metavar="N|HxW",
            help="Extra output rows/columns at the bottom/right (transposed only).",
        ),
        click.option(
            "--mode",
            type=click.Choice(MODES),
            default="conv",
            show_default=True,
            help="Convolution, or max / average pooling (padding counts as zeros "
            "in the average, PyTorch's count_include_pad=True).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_spec(options: dict[str, Any]) -> ConvSpec:
    """Make the spec from the parsed options (and pop them from ``options``)."""
    return ConvSpec(
        input_size=options.pop("input_size"),
        kernel_size=options.pop("kernel_size"),
        padding=options.pop("padding"),
        stride=options.pop("stride"),
        dilation=options.pop("dilation"),
        transposed=options.pop("transposed"),
        output_padding=options.pop("output_padding"),
        mode=options.pop("mode"),
    )


@click.group(cls=ConvgifGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="convgif")
def cli() -> None:
    """Animated figures of convolution arithmetic (after Dumoulin & Visin, arXiv:1603.07285)."""


@cli.command()
@spec_options
@click.option("--json", "as_json", is_flag=True, help="Print every step as one JSON object.")
def geometry(as_json: bool, **options: Any) -> None:
    """Print the output size, the drawn grid and every step of a convolution."""
    from convgif.geometry import Geometry

    layout = Geometry(build_spec(options))
    if as_json:
        click.echo(json.dumps(layout.to_dict(), separators=(",", ":")))
        return
    click.echo(layout.spec.describe())
    for row in layout.cell_kinds():
        click.echo("  " + " ".join(kind.letter for kind in row))
    click.echo("(i input, p padding, z inserted zero)")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="convgif")

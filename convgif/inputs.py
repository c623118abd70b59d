"""Reading the user's files, and quoting the user's input in messages.

Every file convgif reads for the user (a gallery, a theme, a ``.csv`` or
``.npy`` of values) goes through :func:`read_file`: a regular file only (a
device, a FIFO or a directory could block or never end) and at most a given
size. A message quotes the user's input through :func:`excerpt` or
:func:`shown`: short and escaped, so an error never prints more than a few
characters of a file, nor a second line.

Pure Python: no numpy, no matplotlib.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from convgif.errors import ConvgifError

EXCERPT_CHARS = 40
PATH_CHARS = 240  # a path the user gave is shown whole up to this length
MAX_TEXT_BYTES = 1 << 20  # a gallery or theme TOML: hundreds of figures fit in a few kB
MAX_VALUES_BYTES = 32 << 20  # a .csv or .npy of values: a million values fit in ~13 MB of text


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``value``, escaped and quoted, ``…`` when cut.

    >>> excerpt("root:x:0:0:root:/root:/bin/bash", 10)
    "'root:x:0:' …"
    """
    if isinstance(value, str):
        cut = len(value) > limit
        return repr(value[:limit]) + (" …" if cut else "")
    text = repr(value)
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def shown(text: object, limit: int = EXCERPT_CHARS) -> str:
    """``text`` as it is when short and printable (a key, a name, a path), else :func:`excerpt`."""
    plain = str(text)
    if len(plain) <= limit and plain.isprintable():
        return plain
    return excerpt(plain, limit)


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path the user gave, whole up to :data:`PATH_CHARS` when printable, else :func:`excerpt`."""
    return shown(os.fspath(path), PATH_CHARS)


def read_file(
    path: str | os.PathLike[str],
    option: str,
    max_bytes: int,
    error: type[ConvgifError] = ConvgifError,
) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    Parameters
    ----------
    path
        The file.
    option
        The option the file was given by, first in every message (``--gallery``).
    max_bytes
        The largest size read.
    error
        The :class:`ConvgifError` subclass raised.

    Raises
    ------
    ConvgifError
        (``error``) Missing, not a regular file, larger than ``max_bytes``, or
        unreadable; one line starting with ``option``.
    """
    name = shown_path(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would wait for a writer.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{option}: no such file: {name}") from None
    except (OSError, ValueError) as failure:  # ValueError: a NUL in the path
        reason = (failure.strerror if isinstance(failure, OSError) else None) or str(failure)
        raise error(f"{option}: cannot read {name}: {reason}") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{option}: {name} is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise error(f"{option}: {name} is not a regular file")
        file = open(descriptor, "rb")  # noqa: SIM115 - owns (and closes) the descriptor now
    except BaseException:
        os.close(descriptor)
        raise
    with file:
        try:
            data = file.read(max_bytes + 1)
        except OSError as failure:
            raise error(f"{option}: cannot read {name}: {failure.strerror}") from None
    if len(data) > max_bytes:
        raise error(f"{option}: {name} is larger than {max_bytes} bytes, the most read")
    return data


def read_text(
    path: str | os.PathLike[str],
    option: str,
    max_bytes: int = MAX_TEXT_BYTES,
    error: type[ConvgifError] = ConvgifError,
    encoding: str = "utf-8",
) -> str:
    """:func:`read_file` decoded as UTF-8 (``utf-8`` or ``utf-8-sig``); bad bytes are ``error``."""
    data = read_file(path, option, max_bytes, error)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as failure:
        raise error(
            f"{option}: {shown_path(path)} is not UTF-8 text (byte {failure.start})"
        ) from None


def is_inside(path: Path, folder: Path) -> bool:
    """True when ``path``, symbolic links followed, is ``folder`` or under it."""
    return path.resolve().is_relative_to(folder.resolve())

"""Timing helpers for the benchmarks: child processes with their own peak memory, medians.

Every child is a fresh interpreter, so its wall time includes start-up. Its
peak resident memory is ``ru_maxrss`` from :func:`os.wait4` on that child
alone (``RUSAGE_CHILDREN`` would give the largest child so far). The child is
started by a small launcher process, not by the benchmark itself: Linux keeps
the high-water mark of the memory a process had before ``exec``, so a child
forked from the benchmark (which holds matplotlib and frames) would report at
least the benchmark's own size.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The original figures, beside the repository (or beside the folder of worktrees).
ANCHOR_DIR = next(
    (
        folder / "shared" / "anchor-gallery"
        for folder in (REPO.parent, REPO.parent.parent)
        if (folder / "shared" / "anchor-gallery").is_dir()
    ),
    REPO.parent / "shared" / "anchor-gallery",
)
PYTHON = sys.executable


def convgif_command() -> list[str]:
    """The installed ``convgif`` script next to this Python, else ``python -m convgif``."""
    script = Path(PYTHON).parent / "convgif"
    return [str(script)] if script.exists() else [PYTHON, "-m", "convgif"]


@dataclass(frozen=True)
class Child:
    """One finished child process."""

    wall_s: float
    ended_at: float  # time.time() once the child was reaped
    cpu_s: float  # user + system, the child and the descendants it waited for
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


# Runs argv[2:], times it, reaps it with wait4 and writes the numbers to argv[1].
# It imports little, so its own memory (the floor of the child's) stays small.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
wall_s = time.perf_counter() - started
process.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    json.dump({"wall_s": wall_s, "ended_at": time.time(), "cpu_s": usage.ru_utime + usage.ru_stime,
               "maxrss_kb": usage.ru_maxrss, "returncode": process.returncode}, out)
"""


def run_child(args: Sequence[str], cwd: Path = REPO) -> Child:
    """Run a command to completion; its wall time (without the launcher's) and peak memory."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        numbers = Path(scratch) / "numbers.json"
        launcher = [PYTHON, "-S", "-c", _LAUNCHER, str(numbers), *args]
        status = subprocess.run(launcher, stdout=out, stderr=err, cwd=cwd).returncode
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode(errors="replace") for f in (out, err))
        if status != 0 or not numbers.exists():
            raise RuntimeError(f"launcher failed for {list(args)}: {stderr.strip()[-2000:]}")
        result = json.loads(numbers.read_text())
        return Child(
            wall_s=result["wall_s"],
            ended_at=result["ended_at"],
            cpu_s=result["cpu_s"],
            peak_rss_mb=result["maxrss_kb"] / 1024.0,  # kilobytes on Linux
            returncode=result["returncode"],
            stdout=stdout,
            stderr=stderr,
        )


def run_python(code: str, *args: str) -> Child:
    """Run ``python -c code args...`` in a fresh interpreter; fail loudly on error."""
    child = run_child([PYTHON, "-c", code, *args])
    if child.returncode != 0:
        raise RuntimeError(f"child failed ({child.returncode}): {child.stderr.strip()[-2000:]}")
    return child


def median(values: Sequence[float]) -> float:
    """The median (the benchmarks quote medians of repeated runs)."""
    return statistics.median(values)


def timed(function: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def progress(message: str) -> None:
    """A progress line on stderr (stdout carries only the report)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)

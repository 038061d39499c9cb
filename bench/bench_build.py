"""Book build times: a clean build and a cached rebuild after a prose-only edit, in one run.

    python bench/bench_build.py            # writes bench/results/build.md and build.json

The benchmark works on a temporary copy of the repository, so the real _build/ and the real
sources are never touched:

1. clean build: the copy has no _build/, so every notebook is executed (empty jupyter cache);
2. a prose-only edit: one sentence is appended to a paragraph of a chapter (no code cell changes);
3. cached rebuild: Sphinx re-reads the edited page, the jupyter cache serves every notebook.
   Steps 2-3 are repeated (--cached-repeats, default 3) and the median is reported, because the
   course machine is shared and a single short timing is noisy.

Both builds run the project's strict build command (scripts/build_book.py). The per-notebook
execution times come from the jupyter cache of the clean build. Goals on the 2-core course
machine: clean build under 5 minutes, cached rebuild under 20 seconds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOAL_CLEAN_S = 300.0
GOAL_CACHED_S = 20.0
# Large or generated folders the build does not read; node_modules is linked, not copied.
SKIP = {".git", ".venv", "_build", "node_modules", ".pytest_cache", ".ruff_cache", "test-artifacts",
        "__pycache__", "release", "autograded", "feedback", "submitted"}
EDIT_PAGE = "book/03_lstm.md"
EDIT_ANCHOR = "A step by hand"
EDIT_SENTENCE = " (This sentence was added by bench/bench_build.py to time a prose-only rebuild {n}.)"


def copy_repo(dest: Path) -> None:
    shutil.copytree(ROOT, dest, ignore=lambda d, names: [n for n in names if n in SKIP], symlinks=True)
    if (ROOT / "node_modules").is_dir():
        (dest / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)


def build(repo: Path, log: Path) -> float:
    """Run the strict build in `repo`; return wall-clock seconds; raise if it fails."""
    t0 = time.perf_counter()
    with log.open("w") as fh:
        rc = subprocess.call([sys.executable, str(repo / "scripts" / "build_book.py")], cwd=repo,
                             stdout=fh, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - t0
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"book build failed (exit {rc}) in {repo}; last lines of {log}:\n{tail}")
    return elapsed


def prose_edit(repo: Path, n: int) -> str:
    """Append sentence n to the first paragraph after a heading: text only, no code cell changes."""
    page = repo / EDIT_PAGE
    lines = page.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and EDIT_ANCHOR in line)
    para = next(i for i in range(start + 1, len(lines)) if lines[i].strip())
    end = para
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    sentence = EDIT_SENTENCE.format(n=n)
    lines[end] = lines[end].rstrip("\n") + sentence + "\n"
    page.write_text("".join(lines))
    return sentence.strip()


def notebook_times(repo: Path) -> dict[str, float]:
    """Execution seconds per notebook, from the jupyter cache of the build."""
    try:
        from jupyter_cache import get_cache
    except ImportError:
        return {}
    cache = get_cache(repo / "_build" / ".jupyter_cache")
    times = {}
    for record in cache.list_project_records():
        cached = cache.get_cached_project_nb(record.uri)
        if cached is not None:
            seconds = cached.data.get("execution_seconds")
            if seconds is not None:
                times[str(Path(record.uri).relative_to(repo))] = float(seconds)
    return dict(sorted(times.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy (prints its path)")
    parser.add_argument("--cached-repeats", type=int, default=3,
                        help="prose edits and cached rebuilds to time (the median is reported)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_build_"))
    repo = tmp / "repo"
    try:
        copy_repo(repo)
        print(f"building a copy of the repository in {repo}", flush=True)
        clean = build(repo, tmp / "clean.log")
        print(f"clean build: {clean:.1f} s", flush=True)
        per_notebook = notebook_times(repo)
        built = (repo / "_build" / "html" / EDIT_PAGE).with_suffix(".html")
        cached_runs, reexecuted = [], set()
        for n in range(1, args.cached_repeats + 1):
            sentence = prose_edit(repo, n)
            log = tmp / f"cached{n}.log"
            cached_runs.append(build(repo, log))
            print(f"cached rebuild {n} after a prose-only edit: {cached_runs[-1]:.1f} s", flush=True)
            if sentence not in built.read_text():
                raise RuntimeError(f"the edit did not reach {built}: the rebuild did not rebuild")
            reexecuted |= set(re.findall(r"(\S+\.(?:md|ipynb)): Executing notebook",
                                         log.read_text(errors="replace")))
        cached = statistics.median(cached_runs)
        reexecuted = sorted(reexecuted)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        ["clean build (empty cache, every notebook executed)", round(clean, 1), GOAL_CLEAN_S,
         "yes" if clean < GOAL_CLEAN_S else "NO"],
        [f"cached rebuild after a prose-only edit of {EDIT_PAGE} (median of {len(cached_runs)})",
         round(cached, 1), GOAL_CACHED_S, "yes" if cached < GOAL_CACHED_S else "NO"],
    ]
    nb_lines = "\n".join(f"| {nb} | {s:.1f} |" for nb, s in per_notebook.items())
    notes = (
        "Both builds run `python scripts/build_book.py` (jupyter-book build -n -W --keep-going plus the "
        "offline check) in a temporary copy of the repository, one after the other in the same run.\n"
        f"Cached rebuilds, each after its own prose edit: {', '.join(f'{t:.1f}' for t in cached_runs)} s. "
        f"Notebooks they re-executed: {', '.join(reexecuted) or 'none'}.\n"
        f"Machine load (1-minute load average) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        "other work on the machine slows both builds.\n\n"
        "Execution time per notebook in the clean build (from the jupyter cache):\n\n"
        "| notebook | seconds |\n|---|---|\n" + nb_lines
    )
    write_results("build", "Book build times", ["build", "seconds", "goal (s)", "met"], rows, notes,
                  extra={"clean_s": clean, "cached_s": cached, "cached_runs_s": cached_runs,
                         "notebook_seconds": per_notebook, "cached_reexecuted": reexecuted})
    return 0 if clean < GOAL_CLEAN_S and cached < GOAL_CACHED_S and not reexecuted else 1


if __name__ == "__main__":
    sys.exit(main())

"""Fair grades on the project's bug corpus (tests/bug_corpus): three figures.

    python bench/bench_bug_corpus.py

For every buggy submission (the instructor's notebook with one function replaced by a realistic
bug), grade it and count
- bugs caught: the bugged function loses points;
- isolation: no other (correct) function loses any point;
- hints on target: the feedback names the expected catalogue mistake.
Writes bench/results/bug_corpus.md and bug_corpus.json (one row per bug).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402

from autograder import Limits, grade  # noqa: E402

_spec = importlib.util.spec_from_file_location("bug_corpus", REPO / "tests" / "bug_corpus" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["bug_corpus"] = corpus
_spec.loader.exec_module(corpus)


def main() -> dict:
    from tqdm import tqdm

    bugs = corpus.load()
    rows, figures = [], {"caught": 0, "isolated": 0, "on_target": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for bug in tqdm(bugs, desc="bug corpus", unit="bug"):
            nb = corpus.build_notebook(bug, Path(tmp) / bug.assignment / bug.bug_id)
            try:
                m = corpus.measure(bug, grade(nb, bug.assignment, limits=Limits(timeout_s=3.0)))
            except Exception as e:  # noqa: BLE001 - a grader crash is a row of the table, not the end
                m = {"bug": bug.name, "function": bug.function, "score": float("nan"),
                     "max_score": float("nan"), "caught": False, "isolated": False,
                     "on_target": False, "expected": bug.mistake,
                     "named": [f"grader error: {type(e).__name__}: {e}"[:120]], "charged": {}}
            for k in figures:
                figures[k] += bool(m[k])
            rows.append([m["bug"], m["function"], f"{m['score']:g}/{m['max_score']:g}",
                         "yes" if m["caught"] else "NO",
                         "yes" if m["isolated"] else "charged: " + ", ".join(m["charged"]),
                         m["expected"], ", ".join(m["named"]) or "-"])
    n = len(bugs)
    summary = (f"bugs caught {figures['caught']}/{n}; isolation (no correct function charged) "
               f"{figures['isolated']}/{n}; hints on target {figures['on_target']}/{n}")
    write_results("bug_corpus", "Fair grades on the bug corpus",
                  ["bug", "function", "score", "caught", "isolated", "expected mistake", "named"],
                  rows, notes=summary, extra={"figures": figures, "n": n})
    return figures


if __name__ == "__main__":
    main()

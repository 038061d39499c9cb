"""Run every benchmark in turn; each writes its table to bench/results/.

Usage: python bench/run_all.py [NAME ...]   (names: references demos grading class_insight build)

The build benchmark does a clean book build in a temporary copy (a few minutes); the grading
benchmark runs stock nbgrader for comparison. Neither is part of the test suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["references", "demos", "grading", "class_insight", "build"]


def main(argv: list[str]) -> int:
    names = argv or ORDER
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"=== bench_{name}", flush=True)
        if subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")]) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

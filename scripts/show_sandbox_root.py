"""Print what a grading worker can see: its identity, a listing of its root file system (as the
worker's own uid, from inside a worker), the host folders bound into it and the processes it sees.

    python scripts/show_sandbox_root.py [--depth 3]

Run as root for the full sandbox (without root it prints the host's files and says which
protections are missing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.sandbox import show_root  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=3, help="levels of folders to list")
    print(show_root(ap.parse_args().depth))

"""Print what a grading worker can see: its identity, a listing of its root file system (as the
worker's own uid, from inside a worker), the host folders bound into it and the processes it sees.

    python scripts/show_sandbox_root.py [--depth 3] [--tree]

--tree: the whole tree of that root as the host's root user sees it (folders made for it, bound
folders as one line each); the workers see the same plus their own /tmp and /proc.

Run as root for the full sandbox (without root it prints the host's files and says which
protections are missing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.sandbox import root_tree, show_root  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=3, help="levels of folders to list")
    ap.add_argument("--tree", action="store_true", help="the root's whole tree, seen by the host")
    args = ap.parse_args()
    print(root_tree() if args.tree else show_root(args.depth))

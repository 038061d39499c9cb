"""Worker identities that never collide (issue 12, item 2): two `grade` processes and a batch on a
two-process local Dask cluster, all at once on one host, on slow correct notebooks. Every grade
must be full, and no two live workers may ever share a uid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder.batch import run_batch
from autograder.sandbox import UIDS
from autograder.synth import function_sources, student_notebook

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
RNN = MANIFEST["01_rnn"]["functions"]
FULL = float(sum(RNN.values()))

GRADER = """
import json, sys
from autograder import grade
print(json.dumps([grade(nb, "01_rnn")["score"] for nb in sys.argv[1:]]))
"""


def slow_correct(path: Path) -> Path:
    """A correct notebook whose every graded function sleeps 20 ms per call."""
    slow = {}
    for name, src in function_sources(list(RNN)).items():
        if name in RNN:
            head, rest = src.split("\n", 1)
            slow[name] = f"import time\n{head}\n    time.sleep(0.02)\n{rest}"
    return student_notebook(path, RNN, overrides=slow)


def _worker_uids() -> list[int]:
    """Real uids of the live processes whose uid is in the workers' range."""
    uids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path(f"/proc/{name}/status").read_text()
            except OSError:
                continue
            uid = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("Uid:")))
            if UIDS[0] <= uid < UIDS[0] + UIDS[1]:
                uids.append(uid)
    return uids


@pytest.mark.slow
def test_two_graders_and_a_dask_cluster_side_by_side(tmp_path):
    distributed = pytest.importorskip("distributed")
    course = tmp_path / "course"
    student_notebook(course / "source" / "01_rnn" / "01_rnn.ipynb", RNN)
    (course / "manifest.json").write_text(json.dumps({"01_rnn": MANIFEST["01_rnn"]}))
    for k in range(4):
        slow_correct(course / "submitted" / f"s{k}" / "01_rnn" / "01_rnn.ipynb")
    solo = [slow_correct(tmp_path / f"solo{k}" / "01_rnn.ipynb") for k in range(4)]

    # Sample the host's workers all along: a worker is one process (no fork), so two live
    # processes under one uid would be two workers sharing an identity.
    shared: list = []
    most = [0]                  # the most workers seen alive at once (the watch saw something)
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            uids = _worker_uids()
            most[0] = max(most[0], len(uids))
            if len(uids) != len(set(uids)):
                shared.append(sorted(uids))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        watcher.start()
        graders = [subprocess.Popen([sys.executable, "-c", GRADER, *map(str, solo[k::2])],
                                    cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
                   for k in range(2)]
        summary = run_batch(course, "01_rnn", scheduler=cluster.scheduler_address,
                            progress=False)
        outs = [g.communicate(timeout=300)[0] for g in graders]
    stop.set()
    watcher.join()
    assert all(g.returncode == 0 for g in graders)
    assert [json.loads(o) for o in outs] == [[FULL, FULL], [FULL, FULL]]
    assert summary["scores"] == {f"s{k}": FULL for k in range(4)}
    if os.geteuid() == 0:
        assert not shared, f"two live workers shared a uid: {shared[:3]}"
        assert most[0] >= 2, "never saw two workers alive at once: nothing ran side by side"

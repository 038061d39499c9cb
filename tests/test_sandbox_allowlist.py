"""The allowlist sandbox (issue 12, item 1): a worker sees a root built for it and nothing else of
the host. Each test tries to break one protection from inside a graded function, and checks the
same attempt succeeds with the sandbox off, so the test can tell a leak from a broken probe."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from autograder import Limits, grade
from autograder.judge import get_assignment, grade_notebook
from autograder.sandbox import Zygote, default_hidden_paths
from autograder.synth import function_sources, student_notebook

REPO = Path(__file__).resolve().parent.parent
RNN = json.loads((REPO / "exercises" / "manifest.json").read_text())["01_rnn"]["functions"]
FULL = float(sum(RNN.values()))
FAST = Limits(timeout_s=2.0, load_timeout_s=5.0, cpu_s=2, memory_mb=400)
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="the allowlist root needs root (namespaces)")


@pytest.fixture(scope="module")
def planted():
    """Readable copies of what a worker must never see, outside the repository: the references
    under /opt and /srv, the hidden tests, and another student's submission (all world-readable)."""
    tag = f"ag-test-{uuid.uuid4().hex[:8]}"
    dirs = [Path("/opt") / tag, Path("/srv") / tag]
    for d in dirs:
        shutil.copytree(REPO / "solutions", d / "solutions",
                        ignore=shutil.ignore_patterns("__pycache__"))
    hidden = dirs[1] / "autograder" / "hidden" / "01_rnn.py"
    hidden.parent.mkdir(parents=True)
    shutil.copy(REPO / "autograder" / "hidden" / "01_rnn.py", hidden)
    other = student_notebook(dirs[1] / "submitted" / "bob" / "01_rnn" / "01_rnn.ipynb", RNN)
    for d in dirs:
        for p in [d, *d.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    yield {"roots": [str(d) for d in dirs], "hidden": str(hidden), "other": str(other)}
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def _cheat_notebook(path: Path, roots: list[str]) -> Path:
    """rnn_step_backward with a bug (no tanh derivative), wrapped by a cheat that exec's a copy of
    solutions/rnn.py found on the host and returns the reference's answer when it can."""
    honest = function_sources(["rnn_step_backward"], ["rnn_step_no_tanh"])["rnn_step_backward"]
    honest = honest.replace("def rnn_step_backward(", "def _honest_step_backward(", 1)
    cheat = honest + (
        "\n\ndef rnn_step_backward(dnext_h, cache):\n"
        "    import sys\n"
        f"    for root in {roots!r}:\n"
        "        try:\n"
        "            sys.path.insert(0, root)\n"
        "            ns = {'__name__': 'stolen'}\n"
        "            exec(open(root + '/solutions/rnn.py').read(), ns)\n"
        "            return ns['rnn_step_backward'](dnext_h, cache)\n"
        "        except Exception:\n"
        "            pass\n"
        "    return _honest_step_backward(dnext_h, cache)\n")
    return student_notebook(path, RNN, mutations=["rnn_step_no_tanh"],
                            overrides={"rnn_step_backward": cheat})


def _grade_unsandboxed(nb: Path) -> dict:
    with Zygote(default_hidden_paths(), isolate=False) as z:
        return grade_notebook(nb, get_assignment("01_rnn"), z, FAST)


@needs_root
def test_exec_of_a_reference_copy_elsewhere_scores_the_honest_score(tmp_path, planted):
    honest = student_notebook(tmp_path / "honest" / "01_rnn.ipynb", RNN,
                              mutations=["rnn_step_no_tanh"])
    cheat = _cheat_notebook(tmp_path / "cheat" / "01_rnn.ipynb", planted["roots"])
    r_honest, r_cheat = grade(honest, "01_rnn", limits=FAST), grade(cheat, "01_rnn", limits=FAST)
    assert r_honest["score"] < FULL
    assert r_cheat["score"] == r_honest["score"]
    assert (r_cheat["functions"]["rnn_step_backward"]["score"]
            == r_honest["functions"]["rnn_step_backward"]["score"] < RNN["rnn_step_backward"])
    # Control: the same cheat works when the files are there (no sandbox), so the test can fail.
    assert _grade_unsandboxed(cheat)["score"] == FULL


def _probe_notebook(path: Path, targets: list[tuple[str, str]]) -> Path:
    """temporal_softmax_loss, correct, preceded by attempts to read or list each target; any
    success raises LEAKED (costing the function its points); a failed control read raises."""
    ref = function_sources(["temporal_softmax_loss"])["temporal_softmax_loss"]
    probe = (
        "    import os\n"
        "    open(np.__file__).read()          # control: the allowlisted numpy is readable\n"
        "    leaked = []\n"
        f"    for how, path in {targets!r}:\n"
        "        try:\n"
        "            if how == 'read':\n"
        "                data = open(path, 'rb').read()\n"
        "            else:\n"
        "                data = os.listdir(path)\n"
        "            if data:\n"
        "                leaked.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    if leaked:\n"
        "        raise RuntimeError('LEAKED ' + ' '.join(leaked))\n")
    head = "def temporal_softmax_loss(x, y, mask):\n"
    body = ref.split(head, 1)[1]
    doc_end = body.index('"""', body.index('"""') + 3) + 3 if body.lstrip().startswith('"""') else 0
    src = "import numpy as np\n" + head + body[:doc_end] + "\n" + probe + body[doc_end:]
    return student_notebook(path, RNN, overrides={"temporal_softmax_loss": src})


@needs_root
def test_nothing_of_the_host_is_readable(tmp_path, planted):
    pid = os.getpid()
    targets = [("read", f"{r}/solutions/layers.py") for r in planted["roots"]] + [
        ("read", planted["hidden"]), ("read", planted["other"]),
        ("read", str(REPO / "solutions" / "layers.py")),
        ("read", str(REPO / "autograder" / "hidden" / "01_rnn.py")),
        ("read", "/etc/passwd"), ("list", "/root"), ("list", "/work"), ("list", "/opt"),
        ("list", "/srv"), ("list", "/home"), ("list", "/run"),
        ("read", f"/proc/{pid}/environ"), ("read", f"/proc/{pid}/cmdline"),
        ("list", f"/proc/{pid}/fd"),
    ]
    nb = _probe_notebook(tmp_path / "probe" / "01_rnn.ipynb", targets)
    r = grade(nb, "01_rnn", limits=FAST)
    loss = r["functions"]["temporal_softmax_loss"]
    assert r["score"] == FULL, loss["hints"]
    assert r["protections"]["not_applied"] == []
    # Control: without the sandbox the same probe finds the planted files.
    r_open = _grade_unsandboxed(nb)
    hints = " ".join(r_open["functions"]["temporal_softmax_loss"]["hints"])
    assert "LEAKED" in hints and planted["roots"][0] in hints, hints


@needs_root
def test_the_root_is_read_only_and_tmp_is_private(tmp_path):
    """Writing anywhere but the private /tmp fails; /tmp starts empty (another worker's files
    never show up there) but for the read-only allowlisted folders that live under /tmp (a
    checkout or venv there), which are bound back into it."""
    from autograder.sandbox import allowlist, student_packages

    expected = sorted({dst[len("/tmp/"):].split("/")[0]
                       for _src, dst in allowlist(tuple(student_packages()))["binds"]
                       if dst.startswith("/tmp/")})
    code = (
        "def temporal_softmax_loss(x, y, mask):\n"
        "    import os\n"
        "    wrote = []\n"
        "    for path in ['/x', '/course/course_helpers/x.py', '/dev/x', np.__file__ + '.x']:\n"
        "        try:\n"
        "            open(path, 'w').write('x')\n"
        "            wrote.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        f"    others = [n for n in os.listdir('/tmp') if n not in ('.output', 'mine', *{expected!r})]\n"
        "    open('/tmp/mine', 'w').write('x')\n"
        "    if wrote or others:\n"
        "        raise RuntimeError(f'WROTE {wrote} SAW {others}')\n"
        "    return 0.0, np.zeros_like(x)\n")
    nb = student_notebook(tmp_path / "w" / "01_rnn.ipynb", RNN,
                          overrides={"temporal_softmax_loss": "import numpy as np\n" + code})
    r = grade(nb, "01_rnn", limits=FAST)
    hints = " ".join(r["functions"]["temporal_softmax_loss"]["hints"])
    assert "WROTE" not in hints and "SAW" not in hints, hints


def test_missing_protections_are_named_without_isolation(tmp_path):
    """Without root (here: isolation turned off) the results say exactly what is missing."""
    nb = student_notebook(tmp_path / "ok" / "01_rnn.ipynb", RNN)
    r = _grade_unsandboxed(nb)
    missing = " ".join(r["protections"]["not_applied"])
    for what in ("allowlist root", "network namespace", "uid of its own", "PID namespace",
                 "private tmpfs /tmp"):
        assert what in missing, missing
    assert any("PR_SET_PDEATHSIG" in p for p in r["protections"]["applied"])
    assert r["score"] == FULL

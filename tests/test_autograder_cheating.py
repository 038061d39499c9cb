"""The cheating and fault suite: hostile or broken submissions get exactly what their honest work
deserves, and nothing they do reaches the judge, the references or other submissions."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from autograder import Limits, grade
from autograder.synth import function_sources, student_notebook

REPO = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((REPO / "exercises" / "manifest.json").read_text())
RNN = MANIFEST["01_rnn"]["functions"]
FULL = float(sum(RNN.values()))
LOSS = "temporal_softmax_loss"           # a standalone function: faults there cost only it
FAST = Limits(timeout_s=1.0, load_timeout_s=5.0, cpu_s=2, memory_mb=400)
ROOT = os.geteuid() == 0


def body(code: str) -> str:
    """A temporal_softmax_loss whose body is ``code`` (indented)."""
    lines = "\n".join("    " + ln for ln in code.strip().splitlines())
    return f"def {LOSS}(x, y, mask):\n{lines}\n"


def score_of(nb: Path) -> dict:
    return grade(nb, "01_rnn", limits=FAST)


def assert_only_loss_lost(r: dict, expect_loss: float = 0.0) -> None:
    for f, fr in r["functions"].items():
        if f == LOSS:
            assert fr["score"] == pytest.approx(expect_loss, abs=1e-4), fr["hints"]
        else:
            assert fr["score"] == fr["max_score"], (f, fr["hints"])


FAULTS = {
    "infinite_loop": "while True:\n    pass",
    "unbounded_memory": "hog = []\nwhile True:\n    hog.append(np.ones(10**7))",
    "fork": "import os\nos.fork()\nos.fork()\nreturn 0.0, x",
    "os_exit": "import os\nos._exit(0)",
    "sys_exit": "import sys\nsys.exit(0)",
    "print_gigabytes": "while True:\n    print('x' * 10**6)",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "returns_liar": ("class Liar:\n    def __eq__(self, other): return True\n"
                     "    def __array__(self, *a, **k): raise TypeError('no')\n"
                     "return Liar(), Liar()"),
    "returns_nan": "return float('nan'), np.full(x.shape, np.nan)",
    "patches_numpy_then_wrong": (
        "import builtins\nnp.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\nbuiltins.abs = lambda v: 0\n"
        "builtins.isinstance = lambda *a: True\nreturn 0.0, np.zeros_like(x)"),
}


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_fault_costs_only_its_function(tmp_path, kind):
    nb = student_notebook(tmp_path / f"{kind}.ipynb", RNN,
                          overrides={LOSS: "import numpy as np\n" + body(FAULTS[kind])})
    r = score_of(nb)
    assert_only_loss_lost(r, 0.0)
    assert r["score"] == FULL - RNN[LOSS]


def test_top_level_monkeypatches_and_ipython_hooks_do_not_run(tmp_path):
    """Wrong answers dressed up as right: the patches are top-level statements, never executed;
    the honest (wrong) work is graded exactly like the same work without them."""
    hostile = [
        "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None",
        "import builtins\nbuiltins.abs = lambda v: 0",
        "ip = get_ipython()\nip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)",
        "import sys\nsys.modules['numpy'].tanh = lambda a: a",
    ]
    honest = student_notebook(tmp_path / "honest.ipynb", RNN, mutations=["rnn_step_no_tanh"])
    cheat = student_notebook(tmp_path / "cheat.ipynb", RNN, mutations=["rnn_step_no_tanh"],
                             extra_cells=hostile)
    r_honest, r_cheat = score_of(honest), score_of(cheat)
    assert r_cheat["score"] == r_honest["score"] < FULL
    assert r_cheat["functions"]["rnn_step_backward"]["score"] < RNN["rnn_step_backward"]


def test_patching_numpy_inside_the_function_cannot_fool_the_judge(tmp_path):
    """The comparison happens in the judge's process, so a patched numpy in the worker is moot."""
    src = ("import numpy as np\n"
           "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
           "    np.allclose = lambda *a, **k: True\n"
           "    np.ndarray.__eq__ = lambda *a: True\n"
           "    return np.zeros((x.shape[0], Wh.shape[0])), None\n")
    nb = student_notebook(tmp_path / "p.ipynb", RNN, overrides={"rnn_step_forward": src})
    r = score_of(nb)
    fr = r["functions"]["rnn_step_forward"]
    # The outputs are wrong, and leaving inputs alone earns nothing on its own.
    assert fr["score"] == 0


@pytest.mark.skipif(not ROOT, reason="file hiding needs root (mount namespace)")
def test_cannot_read_references_hidden_tests_or_gradebook(tmp_path):
    targets = [str(REPO / "solutions" / "layers.py"), str(REPO / "autograder" / "hidden" /
               "01_rnn.py"), str(REPO / "exercises" / "manifest.json"), str(REPO / "README.md")]
    code = (
        "import importlib, sys\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        text = open(path).read()\n"
        "        if len(text) > 0:\n"
        "            raise RuntimeError('LEAKED ' + path)\n"
        "    except (OSError, UnicodeDecodeError):\n"
        "        pass\n"
        "for mod in ('solutions', 'autograder', 'autograder.hidden'):\n"
        "    try:\n"
        "        m = importlib.import_module(mod)\n"
        "        return m.temporal_softmax_loss(x, y, mask)\n"
        "    except (ImportError, AttributeError):\n"
        "        pass\n"
        f"sys.path.append({str(REPO)!r})\n"
        "from solutions import temporal_softmax_loss as ref\n"
        "return ref(x, y, mask)\n"
    )
    nb = student_notebook(tmp_path / "reader.ipynb", RNN,
                          overrides={LOSS: "import numpy as np\n" + body(code)})
    r = score_of(nb)
    assert_only_loss_lost(r, 0.0)
    hints = " ".join(r["functions"][LOSS]["hints"])
    assert "LEAKED" not in hints, hints
    assert "No module named 'solutions'" in hints or "cannot import name" in hints, hints


@pytest.mark.skipif(not ROOT, reason="file hiding needs root (mount namespace)")
def test_cannot_write_gradebook_or_results(tmp_path):
    victim = tmp_path / "gradebook.db"
    victim.write_text("original")
    os.chmod(tmp_path, 0o777)
    os.chmod(victim, 0o666)                  # even world-writable files are out of reach
    code = ("for p in [{!r}, {!r}]:\n"
            "    try:\n"
            "        open(p, 'w').write('pwned')\n"
            "    except OSError:\n"
            "        pass\n"
            "raise RuntimeError('no honest work')\n".format(str(victim), str(tmp_path / "new.json")))
    nb = student_notebook(tmp_path / "writer.ipynb", RNN,
                          overrides={LOSS: body(code)})
    from autograder.judge import get_assignment, get_zygote, grade_notebook
    from autograder.sandbox import Zygote, default_hidden_paths

    get_assignment("01_rnn")
    with Zygote(default_hidden_paths([tmp_path])) as z:
        r = grade_notebook(nb, get_assignment("01_rnn"), z, FAST)
    assert victim.read_text() == "original"
    assert not (tmp_path / "new.json").exists()
    assert_only_loss_lost(r, 0.0)
    assert get_zygote is not None


@pytest.mark.skipif(not ROOT, reason="a network namespace needs root")
def test_no_network(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    port = server.getsockname()[1]
    contacted = []

    def serve():
        server.settimeout(20)
        try:
            while True:
                conn, _ = server.accept()
                contacted.append(1)
                conn.close()
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ref = function_sources([LOSS])[LOSS]
    # An "answer oracle": if the network works, the correct answer is returned.
    code = ("import socket\n"
            f"s = socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\n"
            "s.close()\n")
    src = ("import numpy as np\n" + ref.replace(f"def {LOSS}(x, y, mask):",
                                             f"def {LOSS}(x, y, mask):\n" + "\n".join(
                                                 "    " + ln for ln in code.splitlines()), 1))
    nb = student_notebook(tmp_path / "net.ipynb", RNN, overrides={LOSS: src})
    r = score_of(nb)
    server.close()
    assert contacted == []
    assert_only_loss_lost(r, 0.0)


def test_modifying_inputs_loses_only_that_check(tmp_path):
    ref = function_sources([LOSS])[LOSS]
    src = ref.replace("    return (float(loss), dx)", "    mask[...] = True\n    return (float(loss), dx)")
    assert src != ref
    nb = student_notebook(tmp_path / "mod.ipynb", RNN, overrides={LOSS: src})
    fr = score_of(nb)["functions"][LOSS]
    unchanged = [c for c in fr["checks"] if c["check"] == "inputs unchanged"]
    # Every case whose mask had a False entry notices the change (the N=T=1 edge case has none).
    assert sum(not c["passed"] for c in unchanged) >= len(unchanged) - 1 >= 3
    assert all(c["passed"] for c in fr["checks"] if c["check"] != "inputs unchanged")
    assert fr["score"] < RNN[LOSS]
    assert any("modified an input" in h for h in fr["hints"])


# ----------------------------------------------------------------------------- mangled notebooks
def _mangle(src: Path, dst: Path, fn) -> Path:
    nb = json.loads(src.read_text())
    fn(nb)
    dst.write_text(json.dumps(nb))
    return dst


@pytest.fixture(scope="module")
def ok_nb(tmp_path_factory) -> Path:
    return student_notebook(tmp_path_factory.mktemp("ok") / "ok.ipynb", RNN)


def _retype(nb):
    for c in nb["cells"]:
        gid = c["metadata"].get("nbgrader", {}).get("grade_id", "")
        if gid.startswith("test_"):
            c["cell_type"] = "markdown"
        if gid == "impl_rnn_forward":
            c["cell_type"] = "raw"


MANGLERS = {
    "deleted_test_cells": lambda nb: nb.update(cells=[
        c for c in nb["cells"] if not c["metadata"].get("nbgrader", {}).get("grade")]),
    "stripped_metadata_and_renamed_ids": lambda nb: [
        c.update(metadata={"nbgrader": "garbage"}, id=f"renamed-{k}")
        for k, c in enumerate(nb["cells"])],
    "duplicated_cells": lambda nb: nb.update(cells=nb["cells"] + nb["cells"]),
    "retyped_cells": _retype,
    "metadata_not_a_dict": lambda nb: nb.update(metadata=[1, 2, 3], nbformat="four"),
    "shuffled_cells": lambda nb: nb.update(cells=nb["cells"][::-1]),
}


@pytest.mark.parametrize("kind", sorted(MANGLERS))
def test_mangled_notebooks_are_graded_on_their_code(tmp_path, ok_nb, kind):
    nb = _mangle(ok_nb, tmp_path / f"{kind}.ipynb", MANGLERS[kind])
    r = score_of(nb)
    assert r["score"] == FULL, {f: v["hints"] for f, v in r["functions"].items() if v["hints"]}


def test_malformed_json_and_garbage(tmp_path, ok_nb):
    text = ok_nb.read_text()
    cut = tmp_path / "cut.ipynb"
    cut.write_text(text[: len(text) // 2])           # truncated half-way
    r = score_of(cut)
    assert 0 < r["score"] < FULL                        # the functions in the first half count
    garbage = tmp_path / "garbage.ipynb"
    garbage.write_bytes(b"\x00\xff not a notebook {{{")
    r = score_of(garbage)
    assert r["score"] == 0 and all(v["status"] == "missing" for v in r["functions"].values())


def test_duplicate_definition_last_one_wins(tmp_path):
    wrong = function_sources(["rnn_step_backward"], ["rnn_step_no_tanh"])["rnn_step_backward"]
    right = function_sources(["rnn_step_backward"])["rnn_step_backward"]
    # correct first, wrong later: the wrong one is what the notebook ends with
    nb = student_notebook(tmp_path / "a.ipynb", RNN, extra_cells=[wrong])
    assert score_of(nb)["functions"]["rnn_step_backward"]["score"] < RNN["rnn_step_backward"]
    nb = student_notebook(tmp_path / "b.ipynb", RNN, mutations=["rnn_step_no_tanh"],
                          extra_cells=[right])
    assert score_of(nb)["functions"]["rnn_step_backward"]["score"] == RNN["rnn_step_backward"]


def test_not_implemented_release_scores_zero(tmp_path):
    stubs = {f: f"def {f}(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
             for f in RNN}
    nb = student_notebook(tmp_path / "release.ipynb", RNN, overrides=stubs)
    r = score_of(nb)
    assert r["score"] == 0
    assert any("not implemented" in h for h in r["functions"]["rnn_forward"]["hints"])

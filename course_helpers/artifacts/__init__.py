"""Load the small trained models and learning curves shipped with the course.

The files in this folder were made by the training scripts in ``scripts/`` (each JSON file records
the exact command and seed). ``RESULTS.md`` / ``results.json`` hold the measured metrics, and
``tests/test_artifacts.py`` checks that the shipped files still reproduce them.

Numpy loaders need only numpy; the ``*_torch`` loaders and ``load_captioner`` import PyTorch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

ARTIFACTS_DIR = Path(__file__).resolve().parent
RESULTS_JSON = ARTIFACTS_DIR / "results.json"
RESULTS_MD = ARTIFACTS_DIR / "RESULTS.md"

CHAR_KINDS = ("rnn", "lstm")
ADDING_KINDS = ("rnn", "lstm", "gru")
ADDING_LENGTHS = (10, 50, 100)


def artifact_path(name: str) -> Path:
    """Path of a shipped file, with a clear error naming the script that makes it if missing."""
    path = ARTIFACTS_DIR / name
    if not path.exists():
        makers = {"char": "scripts/train_char.py", "adding": "scripts/train_adding.py",
                  "caption": "scripts/train_captioner.py"}
        maker = next((s for k, s in makers.items() if name.startswith(k)), "the training scripts")
        raise FileNotFoundError(f"artifact {name} is missing from {ARTIFACTS_DIR}; "
                                f"run {maker} to make it")
    return path


def _npz(name: str) -> dict[str, np.ndarray]:
    with np.load(artifact_path(name), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _json(name: str) -> dict[str, Any]:
    return json.loads(artifact_path(name).read_text())


# ---------------------------------------------------------------------------- results file


def load_results() -> dict[str, Any]:
    """The measured metrics of every shipped model (results.json)."""
    return json.loads(artifact_path("results.json").read_text())


def record_results(name: str, record: dict[str, Any], directory: Path | None = None) -> None:
    """Store one model family's results in results.json and rewrite RESULTS.md (used by scripts).

    directory defaults to the shipped artifacts folder.
    """
    directory = ARTIFACTS_DIR if directory is None else Path(directory)
    results_json = directory / "results.json"
    results = json.loads(results_json.read_text()) if results_json.exists() else {}
    results[name] = record
    results_json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (directory / "RESULTS.md").write_text(_render_results(results))


def command_line(script: str, argv: list[str]) -> str:
    """The command to record for a training run: the script and its arguments, without --out
    (where the files are written does not change them)."""
    args, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            args.append(a)
    return " ".join(["python", script] + args)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _render_results(results: dict[str, Any]) -> str:
    lines = ["# Results of the shipped models", "",
             "Written by the training scripts (`course_helpers.artifacts.record_results`); the same",
             "numbers are in `results.json`, and `tests/test_artifacts.py` re-measures them from the",
             "shipped files.", ""]
    for name in sorted(results):
        rec = results[name]
        lines += [f"## {rec.get('title', name)}", ""]
        lines += [f"- command: `{rec['command']}`", f"- seed: {rec['seed']}",
                  f"- training time: {rec.get('train_seconds', 0):.0f} s on one CPU thread",
                  f"- files: {', '.join('`' + f + '`' for f in rec.get('files', []))}", ""]
        for table in rec.get("tables", []):
            lines += [f"**{table['caption']}**", ""]
            lines.append("| " + " | ".join(table["header"]) + " |")
            lines.append("|" + "---|" * len(table["header"]))
            for row in table["rows"]:
                lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
            lines.append("")
        for note in rec.get("notes", []):
            lines += [note, ""]
        if rec.get("samples"):
            lines += ["Samples:", ""]
            for s in rec["samples"]:
                lines += ["```text", s, "```", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- character models


def load_char_model(kind: str = "rnn") -> dict[str, Any]:
    """A trained character model as numpy float64 arrays in the solutions' convention.

    Returns a dict with Wx (V,H), Wh (H,H), b (H,), Wy (H,V), by (V,) for kind="rnn"
    (LSTM: Wx (V,4H), Wh (H,4H), b (4H,), gates i,f,o,g), plus "vocab" (a CharVocab),
    "kind", "val_text" (the validation text it was measured on) and "meta" (the JSON record).
    The input x_t is the one-hot vector of a character, so x_t @ Wx is the row Wx[char].
    """
    from course_helpers.text import CharVocab

    if kind not in CHAR_KINDS:
        raise ValueError(f"load_char_model: kind must be one of {CHAR_KINDS}, got {kind!r}")
    arrays = _npz(f"char_{kind}.npz")
    meta = _json("char_models.json")
    out: dict[str, Any] = {k: arrays[k].astype(np.float64) for k in ("Wx", "Wh", "b", "Wy", "by")}
    out["vocab"] = CharVocab(str(arrays["chars"]))
    out["kind"] = kind
    out["val_text"] = str(arrays["val_text"])
    out["meta"] = meta
    return out


def load_char_torch(kind: str = "rnn"):
    """The trained character model as a torch CharRNN (float32, eval mode)."""
    from course_helpers.models import CharRNN

    p = load_char_model(kind)
    model = CharRNN(p["vocab"].size, p["Wh"].shape[0], kind)
    return model.float().load_numpy_params(p).eval()


def load_char_curves() -> dict[str, Any]:
    """Learning curves: {kind: {"step", "train_bpc", "val_bpc"}, "unigram_bpc": float}."""
    meta = _json("char_models.json")
    curves: dict[str, Any] = {k: meta["curves"][k] for k in CHAR_KINDS}
    curves["unigram_bpc"] = meta["unigram_bpc"]
    return curves


# ---------------------------------------------------------------------------- adding problem


def _check_adding(kind: str, T: int) -> None:
    if kind not in ADDING_KINDS:
        raise ValueError(f"kind must be one of {ADDING_KINDS}, got {kind!r}")
    if T not in ADDING_LENGTHS:
        raise ValueError(f"T must be one of {ADDING_LENGTHS}, got {T!r}")


def adding_numpy_params(kind: str, T: int) -> dict[str, np.ndarray]:
    """Weights of the adding-problem model (float64): recurrent weights in the solutions'
    convention (RNN/LSTM: Wx, Wh, b; GRU: Wx, Wh, bx, bh) plus w_out (H,), b_out ()."""
    _check_adding(kind, T)
    arrays = _npz("adding_models.npz")
    prefix = f"{kind}_T{T}."
    return {k[len(prefix):]: v.astype(np.float64) for k, v in arrays.items()
            if k.startswith(prefix)}


def load_adding_model(kind: str, T: int):
    """The trained adding-problem model as a torch SequenceRegressor (float32, eval mode)."""
    from course_helpers.models import SequenceRegressor

    p = adding_numpy_params(kind, T)
    model = SequenceRegressor(kind, input_size=2, hidden_size=p["Wh"].shape[0])
    return model.float().load_numpy_params(p).eval()


def load_adding_curves() -> dict[str, Any]:
    """{"T=10": {"rnn": {"step": [...], "mse": [...]}, ...}, ..., "baseline": 0.1667}."""
    meta = _json("adding_models.json")
    curves: dict[str, Any] = dict(meta["curves"])
    curves["baseline"] = meta["baseline_mse"]
    return curves


# ---------------------------------------------------------------------------- captioning


def captioner_numpy_params() -> dict[str, np.ndarray]:
    """The trained captioner's weights as float64 arrays named as in the numpy captioning model:
    W_init, b_init, W_embed, Wa, Ua, ba, va, Wx, Wh, b, W_vocab, b_vocab."""
    arrays = _npz("captioner.npz")
    return {k[4:]: v.astype(np.float64) for k, v in arrays.items() if k.startswith("cap.")}


def load_caption_decoder():
    """The trained AttentionCaptioner alone (no image encoder), float32, eval mode.

    Enough for anything that starts from the precomputed features of load_caption_test_set().
    """
    from course_helpers.models import AttentionCaptioner

    cfg = _json("captioner.json")["config"]
    captioner = AttentionCaptioner(cfg["vocab_size"], cfg["feat_dim"], cfg["hidden_dim"],
                                   cfg["embed_dim"], cfg["attn_dim"]).float()
    return captioner.load_numpy_params(captioner_numpy_params()).eval()


def load_captioner():
    """The trained (ShapesEncoder, AttentionCaptioner), float32, eval mode."""
    import torch

    from course_helpers.models import ShapesEncoder

    arrays = _npz("captioner.npz")
    cfg = _json("captioner.json")["config"]
    encoder = ShapesEncoder(cfg["feat_dim"]).float()
    state = {k[4:]: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()
             if k.startswith("enc.")}
    encoder.load_state_dict(state)
    return encoder.eval(), load_caption_decoder()


def load_caption_test_set() -> dict[str, Any]:
    """The test split of the shapes data with the trained encoder's features precomputed.

    Returns a dict with
    - "feats": float64 (N, 16, D), the encoder's 4x4 feature grid (stored as float16)
    - "images": uint8 (N, 64, 64, 3); "captions": int64 (N, 16); "texts": list of N str
    - "word_object": int64 (N, 16); "cells": bool (N, 3, 16) object cells on the 4x4 grid
    - "n_objects": int64 (N,); "vocab": list of words (index = token id)
    """
    from course_helpers.shapes import VOCAB, load_shapes, object_cells

    feats = _npz("caption_test_feats.npz")["feats"].astype(np.float64)
    data = load_shapes("test")
    if len(data) != len(feats):
        raise RuntimeError("caption_test_feats.npz does not match the test split; "
                           "rerun scripts/train_captioner.py")
    return {"feats": feats, "images": data.images, "captions": data.captions,
            "texts": data.texts, "word_object": data.word_object,
            "cells": object_cells(data, 4), "n_objects": data.n_objects, "vocab": list(VOCAB)}


# ---------------------------------------------------------------------------- captioning controls (chapter 5)


def _own_artifact(name: str, script: str) -> Path:
    path = ARTIFACTS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"artifact {name} is missing from {ARTIFACTS_DIR}; run {script} to make it")
    return path


def load_caption_baselines() -> dict[str, Any]:
    """The captioners without learned attention, trained by scripts/train_captioner_noattn.py on
    the shipped encoder's features: {"noattn": NoAttentionCaptioner, "uniform":
    UniformAttentionCaptioner} (float32, eval mode) and "meta" (the JSON record: command, curves,
    test metrics)."""
    from course_helpers.models import NoAttentionCaptioner, UniformAttentionCaptioner

    script = "scripts/train_captioner_noattn.py"
    meta = json.loads(_own_artifact("captioner_baselines.json", script).read_text())
    with np.load(_own_artifact("captioner_baselines.npz", script), allow_pickle=False) as f:
        arrays = {k: f[k].astype(np.float64) for k in f.files}
    cfg = meta["config"]
    out: dict[str, Any] = {"meta": meta}
    for kind in ("noattn", "uniform"):
        p = {k[len(kind) + 1:]: v for k, v in arrays.items() if k.startswith(kind + ".")}
        if kind == "noattn":
            model = NoAttentionCaptioner(cfg["vocab_size"], cfg["n_cells"], cfg["feat_dim"],
                                         cfg["hidden_dim"], cfg["embed_dim"], cfg["feat_scale"])
        else:
            model = UniformAttentionCaptioner(cfg["vocab_size"], cfg["feat_dim"], cfg["hidden_dim"],
                                              cfg["embed_dim"], cfg["attn_dim"])
        out[kind] = model.float().load_numpy_params(p).eval()
    return out


def load_captioner_overlap(labels: str = "image") -> dict[str, Any]:
    """The control of chapter 5 made by scripts/train_captioner_overlap.py --labels <labels>:
    {"encoder": OverlapShapesEncoder, "captioner": AttentionCaptioner} (float32, eval mode) and
    "meta" (the JSON record). labels is "image" or "cells" (the encoder's pre-training)."""
    import torch

    from course_helpers.models import AttentionCaptioner, OverlapShapesEncoder

    if labels not in ("image", "cells"):
        raise ValueError(f"load_captioner_overlap: labels must be 'image' or 'cells', got {labels!r}")
    name = f"captioner_overlap_{labels}"
    script = f"scripts/train_captioner_overlap.py --labels {labels}"
    meta = json.loads(_own_artifact(f"{name}.json", script).read_text())
    with np.load(_own_artifact(f"{name}.npz", script), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    cfg = meta["config"]
    encoder = OverlapShapesEncoder(cfg["feat_dim"]).float()
    encoder.load_state_dict({k[4:]: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()
                             if k.startswith("enc.")})
    captioner = AttentionCaptioner(cfg["vocab_size"], cfg["feat_dim"], cfg["hidden_dim"],
                                   cfg["embed_dim"], cfg["attn_dim"]).float()
    captioner.load_numpy_params({k[4:]: v.astype(np.float64) for k, v in arrays.items()
                                 if k.startswith("cap.")})
    return {"encoder": encoder.eval(), "captioner": captioner.eval(), "meta": meta}

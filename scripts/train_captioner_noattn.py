"""Train the two captioners that show what attention buys, on the shipped encoder's features.

    python scripts/train_captioner_noattn.py            # about 10 minutes on one core

Both read the frozen features of the shipped ShapesEncoder (course_helpers/artifacts/captioner.npz)
and are trained exactly like the attention captioner of scripts/train_captioner.py (same epochs,
batch, Adam with the one-cycle schedule, clipping), with the caption loss alone:

- "noattn":  NoAttentionCaptioner, the design of the lecture and of CS231n assignment 3: the image
             (the whole 4x4 grid, flattened) enters once, as h_0; the LSTM then writes the caption
             from <START> to <END> without looking at the image again;
- "uniform": UniformAttentionCaptioner, the attention captioner with its attention fixed at 1/16
             per cell: at every word it receives the mean feature vector.

Writes to course_helpers/artifacts/:
- captioner_baselines.npz    float16 weights, keys "noattn.<name>", "uniform.<name>"
- captioner_baselines.json   command, seed, configuration, learning curves, test metrics
and records the metrics (measured on the float16 weights, as shipped) in results.json / RESULTS.md
under "captioner_baselines".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_helpers.artifacts import ARTIFACTS_DIR, command_line, load_captioner, record_results  # noqa: E402
from course_helpers.evaluation import caption_scores, decode  # noqa: E402
from course_helpers.models import NoAttentionCaptioner, UniformAttentionCaptioner  # noqa: E402
from course_helpers.shapes import VOCAB, decode_captions, load_shapes  # noqa: E402


def train_decoder(model, feats_train: torch.Tensor, y_train: torch.Tensor, feats_val: torch.Tensor,
                  val, args, desc: str, loss_kwargs: dict | None = None) -> dict[str, list]:
    """Train a caption decoder in place with the schedule of scripts/train_captioner.py.

    Returns the learning curves (epoch, train loss, validation exact match)."""
    loss_kwargs = loss_kwargs or {}
    gen = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = len(feats_train) // args.batch_size
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.1)
    curves: dict[str, list] = {"epoch": [], "train_loss": [], "val_exact_match": []}
    bar = tqdm(total=total, desc=desc, unit="step", mininterval=2.0)
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(feats_train), generator=gen)
        running = 0.0
        for k in range(steps_per_epoch):
            idx = perm[k * args.batch_size : (k + 1) * args.batch_size]
            loss = model.loss(feats_train[idx], y_train[idx], **loss_kwargs)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            running += loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        model.eval()
        em = caption_scores(model, feats_val, val)["exact_match"]
        curves["epoch"].append(epoch)
        curves["train_loss"].append(running / steps_per_epoch)
        curves["val_exact_match"].append(em)
        tqdm.write(f"{desc} epoch {epoch}: train loss {running / steps_per_epoch:.3f}, "
                   f"val exact match {em:.3f}")
    bar.close()
    return curves


def float16_roundtrip(model) -> dict[str, np.ndarray]:
    """The model's weights rounded to float16 (as shipped); the model is loaded with them."""
    p = {k: v.astype(np.float16) for k, v in model.numpy_params().items()}
    model.load_numpy_params({k: v.astype(np.float64) for k, v in p.items()})
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden-dim", type=int, default=128)
    ap.add_argument("--embed-dim", type=int, default=32)
    ap.add_argument("--attn-dim", type=int, default=64)
    ap.add_argument("--kinds", nargs="+", choices=("noattn", "uniform"), default=["noattn", "uniform"],
                    help="which models to (re)train; the others are kept from the existing files")
    ap.add_argument("--out", type=Path, default=ARTIFACTS_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)

    encoder, _ = load_captioner()
    train, val, test = load_shapes("train"), load_shapes("val"), load_shapes("test")
    with torch.no_grad():
        feats_train, feats_val = encoder(train.images), encoder(val.images)
    test_feats = np.load(ARTIFACTS_DIR / "caption_test_feats.npz")["feats"].astype(np.float64)
    y_train = torch.from_numpy(train.captions)
    D = feats_train.shape[2]

    # the no-attention model reads the flattened grid divided by its RMS over the training set
    feat_scale = float(feats_train.pow(2).mean().sqrt())
    cfg = {"vocab_size": len(VOCAB), "n_cells": feats_train.shape[1], "feat_dim": D,
           "hidden_dim": args.hidden_dim, "embed_dim": args.embed_dim, "attn_dim": args.attn_dim,
           "feat_scale": feat_scale}
    arrays, curves, metrics, seconds, samples = {}, {}, {}, {}, []
    old_json = args.out / "captioner_baselines.json"
    if set(args.kinds) != {"noattn", "uniform"} and old_json.exists():     # keep the other model
        old = json.loads(old_json.read_text())
        with np.load(args.out / "captioner_baselines.npz") as f:
            arrays = {k: f[k] for k in f.files if not k.startswith(tuple(k2 + "." for k2 in args.kinds))}
        for k in ("curves", "test_metrics", "train_seconds_per_model", "samples"):
            old.setdefault(k, {} if k != "samples" else [])
        curves = {k: v for k, v in old["curves"].items() if k not in args.kinds}
        metrics = {k: v for k, v in old["test_metrics"].items() if k not in args.kinds}
        seconds = {k: v for k, v in old["train_seconds_per_model"].items() if k not in args.kinds}
        samples = [s for s in old["samples"] if not s.startswith(tuple(args.kinds))]
    for kind in args.kinds:
        t1 = time.time()
        torch.manual_seed(args.seed)
        if kind == "noattn":
            model = NoAttentionCaptioner(len(VOCAB), cfg["n_cells"], D, args.hidden_dim, args.embed_dim,
                                         feat_scale=feat_scale)
        else:
            model = UniformAttentionCaptioner(len(VOCAB), D, args.hidden_dim, args.embed_dim, args.attn_dim)
        curves[kind] = train_decoder(model, feats_train, y_train, feats_val, val, args, kind)
        seconds[kind] = time.time() - t1
        model = model.double().eval()
        arrays.update({f"{kind}.{k}": v for k, v in float16_roundtrip(model).items()})
        metrics[kind] = caption_scores(model, test_feats, test)
        caps = decode_captions(decode(model, test_feats[:4])[0])
        samples += [f"{kind}, true: {t}\n{kind}, model: {h}" for t, h in zip(test.texts[:4], caps, strict=True)]
    train_seconds = sum(seconds.values())

    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "captioner_baselines.npz", **arrays)
    # --kinds only chooses which models to retrain; each model's training is independent of the
    # other's (own seed, own data order), so the full command reproduces both.
    argv, skip = [], False
    for a in sys.argv[1:]:
        skip = (skip and not a.startswith("--")) or a == "--kinds"
        if not skip and not a.startswith("--kinds="):
            argv.append(a)
    command = command_line("scripts/train_captioner_noattn.py", argv)
    meta = {"command": command, "seed": args.seed, "config": cfg,
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "train_seconds": train_seconds, "train_seconds_per_model": seconds, "curves": curves,
            "test_metrics": metrics, "samples": samples, "torch_version": torch.__version__}
    (args.out / "captioner_baselines.json").write_text(json.dumps(meta, indent=2) + "\n")
    record_results("captioner_baselines", {
        "title": "Captioning without attention and with uniform attention (shapes test split, 1000 images)",
        "command": command, "seed": args.seed, "train_seconds": train_seconds,
        "files": ["captioner_baselines.npz", "captioner_baselines.json"],
        "metrics": metrics,
        "tables": [{"caption": "Greedy captions on the test split (weights as shipped, float16)",
                    "header": ["model", "exact match", "BLEU-4"],
                    "rows": [["no attention (grid -> h_0)", metrics["noattn"]["exact_match"],
                              metrics["noattn"]["bleu4"]],
                             ["uniform attention (mean feature at every word)",
                              metrics["uniform"]["exact_match"], metrics["uniform"]["bleu4"]]]}],
        "notes": ["Both decoders read the frozen features of the shipped encoder (captioner.npz) and "
                  f"are trained like the attention captioner: {args.epochs} epochs, batch "
                  f"{args.batch_size}, Adam with a one-cycle schedule up to lr {args.lr}, gradients "
                  "clipped at norm 5, caption loss only. Chapter 5 compares them with the attention "
                  "captioner."],
        "samples": samples,
    }, directory=args.out)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()

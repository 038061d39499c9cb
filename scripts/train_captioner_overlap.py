"""A control for chapter 5: does attention still find the objects when the encoder's cells overlap
and the encoder never learned where anything is?

    python scripts/train_captioner_overlap.py                  # about 15 minutes on one core
    python scripts/train_captioner_overlap.py --labels cells   # per-cell labels, as the shipped encoder

The shipped captioner's encoder (ShapesEncoder) computes every cell from its own 16x16 patch and
is pre-trained to name the object in each cell, so a feature vector is, by construction, about one
place. Here the encoder is an OverlapShapesEncoder: 3x3 convolutions, so each cell's features come
from a 63x63-pixel window, most of the image. With --labels image (the default) it is pre-trained
only to say which (colour, shape) pairs occur somewhere in the image, from features max-pooled
over the grid: a label without a location, like ImageNet's. The attention captioner is then
trained on its frozen features exactly like the shipped one (scripts/train_captioner.py: same
epochs, schedule and entropy penalty).

Writes to course_helpers/artifacts/:
- captioner_overlap_<labels>.npz    float16 encoder ("enc.*") and captioner ("cap.*") weights
- captioner_overlap_<labels>.json   command, seed, configuration, curves, test metrics
and records the metrics (measured with the float16 weights, as shipped) in results.json /
RESULTS.md under "captioner_overlap_<labels>".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_captioner_noattn import float16_roundtrip, train_decoder  # noqa: E402

from course_helpers.artifacts import ARTIFACTS_DIR, command_line, record_results  # noqa: E402
from course_helpers.evaluation import attention_by_position, caption_metrics  # noqa: E402
from course_helpers.models import AttentionCaptioner, OverlapShapesEncoder  # noqa: E402
from course_helpers.shapes import COLORS, SHAPES, VOCAB, cell_labels, load_shapes, object_cells  # noqa: E402


def image_labels(data) -> np.ndarray:
    """float32 (N, n_colors * n_shapes): 1 where that (colour, shape) pair is in the image."""
    y = np.zeros((len(data), len(COLORS) * len(SHAPES)), dtype=np.float32)
    for k in range(data.colors.shape[1]):
        present = data.colors[:, k] >= 0
        idx = data.colors[:, k] * len(SHAPES) + data.shapes[:, k]
        y[np.nonzero(present)[0], idx[present]] = 1.0
    return y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--labels", choices=("image", "cells"), default="image",
                    help="encoder pre-training: image-level labels (no location) or per-cell labels")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--encoder-steps", type=int, default=1500)
    ap.add_argument("--entropy-weight", type=float, default=0.1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--feat-dim", type=int, default=64)
    ap.add_argument("--hidden-dim", type=int, default=128)
    ap.add_argument("--embed-dim", type=int, default=32)
    ap.add_argument("--attn-dim", type=int, default=64)
    ap.add_argument("--out", type=Path, default=ARTIFACTS_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()

    train, val, test = load_shapes("train"), load_shapes("val"), load_shapes("test")
    encoder = OverlapShapesEncoder(args.feat_dim)
    x_train = torch.from_numpy(train.images).permute(0, 3, 1, 2).float().div_(255.0)
    if args.labels == "image":
        y_img = torch.from_numpy(image_labels(train))
    else:
        col_train, shp_train = (torch.from_numpy(a) for a in cell_labels(train))
    opt = torch.optim.Adam(encoder.parameters(), lr=args.lr)
    for step in (bar := tqdm(range(args.encoder_steps), desc="encoder", unit="step", mininterval=2.0)):
        idx = torch.randint(len(train), (args.batch_size,), generator=gen)
        feats = encoder(x_train[idx])
        if args.labels == "image":
            loss = F.binary_cross_entropy_with_logits(encoder.image_logits(feats), y_img[idx])
        else:
            col, shp = encoder.cell_logits(feats)
            loss = (F.cross_entropy(col.reshape(-1, col.shape[-1]), col_train[idx].reshape(-1))
                    + F.cross_entropy(shp.reshape(-1, shp.shape[-1]), shp_train[idx].reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    encoder.eval()
    # Ship float16 weights and measure everything with exactly those.
    enc16 = {k: v.detach().numpy().astype(np.float16) for k, v in encoder.state_dict().items()}
    encoder.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in enc16.items()})
    with torch.no_grad():
        feats_train, feats_val = encoder(train.images), encoder(val.images)
        if args.labels == "image":
            pred = encoder.image_logits(feats_val).numpy() > 0
            enc_acc = {"image_label_accuracy": float((pred == (image_labels(val) > 0)).all(axis=1).mean())}
        else:
            col, shp = encoder.cell_logits(feats_val)
            cv, sv = cell_labels(val)
            enc_acc = {"cell_accuracy": float(((col.argmax(-1).numpy() == cv)
                                               & (shp.argmax(-1).numpy() == sv)).mean())}
    tqdm.write(f"encoder: {enc_acc}")
    encoder_seconds = time.time() - t0

    cfg = {"vocab_size": len(VOCAB), "feat_dim": args.feat_dim, "hidden_dim": args.hidden_dim,
           "embed_dim": args.embed_dim, "attn_dim": args.attn_dim}
    torch.manual_seed(args.seed)
    captioner = AttentionCaptioner(**cfg)
    curves = train_decoder(captioner, feats_train, torch.from_numpy(train.captions), feats_val, val,
                           args, "captioner", {"entropy_weight": args.entropy_weight})
    captioner = captioner.double().eval()
    cap16 = float16_roundtrip(captioner)
    with torch.no_grad():
        test_feats = encoder(test.images).double()
        metrics = caption_metrics(captioner, test_feats, test)
        _, alphas_tf = captioner(test_feats, torch.from_numpy(test.captions[:, :-1]))
    by_pos = attention_by_position(alphas_tf.numpy(), test.captions[:, 1:], test.word_object[:, 1:],
                                   object_cells(test, 4))
    train_seconds = time.time() - t0

    name = f"captioner_overlap_{args.labels}"
    args.out.mkdir(parents=True, exist_ok=True)
    arrays = {f"enc.{k}": v for k, v in enc16.items()}
    arrays.update({f"cap.{k}": v for k, v in cap16.items()})
    np.savez_compressed(args.out / f"{name}.npz", **arrays)
    command = command_line("scripts/train_captioner_overlap.py", sys.argv[1:])
    meta = {"command": command, "seed": args.seed, "config": cfg, "labels": args.labels,
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "train_seconds": train_seconds, "encoder_seconds": encoder_seconds,
            "encoder_val_accuracy": enc_acc, "curves": curves, "test_metrics": metrics,
            "attention_by_position": by_pos, "torch_version": torch.__version__}
    (args.out / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    m = metrics
    what = ("image-level labels (which colour-shape pairs occur, no location)" if args.labels == "image"
            else "per-cell labels")
    record_results(name, {
        "title": f"Control: attention captioner on an encoder with overlapping receptive fields, "
                 f"pre-trained on {args.labels} labels (shapes test split)",
        "command": command, "seed": args.seed, "train_seconds": train_seconds,
        "files": [f"{name}.npz", f"{name}.json"], "metrics": m,
        "tables": [{"caption": "Greedy captions and attention on the test split (float16 weights)",
                    "header": ["exact match", "BLEU-4", "attention mass on named object (teacher-forced)",
                               "(greedy)", "uniform"],
                    "rows": [[m["exact_match"], m["bleu4"], m["attention_teacher_forced"],
                              m["attention_greedy"], m["attention_uniform"]]]},
                   {"caption": "Attention mass on the named object by its place in the caption "
                    "(teacher-forced)", "header": ["object", "mean mass", "words"],
                    "rows": [[k + 1, v, by_pos["named_count"][k]] for k, v in by_pos["named"].items()]}],
        "notes": [f"Encoder: OverlapShapesEncoder (3x3 convolutions, 63x63-pixel receptive field per "
                  f"cell), {args.encoder_steps} steps on {what}; validation {enc_acc}. Captioner: "
                  f"trained on its frozen features like the shipped one ({args.epochs} epochs, "
                  f"entropy weight {args.entropy_weight})."],
    }, directory=args.out)
    print(json.dumps({"metrics": m, "by_position": by_pos, "encoder": enc_acc}, indent=2))


if __name__ == "__main__":
    main()

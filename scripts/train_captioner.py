"""Train the CNN encoder and the attention captioner on the shapes data, from scratch, on one CPU.

    python scripts/train_captioner.py            # a few minutes on one core

Two stages, as in Xu et al. (2015), whose captioner reads a CNN trained beforehand for
classification:
1. the encoder learns to say, for each cell of its 4x4 grid, which colour and which shape lie
   there (or none) -- no caption is used;
2. the encoder is frozen, its features are computed once, and the attention captioner is
   trained on them with the caption loss plus a small penalty on the entropy of each attention
   distribution (it asks the model to look at few cells at a time). Attention is never
   supervised: where the model looks is whatever helped it predict the next word.

Writes to course_helpers/artifacts/:
- captioner.npz            encoder weights ("enc.*") and captioner weights ("cap.*"), float32
- caption_test_feats.npz   the encoder's features of the test split, float16 (N, 16, D)
- captioner.json           command, seed, configuration, learning curves, test metrics
and records the test metrics in results.json / RESULTS.md.
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

from course_helpers.artifacts import ARTIFACTS_DIR, command_line, record_results  # noqa: E402
from course_helpers.evaluation import caption_metrics, majority_caption  # noqa: E402
from course_helpers.models import AttentionCaptioner, ShapesEncoder, images_to_tensor  # noqa: E402
from course_helpers.shapes import VOCAB, cell_labels, decode_captions, load_shapes  # noqa: E402

CAPTIONER_NOTE = (
    "Training: (1) the encoder alone, {steps} steps, learns to name the colour and the shape in "
    "each cell of its 4x4 grid (validation accuracy on occupied cells: colour {color_occupied:.4f}, "
    "shape {shape_occupied:.4f}); (2) the encoder is frozen and the captioner is trained on its "
    "features with the caption loss plus {weight} x the entropy of each attention distribution "
    "(a penalty on diffuse attention that never says where to look). The captioner's loss "
    "uses no object location (only the encoder's pre-training knows which cell holds which "
    "object), so the attention figures are measured, not trained for."
)

MAJORITY_NOTE = (
    "The majority baseline captions every test image with the most frequent training caption. "
    "It has three words, hence no 4-gram, so its BLEU-4 is 0 by definition; its exact match is "
    "the share of test images that carry that caption."
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--encoder-steps", type=int, default=1500)
    ap.add_argument("--entropy-weight", type=float, default=0.1,
                    help="weight of the attention-entropy penalty (asks for focused attention, "
                         "never says where)")
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
    cfg = {"vocab_size": len(VOCAB), "feat_dim": args.feat_dim, "hidden_dim": args.hidden_dim,
           "embed_dim": args.embed_dim, "attn_dim": args.attn_dim}

    # ---- stage 1: the encoder names the contents of every cell
    encoder = ShapesEncoder(args.feat_dim)
    x_train = images_to_tensor(train.images)
    col_train, shp_train = (torch.from_numpy(a) for a in cell_labels(train))
    opt = torch.optim.Adam(encoder.parameters(), lr=args.lr)
    bar = tqdm(range(args.encoder_steps), desc="encoder", unit="step", mininterval=2.0)
    for step in bar:
        idx = torch.randint(len(train), (args.batch_size,), generator=gen)
        col_scores, shp_scores = encoder.cell_logits(encoder(x_train[idx]))
        loss = (F.cross_entropy(col_scores.reshape(-1, col_scores.shape[-1]),
                                col_train[idx].reshape(-1))
                + F.cross_entropy(shp_scores.reshape(-1, shp_scores.shape[-1]),
                                  shp_train[idx].reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    encoder.eval()
    with torch.no_grad():
        feats_train = encoder(train.images)
        feats_val = encoder(val.images)
        col_scores, shp_scores = encoder.cell_logits(feats_val)
    col_val, shp_val = cell_labels(val)
    cell_acc = {"color": float((col_scores.argmax(-1).numpy() == col_val).mean()),
                "shape": float((shp_scores.argmax(-1).numpy() == shp_val).mean())}
    occupied = col_val > 0
    cell_acc["color_occupied"] = float((col_scores.argmax(-1).numpy() == col_val)[occupied].mean())
    cell_acc["shape_occupied"] = float((shp_scores.argmax(-1).numpy() == shp_val)[occupied].mean())
    tqdm.write(f"encoder: validation cell accuracy {cell_acc}")

    # ---- stage 2: the captioner on the frozen features
    captioner = AttentionCaptioner(cfg["vocab_size"], args.feat_dim, args.hidden_dim,
                                   args.embed_dim, args.attn_dim)
    y_train = torch.from_numpy(train.captions)
    opt = torch.optim.Adam(captioner.parameters(), lr=args.lr)
    steps_per_epoch = len(train) // args.batch_size
    total_steps = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total_steps,
                                                pct_start=0.1)
    curves: dict[str, list] = {"epoch": [], "train_loss": [], "val_loss": [],
                               "val_exact_match": [], "val_attention": []}
    bar = tqdm(total=total_steps, desc="captioner", unit="step", mininterval=2.0)
    for epoch in range(1, args.epochs + 1):
        captioner.train()
        perm = torch.randperm(len(train), generator=gen)
        running = 0.0
        for k in range(steps_per_epoch):
            idx = perm[k * args.batch_size : (k + 1) * args.batch_size]
            loss = captioner.loss(feats_train[idx], y_train[idx],
                                  entropy_weight=args.entropy_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(captioner.parameters(), 5.0)
            opt.step()
            sched.step()
            running += loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        captioner.eval()
        m = caption_metrics(captioner, feats_val, val)
        curves["epoch"].append(epoch)
        curves["train_loss"].append(running / steps_per_epoch)
        curves["val_loss"].append(m["loss"])
        curves["val_exact_match"].append(m["exact_match"])
        curves["val_attention"].append(m["attention_teacher_forced"])
        tqdm.write(f"epoch {epoch}: train loss {running / steps_per_epoch:.3f}, val loss "
                   f"{m['loss']:.3f}, val exact match {m['exact_match']:.3f}, attention "
                   f"{m['attention_teacher_forced']:.3f}")
    bar.close()
    train_seconds = time.time() - t0

    # Ship float32 weights and float16 test features; measure the metrics on exactly those.
    args.out.mkdir(parents=True, exist_ok=True)
    arrays = {f"enc.{k}": v.detach().numpy().astype(np.float32)
              for k, v in encoder.state_dict().items()}
    arrays.update({f"cap.{k}": v.astype(np.float32) for k, v in captioner.numpy_params().items()})
    np.savez_compressed(args.out / "captioner.npz", **arrays)
    with torch.no_grad():
        test_feats = encoder(test.images).numpy().astype(np.float16)
    np.savez_compressed(args.out / "caption_test_feats.npz", feats=test_feats)

    eval_model = AttentionCaptioner(**{k: cfg[k] for k in cfg}).double()
    eval_model.load_numpy_params({k[4:]: v.astype(np.float64) for k, v in arrays.items()
                                  if k.startswith("cap.")})
    majority = majority_caption(train.texts)
    metrics = caption_metrics(eval_model, test_feats.astype(np.float64), test, majority)
    sampled, _ = eval_model.sample(torch.from_numpy(test_feats[:8].astype(np.float64)))
    samples = [f"true: {t}\nmodel: {h}" for t, h in
               zip(test.texts[:8], decode_captions(sampled.numpy()), strict=True)]

    command = command_line("scripts/train_captioner.py", sys.argv[1:])
    meta = {"command": command, "seed": args.seed, "config": cfg, "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_seconds": train_seconds, "curves": curves, "test_metrics": metrics,
        "encoder_val_cell_accuracy": cell_acc,
        "majority_caption": majority, "samples": samples,
        "torch_version": torch.__version__}
    (args.out / "captioner.json").write_text(json.dumps(meta, indent=2) + "\n")
    m = metrics
    record_results("captioner", {
        "title": "Attention captioning on the shapes data (test split, 1000 images)",
        "command": command, "seed": args.seed, "train_seconds": train_seconds,
        "files": ["captioner.npz", "caption_test_feats.npz", "captioner.json"],
        "metrics": metrics,
        "tables": [{"caption": "Greedy captions on the test split", "header":
                    ["model", "exact match", "BLEU-4"], "rows": [
                        ["attention captioner", m["exact_match"], m["bleu4"]],
                        [f"majority caption ('{majority}')", m["majority_exact_match"],
                         m["majority_bleu4"]]]},
                   {"caption": "Attention mass on the cells of the object a colour/shape word "
                    "names (4x4 grid)", "header": ["attention", "mean mass"], "rows": [
                        ["model, teacher-forced on true captions", m["attention_teacher_forced"]],
                        ["model, on its greedy captions", m["attention_greedy"]],
                        ["uniform (1/16 per cell)", m["attention_uniform"]]]}],
        "notes": [CAPTIONER_NOTE.format(steps=args.encoder_steps, **cell_acc,
                                        weight=args.entropy_weight), MAJORITY_NOTE],
        "samples": samples,
    }, directory=args.out)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()

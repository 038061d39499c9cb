"""Train small vanilla-RNN character models on three kinds of text, with snapshots during training.

    python scripts/train_char_kinds.py                       # prose, code and markup
    python scripts/train_char_kinds.py --kinds code          # only one

The texts (course_helpers.char_kinds.kind_corpus) come with the course's own dependencies: the
Python language reference (prose), standard-library source (code), PyTorch docstrings with LaTeX
maths (markup). Each is split contiguously into 90% training and 10% validation text. Training is
min-char-rnn at a slightly larger scale: one-hot characters, a tanh RNN, truncated BPTT over 32
parallel streams in windows of 64 characters, Adam with cosine decay, gradients clipped at norm 5.

Writes course_helpers/artifacts/char_kinds_<kind>.npz: float16 weights (row convention, keys
s<step>_Wx0, s<step>_Wh0, s<step>_b0, s<step>_Wy, s<step>_by) at every snapshot step, the
vocabulary ("chars"), the first --ship-val-chars characters of the validation text ("val_ids")
and the training record ("meta", JSON: command, seed, timing, bits/char of the shipped weights).
Records the results in results.json / RESULTS.md (section "char_kinds").
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

from course_helpers import char_kinds  # noqa: E402
from course_helpers.artifacts import ARTIFACTS_DIR, command_line, record_results  # noqa: E402
from course_helpers.text import CharVocab, tbptt_batches, train_val_split, unigram_bits_per_char  # noqa: E402


class StackedCharRNN(torch.nn.Module):
    """One-hot characters -> num_layers stacked tanh RNNs -> affine scores."""

    def __init__(self, vocab_size: int, hidden: int, layers: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = torch.nn.RNN(vocab_size, hidden, num_layers=layers, batch_first=True)
        self.out = torch.nn.Linear(hidden, vocab_size)

    def forward(self, x, h=None):
        y, h = self.rnn(F.one_hot(x, self.vocab_size).float(), h)
        return self.out(y), h

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Row-convention weights: Wx{l} (D_l, H), Wh{l} (H, H), b{l} (H,), Wy (H, V), by (V,)."""
        p = {}
        for layer in range(self.rnn.num_layers):
            w = {n: getattr(self.rnn, f"{n}_l{layer}").detach().double().numpy()
                 for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            p[f"Wx{layer}"] = w["weight_ih"].T
            p[f"Wh{layer}"] = w["weight_hh"].T
            p[f"b{layer}"] = w["bias_ih"] + w["bias_hh"]
        p["Wy"] = self.out.weight.detach().double().numpy().T
        p["by"] = self.out.bias.detach().double().numpy()
        return p


def train_model(name: str, text: str, args, layers: int, hidden: int, command: str) -> dict:
    """Train one model, write char_kinds_<name>.npz and return its record."""
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    train_ids, val_ids = train_val_split(ids, 0.1)
    shipped_val = val_ids[: args.ship_val_chars]
    unigram = unigram_bits_per_char(train_ids, shipped_val, vocab.size)
    torch.manual_seed(args.seed)
    model = StackedCharRNN(vocab.size, hidden, layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps, eta_min=args.lr / 20)
    snapshots = sorted(set(args.snapshots) | {args.steps})
    arrays, bpc, step, h = {}, {}, 0, None
    t0 = time.time()
    bar = tqdm(total=args.steps, desc=name, unit="step", mininterval=5.0)
    while step < args.steps:
        for x, y in tbptt_batches(train_ids, args.batch_size, args.seq_len):
            if step >= args.steps:
                break
            h = None if h is None else h.detach()          # truncated BPTT
            scores, h = model(torch.from_numpy(x), h)
            loss = F.cross_entropy(scores.reshape(-1, vocab.size), torch.from_numpy(y).reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            if step in snapshots:
                p16 = {k: v.astype(np.float16) for k, v in model.numpy_params().items()}
                arrays |= {f"s{step}_{k}": v for k, v in p16.items()}
                bpc[step] = char_kinds.bits_per_char(p16, shipped_val)   # what the book recomputes
                bar.set_postfix(bpc=f"{bpc[step]:.3f}", refresh=False)
        h = None
    bar.close()
    seconds = time.time() - t0
    n_params = sum(p.numel() for p in model.parameters())
    meta = {"name": name, "command": command, "seed": args.seed, "layers": layers, "hidden": hidden,
            "params": n_params, "steps": args.steps, "snapshot_bpc": {str(k): v for k, v in bpc.items()},
            "val_bpc": bpc[args.steps], "unigram_bpc": unigram, "train_seconds": seconds,
            "corpus_chars": len(text), "vocab_size": vocab.size, "val_chars": len(shipped_val),
            "config": {k: v for k, v in vars(args).items() if k != "out"},
            "torch_version": torch.__version__, "python_version": sys.version.split()[0]}
    np.savez_compressed(args.out / f"char_kinds_{name}.npz", **arrays, steps=np.array(snapshots),
                        chars=np.array("".join(vocab.chars)), val_ids=shipped_val.astype(np.uint8),
                        meta=np.array(json.dumps(meta)))
    print(f"{name}: {layers} x {hidden}, {n_params} parameters, {seconds:.0f} s; bits/char by step {bpc}; "
          f"unigram {unigram:.3f}")
    return meta


def add_common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--snapshots", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--max-chars", type=int, default=400_000)
    ap.add_argument("--ship-val-chars", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ARTIFACTS_DIR)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kinds", nargs="+", default=list(char_kinds.KINDS), choices=char_kinds.KINDS)
    ap.add_argument("--hidden", type=int, default=128)
    add_common_args(ap)
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    command = command_line("scripts/train_char_kinds.py", sys.argv[1:])
    records = {}
    for kind in args.kinds:
        text = char_kinds.kind_corpus(kind, args.max_chars)
        records[kind] = train_model(kind, text, args, layers=1, hidden=args.hidden, command=command)
    rows = [[k, r["corpus_chars"], r["vocab_size"],
             *[r["snapshot_bpc"][str(s)] for s in sorted(map(int, r["snapshot_bpc"]))], r["unigram_bpc"]]
            for k, r in records.items()]
    steps = sorted(map(int, next(iter(records.values()))["snapshot_bpc"]))
    record_results("char_kinds", {
        "title": "Character RNNs on three kinds of text (chapter 1: what RNNs learn)",
        "command": command, "seed": args.seed,
        "train_seconds": sum(r["train_seconds"] for r in records.values()),
        "files": [f"char_kinds_{k}.npz" for k in records],
        "metrics": {f"{k}_val_bpc": r["val_bpc"] for k, r in records.items()},
        "tables": [{"caption": f"Validation bits per character of the shipped float16 snapshots "
                               f"({args.ship_val_chars} held-out characters)",
                    "header": ["text", "corpus chars", "V", *[f"step {s}" for s in steps], "unigram"],
                    "rows": rows}],
        "notes": [f"Vanilla tanh RNN, hidden size {args.hidden}; {args.steps} steps of truncated BPTT, "
                  f"batch {args.batch_size} x {args.seq_len} characters, Adam lr {args.lr} with cosine "
                  f"decay, gradients clipped at norm {args.clip}. Training times (one CPU thread, shared "
                  "machine): " + ", ".join(f"{k} {r['train_seconds']:.0f} s" for k, r in records.items())
                  + "."],
    }, directory=args.out)


if __name__ == "__main__":
    main()

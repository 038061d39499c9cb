"""Train character-level language models (vanilla tanh RNN and LSTM) on the default corpus.

    python scripts/train_char.py                 # both models, a few minutes each on one core
    python scripts/train_char.py --kinds lstm    # only one

The corpus is the docstrings of Python standard-library modules (course_helpers.text), split
contiguously into 90% training and 10% validation text. Training uses truncated BPTT: the text
is read as 32 parallel streams in windows of 64 characters, the hidden state is carried from one
window to the next and detached.

Writes to course_helpers/artifacts/:
- char_rnn.npz, char_lstm.npz   float32 weights in the solutions' convention (Wx, Wh, b, Wy, by),
                                the vocabulary ("chars") and the validation text ("val_text")
- char_models.json              command, seed, learning curves, bits/char, samples
and records the results in results.json / RESULTS.md.
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
from course_helpers.evaluation import char_bits_per_char  # noqa: E402
from course_helpers.metrics import bits_per_char  # noqa: E402
from course_helpers.models import CharRNN  # noqa: E402
from course_helpers.text import (  # noqa: E402
    CharVocab,
    default_corpus,
    tbptt_batches,
    train_val_split,
    unigram_bits_per_char,
)


@torch.no_grad()
def sample_text(model: CharRNN, vocab: CharVocab, prefix: str, n: int, temperature: float,
                seed: int) -> str:
    """Sample n characters after prefix, one at a time, with softmax temperature."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(vocab.encode(prefix))[None]
    scores, state = model(x)
    out = []
    for _ in range(n):
        p = torch.softmax(scores[0, -1] / temperature, dim=0)
        idx = int(torch.multinomial(p, 1, generator=gen))
        out.append(vocab.itos[idx])
        scores, state = model(torch.tensor([[idx]]), state)
    return prefix + "".join(out)


def train_one(kind: str, args, train_ids, val_ids, vocab) -> tuple[CharRNN, dict]:
    torch.manual_seed(args.seed)
    model = CharRNN(vocab.size, args.hidden, kind)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps, eta_min=args.lr / 20)
    curve = {"step": [], "train_bpc": [], "val_bpc": []}
    val_probe = val_ids[: args.val_probe_chars]
    step, state, running, count = 0, None, 0.0, 0
    bar = tqdm(total=args.steps, desc=f"char {kind}", unit="step", mininterval=2.0)
    while step < args.steps:
        for x, y in tbptt_batches(train_ids, args.batch_size, args.seq_len):
            if step >= args.steps:
                break
            if state is not None:   # truncated BPTT: keep the state's value, cut its history
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) \
                    else state.detach()
            scores, state = model(torch.from_numpy(x), state)
            loss = F.cross_entropy(scores.reshape(-1, vocab.size), torch.from_numpy(y).reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            step += 1
            running += loss.item()
            count += 1
            bar.update(1)
            if step % args.eval_every == 0 or step == args.steps:
                model.eval()
                val_bpc = char_bits_per_char(model, val_probe)
                model.train()
                curve["step"].append(step)
                curve["train_bpc"].append(bits_per_char(running / count))
                curve["val_bpc"].append(val_bpc)
                bar.set_postfix(train=f"{curve['train_bpc'][-1]:.2f}", val=f"{val_bpc:.2f}", refresh=False)
                running, count = 0.0, 0
        state = None   # a new pass over the text starts from a zero state
    bar.close()
    return model.eval(), curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kinds", nargs="+", default=["rnn", "lstm"], choices=["rnn", "lstm"])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--val-probe-chars", type=int, default=10000,
                    help="validation characters scored at each curve point (the final figure "
                         "uses the whole validation text)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ARTIFACTS_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)

    text = default_corpus()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    train_ids, val_ids = train_val_split(ids, 0.1)
    val_text = vocab.decode(val_ids)
    unigram = unigram_bits_per_char(train_ids, val_ids, vocab.size)
    print(f"corpus: {len(text)} characters, V={vocab.size}; unigram baseline {unigram:.3f} "
          "bits/char on validation")

    args.out.mkdir(parents=True, exist_ok=True)
    meta_path = args.out / "char_models.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"curves": {}, "models": {}}
    command = command_line("scripts/train_char.py", sys.argv[1:])
    for kind in args.kinds:
        t0 = time.time()
        model, curve = train_one(kind, args, train_ids, val_ids, vocab)
        seconds = time.time() - t0
        params = {k: v.astype(np.float32) for k, v in model.numpy_params().items()}
        np.savez_compressed(args.out / f"char_{kind}.npz", **params, chars=np.array(vocab.chars),
                            val_text=np.array(val_text))
        # Measure the shipped (float32-rounded) weights on the whole validation text.
        shipped = CharRNN(vocab.size, args.hidden, kind).load_numpy_params(params).eval()
        val_bpc = char_bits_per_char(shipped, val_ids)
        samples = [sample_text(shipped, vocab, "The ", 300, t, seed=args.seed) for t in (0.5, 1.0)]
        meta["curves"][kind] = curve
        meta["models"][kind] = {"hidden": args.hidden, "val_bpc": val_bpc, "train_seconds": seconds,
                                "steps": args.steps, "samples": {"0.5": samples[0],
                                                                 "1.0": samples[1]}}
        print(f"{kind}: validation {val_bpc:.3f} bits/char (unigram {unigram:.3f}), "
              f"{seconds:.0f} s\n--- sample, temperature 0.5 ---\n{samples[0]}\n")
    meta.update({"command": command, "seed": args.seed, "unigram_bpc": unigram,
                 "corpus_chars": len(text), "vocab_size": vocab.size, "val_chars": len(val_ids),
                 "eval": "windows of 100 characters from a zero state, whole validation text",
                 "config": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in vars(args).items()},
                 "python_version": sys.version.split()[0], "torch_version": torch.__version__})
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")

    models = meta["models"]
    rows = [[k, models[k]["hidden"], models[k]["val_bpc"], unigram] for k in sorted(models)]
    record_results("char", {
        "title": "Character-level language models on the standard-library docstrings",
        "command": command, "seed": args.seed,
        "train_seconds": sum(models[k]["train_seconds"] for k in models),
        "files": [f"char_{k}.npz" for k in sorted(models)] + ["char_models.json"],
        "metrics": {f"{k}_val_bpc": models[k]["val_bpc"] for k in models} | {"unigram_bpc": unigram},
        "tables": [{"caption": f"Validation bits per character ({len(val_ids)} characters)",
                    "header": ["model", "hidden size", "val bits/char", "unigram bits/char"],
                    "rows": rows}],
        "notes": [f"Validation text: the last 10% of the corpus ({len(val_ids)} characters, "
                  "stored in each char_*.npz), read in windows of 100 characters from a zero "
                  "state. The unigram baseline uses the training-text character frequencies "
                  f"(add-one smoothing). Training: {args.steps} steps of truncated BPTT, batch "
                  f"{args.batch_size} x {args.seq_len} characters, Adam lr {args.lr} with "
                  f"cosine decay, gradients clipped at norm {args.clip}."],
        "samples": [f"{k}, temperature 0.5:\n{models[k]['samples']['0.5']}" for k in sorted(models)],
    }, directory=args.out)


if __name__ == "__main__":
    main()

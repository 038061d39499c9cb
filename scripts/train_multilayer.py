"""Train two-layer character RNNs to compare with the one-layer model of the same text (chapter 1).

    python scripts/train_multilayer.py            # after scripts/train_char_kinds.py --kinds prose

Same text (the prose corpus), same schedule and same seed as the one-layer model of
scripts/train_char_kinds.py (only the final weights are shipped); two stacked tanh RNN layers
instead of one:

- prose_2layer:        hidden size 128 per layer (the same width: more parameters),
- prose_2layer_small:  the hidden size that makes the parameter count closest to the one-layer
                       model's (the same budget, spent on depth).

Writes course_helpers/artifacts/char_kinds_prose_2layer.npz and char_kinds_prose_2layer_small.npz
(format: scripts/train_char_kinds.py) and records results.json / RESULTS.md (section
"char_multilayer").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_helpers import char_kinds  # noqa: E402
from course_helpers.artifacts import command_line, record_results  # noqa: E402
from scripts.train_char_kinds import add_common_args, train_model  # noqa: E402


def rnn_param_count(V: int, H: int, layers: int) -> int:
    """Parameters of torch.nn.RNN (two biases per layer) plus the affine read-out."""
    first = V * H + H * H + 2 * H
    deeper = (layers - 1) * (H * H + H * H + 2 * H)
    return first + deeper + H * V + V


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kind", default="prose", choices=char_kinds.KINDS)
    ap.add_argument("--hidden", type=int, default=128, help="hidden size of the one-layer model")
    add_common_args(ap)
    ap.set_defaults(snapshots=[])          # ship only the final weights: the comparison needs no more
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    command = command_line("scripts/train_multilayer.py", sys.argv[1:])
    text = char_kinds.kind_corpus(args.kind, args.max_chars)
    V = len(set(text))
    budget = rnn_param_count(V, args.hidden, 1)
    small = min(range(8, args.hidden + 1), key=lambda h: abs(rnn_param_count(V, h, 2) - budget))
    records = {}
    for suffix, hidden in [("2layer", args.hidden), ("2layer_small", small)]:
        name = f"{args.kind}_{suffix}"
        records[name] = train_model(name, text, args, layers=2, hidden=hidden, command=command)
    rows = [[n, r["layers"], r["hidden"], r["params"], r["val_bpc"], 2 ** r["val_bpc"]] for n, r in records.items()]
    record_results("char_multilayer", {
        "title": "One vs two layers: character RNNs on the prose text (chapter 1)",
        "command": command, "seed": args.seed,
        "train_seconds": sum(r["train_seconds"] for r in records.values()),
        "files": [f"char_kinds_{n}.npz" for n in records],
        "metrics": {f"{n}_val_bpc": r["val_bpc"] for n, r in records.items()},
        "tables": [{"caption": "Validation bits per character and perplexity (2^bpc) of the shipped float16 "
                               "weights; compare with the one-layer model in the char_kinds section",
                    "header": ["model", "layers", "hidden", "parameters", "val bits/char", "perplexity"],
                    "rows": rows}],
        "notes": [f"Same text, schedule ({args.steps} steps) and seed as the one-layer {args.kind} model. "
                  f"{args.kind}_2layer_small has hidden size {small}, the parameter count closest to the "
                  f"one-layer model's {budget}. Training times (one CPU thread, shared machine): "
                  + ", ".join(f"{n} {r['train_seconds']:.0f} s" for n, r in records.items()) + "."],
    }, directory=args.out)


if __name__ == "__main__":
    main()

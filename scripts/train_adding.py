"""Train a vanilla RNN, an LSTM and a GRU on the adding problem at several sequence lengths.

    python scripts/train_adding.py                     # T = 10, 50, 100; under 10 minutes on one core
    python scripts/train_adding.py --lengths 100 --kinds lstm

Every step draws a fresh batch from a seeded generator (course_helpers.tasks.adding_problem).
A run stops early once its validation MSE is below --stop-mse (the task is then solved) and
otherwise after the step budget for its length. The final figure is the MSE on a fixed test set
of 2000 sequences (seed 12345), against the 0.1667 of always predicting 1.

Writes to course_helpers/artifacts/:
- adding_models.npz    float32 weights of every run, keys "<kind>_T<T>.<name>" (solutions' convention)
- adding_models.json   command, seed, learning curves (validation MSE against step), final MSEs
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
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_helpers.artifacts import ARTIFACTS_DIR, command_line, record_results  # noqa: E402
from course_helpers.evaluation import adding_eval_mse  # noqa: E402
from course_helpers.models import SequenceRegressor  # noqa: E402
from course_helpers.tasks import ADDING_BASELINE_MSE, adding_problem  # noqa: E402

MAX_STEPS = {10: 1500, 50: 2500, 100: 3000}


def train_one(kind: str, T: int, args) -> tuple[SequenceRegressor, dict]:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng([args.seed, T])
    model = SequenceRegressor(kind, input_size=2, hidden_size=args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    x_val, y_val = (torch.from_numpy(a) for a in adding_problem(500, T, seed=999, dtype=np.float32))
    curve: dict[str, list] = {"step": [], "mse": []}
    max_steps = MAX_STEPS.get(T, 3000) if args.max_steps is None else args.max_steps
    bar = tqdm(total=max_steps, desc=f"adding {kind} T={T}", unit="step", mininterval=2.0)
    for step in range(1, max_steps + 1):
        x, y = (torch.from_numpy(a) for a in adding_problem(args.batch_size, T, seed=rng,
                                                            dtype=np.float32))
        loss = torch.mean((model(x) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        bar.update(1)
        if step % args.eval_every == 0 or step == max_steps:
            with torch.no_grad():
                val = torch.mean((model(x_val) - y_val) ** 2).item()
            curve["step"].append(step)
            curve["mse"].append(val)
            bar.set_postfix(val_mse=f"{val:.4f}", refresh=False)
            if val < args.stop_mse:
                break
    bar.close()
    return model.eval(), curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kinds", nargs="+", default=["rnn", "lstm", "gru"],
                    choices=["rnn", "lstm", "gru"])
    ap.add_argument("--lengths", nargs="+", type=int, default=[10, 50, 100])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--max-steps", type=int, default=None,
                    help=f"step budget per run (default per length: {MAX_STEPS})")
    ap.add_argument("--stop-mse", type=float, default=0.001)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ARTIFACTS_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)

    npz_path, meta_path = args.out / "adding_models.npz", args.out / "adding_models.json"
    arrays: dict[str, np.ndarray] = {}
    if npz_path.exists():
        with np.load(npz_path) as f:
            arrays = {k: f[k] for k in f.files}
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"curves": {}, "runs": {}}
    command = command_line("scripts/train_adding.py", sys.argv[1:])

    for T in args.lengths:
        for kind in args.kinds:
            t0 = time.time()
            model, curve = train_one(kind, T, args)
            seconds = time.time() - t0
            params = {k: np.asarray(v, dtype=np.float32) for k, v in model.numpy_params().items()}
            for k, v in params.items():
                arrays[f"{kind}_T{T}.{k}"] = v
            shipped = SequenceRegressor(kind, 2, args.hidden).load_numpy_params(params).eval()
            test_mse = adding_eval_mse(shipped, T)
            meta["curves"].setdefault(f"T={T}", {})[kind] = curve
            meta["runs"][f"{kind}_T{T}"] = {"kind": kind, "T": T, "test_mse": test_mse,
                                            "steps": curve["step"][-1], "train_seconds": seconds}
            tqdm.write(f"{kind} T={T}: test MSE {test_mse:.4f} (baseline "
                       f"{ADDING_BASELINE_MSE:.4f}) after {curve['step'][-1]} steps, {seconds:.0f} s")
    np.savez_compressed(npz_path, **arrays)
    meta.update({"command": command, "seed": args.seed, "baseline_mse": ADDING_BASELINE_MSE,
                 "test_set": {"n": 2000, "seed": 12345},
                 "config": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in vars(args).items()} | {"max_steps_per_T": MAX_STEPS},
                 "torch_version": torch.__version__})
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")

    runs = meta["runs"]
    lengths = sorted({r["T"] for r in runs.values()})
    kinds = [k for k in ("rnn", "lstm", "gru") if any(r["kind"] == k for r in runs.values())]
    rows = [[f"T={T}"] + [runs[f"{k}_T{T}"]["test_mse"] if f"{k}_T{T}" in runs else "-"
                          for k in kinds] + [ADDING_BASELINE_MSE] for T in lengths]
    steps = [[f"T={T}"] + [runs[f"{k}_T{T}"]["steps"] if f"{k}_T{T}" in runs else "-"
                           for k in kinds] for T in lengths]
    notes = ["Each run draws a fresh batch of 64 sequences per step and stops at the first "
             f"validation check (every {args.eval_every} steps, 500 sequences) whose MSE is "
             f"below {args.stop_mse}, else at its step budget {MAX_STEPS}. Hidden size "
             f"{args.hidden}, Adam lr {args.lr}, gradients clipped at norm 1."]
    record_results("adding", {
        "title": "The adding problem (Hochreiter & Schmidhuber 1997)",
        "command": command, "seed": args.seed,
        "train_seconds": sum(r["train_seconds"] for r in runs.values()),
        "files": ["adding_models.npz", "adding_models.json"],
        "metrics": {k: r["test_mse"] for k, r in runs.items()} | {"baseline": ADDING_BASELINE_MSE},
        "tables": [{"caption": "Test MSE (2000 sequences, seed 12345); predicting 1 scores 0.1667",
                    "header": ["length"] + kinds + ["baseline"], "rows": rows},
                   {"caption": f"Training steps (batch {args.batch_size}; a run stops once its "
                    f"validation MSE < {args.stop_mse})", "header": ["length"] + kinds,
                    "rows": steps}],
        "notes": notes,
    }, directory=args.out)


if __name__ == "__main__":
    main()

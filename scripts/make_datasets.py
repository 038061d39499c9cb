"""Regenerate every data set of the course from its seed and report how long each takes.

    python scripts/make_datasets.py                  # time them (nothing is written)
    python scripts/make_datasets.py --out data/      # also save them as .npz files

Nothing in the course needs the saved files: each data set is regenerated on demand in seconds
(text: read from the Python standard library; tasks and shapes: from their seeds). Saving is
for people who want to inspect the data outside Python or share exactly what they trained on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_helpers import shapes, tasks, text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="folder to save .npz files in")
    args = ap.parse_args()

    def corpus() -> dict[str, np.ndarray]:
        t = text.default_corpus()
        vocab = text.CharVocab.from_text(t)
        return {"ids": vocab.encode(t), "chars": np.array(vocab.chars)}

    def adding() -> dict[str, np.ndarray]:
        out = {}
        for T in (10, 50, 100):
            x, y = tasks.adding_problem(2000, T, seed=12345)
            out[f"x_T{T}"], out[f"y_T{T}"] = x, y
        return out

    def copy() -> dict[str, np.ndarray]:
        x, y = tasks.copy_task(2000, seq_len=10, delay=20, n_symbols=8, seed=0)
        return {"x": x, "y": y}

    def shapes_split(name: str):
        def make() -> dict[str, np.ndarray]:
            n, seed = shapes.SPLITS[name]
            d = shapes.make_shapes_split(n, seed)
            return {"images": d.images, "captions": d.captions, "n_objects": d.n_objects,
                    "colors": d.colors, "shapes": d.shapes, "boxes": d.boxes, "masks": d.masks,
                    "word_object": d.word_object, "texts": np.array(d.texts)}
        return make

    jobs = [("text corpus", corpus), ("adding problem test sets", adding), ("copy task", copy)]
    jobs += [(f"shapes {s}", shapes_split(s)) for s in shapes.SPLITS]
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    rows, total = [], 0.0
    for name, make in tqdm(jobs, desc="datasets", unit="set"):
        t0 = time.time()
        arrays = make()
        seconds = time.time() - t0
        total += seconds
        if args.out is not None:
            np.savez_compressed(args.out / (name.replace(" ", "_") + ".npz"), **arrays)
        rows.append((name, seconds))
    print("\n| data set | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")
    print(f"| total | {total:.2f} |")


if __name__ == "__main__":
    main()

"""Shape checks that explain themselves.

Each reference function declares the shape of every argument with symbolic dimensions, for
example ``x="N D", prev_h="N H", Wh="H H"``. The first argument that mentions a dimension fixes
its size; a later argument that disagrees raises a ValueError such as

    rnn_step_forward: Wh has shape (5, 4) but must be (H, H) = (5, 5) (H = 5 from prev_h)

so a student calling the reference learns which argument is wrong and what it should be.
"""

from __future__ import annotations

import numpy as np


def check_shapes(func: str, **specs: tuple[object, str]) -> dict[str, int]:
    """Check named arrays against symbolic shapes; return the size bound to each dimension.

    specs: name=(array, "N T D"). A dimension written as a digit must have that exact size.
    """
    dims: dict[str, int] = {}
    source: dict[str, str] = {}
    for name, (arr, spec) in specs.items():
        if not isinstance(arr, np.ndarray):
            raise ValueError(
                f"{func}: {name} must be a numpy array of shape ({', '.join(spec.split())}), "
                f"got {type(arr).__name__}"
            )
        symbols = spec.split()
        if arr.ndim != len(symbols):
            raise ValueError(
                f"{func}: {name} has shape {arr.shape} ({arr.ndim}-D) but must be "
                f"{len(symbols)}-D with shape ({', '.join(symbols)})"
            )
        for axis, sym in enumerate(symbols):
            size = arr.shape[axis]
            if sym.isdigit():
                expected = int(sym)
            elif sym in dims:
                expected = dims[sym]
            else:
                dims[sym] = size
                source[sym] = name
                continue
            if size != expected:
                want = tuple(dims.get(s, int(s) if s.isdigit() else "?") for s in symbols)
                origin = f" ({sym} = {expected} from {source[sym]})" if sym in source else ""
                raise ValueError(
                    f"{func}: {name} has shape {arr.shape} but must be "
                    f"({', '.join(symbols)}) = {want}{origin}"
                )
    return dims


def check_float(func: str, **arrays: np.ndarray) -> None:
    """Require floating-point arrays (integer weights would silently truncate updates)."""
    for name, arr in arrays.items():
        if not np.issubdtype(np.asarray(arr).dtype, np.floating):
            raise ValueError(f"{func}: {name} must be a floating-point array, got dtype {np.asarray(arr).dtype}")


def check_indices(func: str, name: str, idx: np.ndarray, size: int, what: str) -> None:
    """Require an integer array whose entries index an axis of length `size`."""
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{func}: {name} must hold integer indices, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.max() if idx.max() >= size else idx.min()
        raise ValueError(f"{func}: {name} contains index {bad}, but {what} has only {size} entries (0..{size - 1})")

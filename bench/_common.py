"""Helpers shared by the benchmarks: timing and writing a results table."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 2) -> list[float]:
    """Wall-clock seconds of `repeats` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def median_ms(times: list[float]) -> float:
    return 1000 * statistics.median(times)


def write_results(name: str, title: str, columns: list[str], rows: list[list], notes: str = "",
                  extra: dict | None = None) -> str:
    """Print a Markdown table and write it to results/<name>.md, with the raw rows in <name>.json."""
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.processor() or platform.machine()}, {platform.python_version()}"
    lines = [f"# {title}", "", f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine}.", ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(f"{c:.3g}" if isinstance(c, float) else str(c) for c in row) + " |")
    if notes:
        lines += ["", notes]
    text = "\n".join(lines) + "\n"
    (RESULTS / f"{name}.md").write_text(text)
    payload = {"title": title, "columns": columns, "rows": rows, "notes": notes, **(extra or {})}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))
    print(text)
    return text

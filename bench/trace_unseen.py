"""Tracing against attacks the main benchmark does not use: other excerpt lengths, five
colluders, more typos, combined attacks, and evidence from copies of members who are not
among the recipients (every accusation there is of an innocent).

The tracer was tuned on ``bench/trace.py``'s rows; these rows check that what it does
carries over to parameters it was not tuned on, and measure false accusations where the
true leaker cannot be accused at all. Same sample, key, recipients and renderer as
``bench/trace.py`` (imported from it).

    .venv/bin/python bench/trace_unseen.py               # 200 trials per row
    .venv/bin/python bench/trace_unseen.py --trials 40 --only c5-

A trial succeeds when a true leaker is accused; "innocents" counts accused members who
did not leak, summed over the trials (target 0 everywhere). Exit code 0 unless something
raises.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("trace_bench", BENCH / "trace.py")
assert _spec is not None and _spec.loader is not None
tb = importlib.util.module_from_spec(_spec)
sys.modules["trace_bench"] = tb
_spec.loader.exec_module(tb)

OUTSIDERS = 50_000  # member numbers of copies issued to nobody among the recipients


def _excerpt(length: int, bench: Any, leakers: list[str], rng: random.Random) -> str:
    return tb.excerpt(bench.copy(leakers[0]), length, rng)


def _typed(length: int, rate: float, bench: Any, leakers: list[str], rng: random.Random) -> str:
    """A stretch of the copy, cleaned of marks and retyped with ``rate`` typos."""
    text = tb.excerpt(tb.cleaned(bench.copy(leakers[0])), length, rng)
    return tb.typos(text, rate, rng, bench.pool)


def _drop_then_homogenise(bench: Any, leakers: list[str], rng: random.Random) -> str:
    return tb.homogenised(tb._by_slot(tb.drop_differing, bench, leakers, rng))


def _keep_one_in(share: float, bench: Any, leakers: list[str], rng: random.Random) -> str:
    """Every invisible mark deleted with probability 1 − ``share`` (a partial strip)."""
    out = []
    for ch in bench.copy(leakers[0]):
        if ch in tb._MARKS and rng.random() >= share:
            continue
        out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Unseen:
    id: str
    label: str
    colluders: int
    evidence: Callable[[Any, list[str], random.Random], str]
    outsiders: bool = False  # leakers are not recipients: only false accusations can happen
    strength: str = "light"


def rows() -> list[Unseen]:
    by_slot = tb._by_slot
    return [
        Unseen("excerpt-120", "120-character excerpt", 1, partial(_excerpt, 120)),
        Unseen("excerpt-220", "220-character excerpt", 1, partial(_excerpt, 220)),
        Unseen("typed-600-3", "600 characters retyped, 3% typos", 1, partial(_typed, 600, 0.03)),
        Unseen("partial-strip", "a third of the invisible marks kept", 1, partial(_keep_one_in, 1 / 3)),
        Unseen("c2-drop-homog", "2 colluders: differing marks deleted, rest homogenised", 2, _drop_then_homogenise),
        Unseen("c5-majority", "5 colluders: majority vote per slot", 5, partial(by_slot, tb.majority_vote)),
        Unseen("c5-slots", "5 colluders: each slot from a random colluder", 5, partial(by_slot, tb.slot_random)),
        Unseen("c5-drop", "5 colluders: differing marks deleted", 5, partial(by_slot, tb.drop_differing)),
        Unseen("out-copy", "outsider's whole copy (nobody to name)", 1, partial(tb._single, lambda t: t), True),
        Unseen("out-excerpt-90", "outsider's 90-character excerpt", 1, partial(_excerpt, 90), True),
        Unseen("out-c3-drop", "3 outsiders: differing marks deleted", 3, partial(by_slot, tb.drop_differing), True),
        Unseen("out-c4-majority", "4 outsiders: majority vote", 4, partial(by_slot, tb.majority_vote), True),
    ]  # fmt: skip


def run(bench: Any, row: Unseen, trials: int, seed: int) -> dict[str, Any]:
    rng = random.Random(f"unseen:{seed}:{row.id}")
    pool = tb.member_ids(OUTSIDERS - tb.FIRST_MEMBER + 1000)[-1000:] if row.outsiders else None
    detected = false = 0
    positions = []
    for _ in range(trials):
        leakers = rng.sample(pool or bench.recipients, row.colluders)
        reading = tb.read_evidence(bench.base, bench.plan, row.evidence(bench, leakers, rng))
        accused = {s.member for s in tb.accuse(reading, bench.key, bench.recipients).accused}
        detected += bool(accused & set(leakers))
        false += len(accused - set(leakers))
        positions.append(reading.positions)
    return {
        "id": row.id,
        "label": row.label,
        "trials": trials,
        "detected": None if row.outsiders else detected / trials,
        "innocents_accused": false,
        "positions_median": float(np.median(positions)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--only", type=lambda s: s.split(","), default=[""])
    args = parser.parse_args(argv)
    benches: dict[str, Any] = {}
    print(f"load {os.getloadavg()[0]:.1f}; {args.trials} trials per row, seed {args.seed}")
    print(f"{'evidence':56} {'named':>7} {'innocents':>9} {'positions':>9}")
    for row in rows():
        if not row.id.startswith(tuple(args.only)):
            continue
        if row.strength not in benches:
            benches[row.strength] = tb.load_bench(args.seed, row.strength)
        result = run(benches[row.strength], row, args.trials, args.seed)
        named = "—" if result["detected"] is None else f"{result['detected']:.1%}"
        print(
            f"{row.label:56} {named:>7} {result['innocents_accused']:>9} "
            f"{result['positions_median']:>9.0f}",
            flush=True,
        )
    print(f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

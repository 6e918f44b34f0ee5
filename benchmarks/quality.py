"""The quality sweep of issue 3: many levels, each checked by the tests' own independent
checker (``tests.generation.checker``), with the figures the issue asks for.

Specs are drawn deterministically from the sweep index: sides from 16 to 512 (skewed to
small maps so that large ones are a proportionate minority: each side is
``16 · 32^(u^2.5)``), rooms from 1 to the most that fit (at most 2,000; a tenth at the most,
a tenth at 1-4, the rest log-uniform), every theme, difficulty 1-10, loops 0-1; every
1,000th level is the largest spec (512x512, 2,000 rooms). Levels are generated and checked
in a pool of worker processes (both cores by default).

    .venv/bin/python benchmarks/quality.py [--seeds 10000] [--designed 10000] [--processes 2]

Prints the pass rate of every rule, then loops, dead ends, critical path, locks, enemies,
treasure and theme figures, and the time taken.

Then the designed sweep (issue 21, CONTRACT §4.1): ``--designed`` specs of the same sizes
and themes with random satisfiable constraints and prefabs (``designed_spec`` of the
tests' strategies: drawn within what the rooms allow, anything a 422 rule still refuses
left out), each checked for every constraint, every prefab copy and every rule; it
prints the share meeting all of them (the goal: 100 %, no ``constraints_unmet``), the
share met on the first attempt and the mean attempts.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for ``tests.generation.checker``

from levelforge.errors import ConstraintsUnmet, GenerationFailed
from levelforge.generation import IMPLEMENTATION, generate_level
from tests.generation.checker import (
    CHECKS,
    Level,
    check_by_rule,
    dead_end_tiles,
    room_distances,
    room_graph,
)
from tests.generation.strategies import designed_spec

THEMES = ("dungeon", "crypt", "cave")
RULES = (
    "generated",
    "cores_agree",
    "minimap_shape",
    *(check.__name__.removeprefix("_check_") for check in CHECKS),
)
"""``cores_agree``: the compiled core and the pure-Python pipeline give the same bytes of
every artifact (both run for every level; with the core not built, both are pure)."""


def sweep_spec(index: int) -> dict[str, Any]:
    """The spec of sweep level ``index``."""
    rng = random.Random(f"levelforge-quality:{index}")
    if index % 1000 == 999:
        width = height = 512
        rooms = 2000
    else:
        width = round(16 * 32 ** (rng.random() ** 2.5))
        height = round(16 * 32 ** (rng.random() ** 2.5))
        most = min(2000, width * height // 64)
        pick = rng.random()
        if pick < 0.1:
            rooms = most
        elif pick < 0.2:
            rooms = rng.randint(1, min(4, most))
        else:
            rooms = min(most, round(math.exp(rng.uniform(0, math.log(most)))))
    return {
        "seed": rng.randrange(2**53),
        "width": width,
        "height": height,
        "rooms": rooms,
        "difficulty": rng.randint(1, 10),
        "theme": THEMES[index % 3],
        "loops": round(rng.random(), 2),
    }


def measure(index: int) -> dict[str, Any]:
    """Generate and check one level; its rule results and figures."""
    spec = sweep_spec(index)
    start = time.process_time()
    try:
        level = generate_level(spec)
        generated = time.process_time()
        artifacts = level.artifacts()
        agree = generate_level(spec, pure=True).artifacts() == artifacts
    except GenerationFailed as exc:
        return {"spec": spec, "failed": {"generated": [str(exc)]}, "generate_s": time.process_time() - start}
    compared = time.process_time()
    graph, minimap = level.scene_graph, level.minimap
    found = check_by_rule(spec, graph, minimap)
    if not agree:
        found["cores_agree"] = ["the compiled and pure-Python artifacts differ"]
    checked = time.process_time()
    return {
        "spec": spec,
        "failed": {rule: problems[:3] for rule, problems in found.items() if problems},
        "generate_s": generated - start,
        "check_s": checked - compared,
        **_figures(spec, graph, minimap),
    }


def _figures(spec: dict[str, Any], graph: dict[str, Any], minimap: str) -> dict[str, Any]:
    level = Level(graph, minimap)
    stats, rooms = graph["stats"], graph["rooms"]
    path = set(graph["critical_path"])
    side = [room for room in rooms if room["id"] not in path]
    dead_end_sides = [room for room in side if len(level.links[room["id"]]) == 1]
    treasure_rooms = {item["room"] for item in graph["items"] if item["kind"] == "treasure"}
    floor = sum(len(level.floors[room["id"]]) for room in rooms if room["id"] != graph["entrance"]["room"])
    corridors = graph["corridors"]
    return {
        "loops_wanted": round(spec["loops"] * spec["rooms"]),
        "loops_possible": stats["loops_possible"],
        "loops": stats["loops"],
        "loop_detours": _loop_detours(graph) if len(rooms) <= 300 else [],
        "dead_end_tiles": dead_end_tiles(level),
        "path_rooms": stats["critical_path_rooms"],
        "path_tiles": stats["critical_path_tiles"],
        "locked_rooms": sum(item["kind"] == "key" for item in graph["items"]),
        "enemies_per_100_tiles": 100 * sum(not e["boss"] for e in graph["enemies"]) / floor
        if floor
        else None,
        "side_rooms": len(side),
        "side_rooms_with_treasure": sum(room["id"] in treasure_rooms for room in side),
        "dead_end_side_rooms": len(dead_end_sides),
        "caverns": sum(room.get("shape") == "cavern" for room in rooms),
        "mean_room_area": statistics.mean(len(level.floors[room["id"]]) for room in rooms),
        "corridor_turns": statistics.mean(_turns(c["tiles"]) for c in corridors) if corridors else None,
        "corridor_width": _width(level, corridors),
        "attempts": stats["attempts"],
    }


def _loop_detours(graph: dict[str, Any]) -> list[int]:
    """For each loop corridor, the corridors one would walk between its rooms without it."""
    detours = []
    for corridor in graph["corridors"]:
        if not corridor.get("loop"):
            continue
        others = {**graph, "corridors": [c for c in graph["corridors"] if c["id"] != corridor["id"]]}
        a, b = corridor["connects"]
        detours.append(room_distances(room_graph(others), a).get(b, -1))
    return detours


def _turns(tiles: list[list[int]]) -> int:
    steps = [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(tiles)]
    return sum(s1 != s2 for s1, s2 in itertools.pairwise(steps))


def _width(level: Level, corridors: list[dict[str, Any]]) -> float | None:
    """Corridor tiles with a corridor tile on both sides across their way (ragged, wide)."""
    tiles = level.corridor_tiles()
    if not tiles:
        return None
    wide = sum(
        ((x + 1, y) in tiles and (x - 1, y) in tiles and (x, y + 1) not in tiles and (x, y - 1) not in tiles)
        is False
        and sum(n in tiles for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1))) >= 3
        for x, y in tiles
    )
    return wide / len(tiles)


def _mean(values: Iterable[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return statistics.mean(kept) if kept else math.nan


def report(results: list[dict[str, Any]], elapsed: float, processes: int) -> None:
    count = len(results)
    print(
        f"\nlevels: {count}  (sizes {min(r['spec']['width'] * r['spec']['height'] for r in results)}"
        f" to {max(r['spec']['width'] * r['spec']['height'] for r in results)} tiles, "
        f"rooms 1 to {max(r['spec']['rooms'] for r in results)}); pipeline: {IMPLEMENTATION}, "
        "each level also made by the pure-Python pipeline and compared (cores_agree)"
    )
    print("\npass rate per rule (independent checker):")
    for rule in RULES:
        failed = [r for r in results if rule in r["failed"]]
        print(f"  {rule:16s} {100 * (count - len(failed)) / count:8.3f} %  ({len(failed)} failed)")
        for r in failed[:3]:
            print(f"      e.g. {r['spec']} -> {r['failed'][rule][:2]}")
    ok = [r for r in results if "loops" in r]
    print(f"  {'all rules':16s} {100 * sum(not r['failed'] for r in results) / count:8.3f} %")
    errors = [abs(r["loops"] - r["loops_wanted"]) for r in ok]
    allowed = [abs(r["loops"] - min(r["loops_wanted"], r["loops_possible"])) for r in ok]
    short = [r for r in ok if r["loops_possible"] < r["loops_wanted"]]
    detours = [d for r in ok for d in r["loop_detours"]]
    print(
        f"\nloops: mean |loops - round(loops x rooms)| = {_mean(errors):.3f} over all levels, "
        f"{_mean(allowed):.3f} where the geometry allows "
        f"(exact in {100 * sum(e == 0 for e in allowed) / len(ok):.1f} %);"
    )
    print(
        f"       the layout has too few neighbouring pairs in {len(short)} levels "
        f"(mean loops {_mean(r['spec']['loops'] for r in short):.2f}; mean shortfall "
        f"{_mean(r['loops_wanted'] - r['loops'] for r in short):.1f})"
    )
    print(
        f"       a loop saves a detour of {_mean(detours):.2f} corridors on average (levels up to 300 rooms),"
        f" median {statistics.median(detours) if detours else math.nan}"
    )
    print(f"dead-end corridor tiles: {sum(r['dead_end_tiles'] for r in ok)} in all")
    multi = [r for r in ok if r["spec"]["rooms"] >= 4]
    print(
        f"critical path: mean {_mean(r['path_rooms'] for r in multi):.1f} rooms "
        f"({100 * _mean(r['path_rooms'] / r['spec']['rooms'] for r in multi):.0f} % of the rooms), "
        f"mean {_mean(r['path_tiles'] for r in multi):.0f} tiles (levels of 4+ rooms)"
    )
    _by_difficulty(ok)
    sides = sum(r["side_rooms"] for r in ok)
    rewarded = sum(r["side_rooms_with_treasure"] for r in ok)
    print(
        f"treasure: in {100 * rewarded / max(sides, 1):.0f} % of side rooms "
        f"(every dead-end side room: {sum(r['dead_end_side_rooms'] for r in ok)} of them)"
    )
    _by_theme(ok)
    attempts = Counter(r["attempts"] for r in ok)
    print(f"attempts: {dict(sorted(attempts.items()))}")
    gen = sum(r["generate_s"] for r in results)
    check = sum(r.get("check_s", 0) for r in results)
    print(f"\ntime: {elapsed:.0f} s wall on {processes} processes; ", end="")
    print(f"generation ({IMPLEMENTATION}, without artifacts) {gen:.0f} s CPU, checking {check:.0f} s CPU")


def _by_difficulty(ok: list[dict[str, Any]]) -> None:
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in ok:
        rows[r["spec"]["difficulty"]].append(r)
    print("by difficulty (levels of 4+ rooms):  locked rooms (dungeon / crypt / cave)", end="")
    print("   enemies per 100 floor tiles")
    for difficulty in sorted(rows):
        many = [r for r in rows[difficulty] if r["spec"]["rooms"] >= 4]
        locks = " / ".join(
            f"{_mean(r['locked_rooms'] for r in many if r['spec']['theme'] == t):.2f}" for t in THEMES
        )
        density = _mean(r["enemies_per_100_tiles"] for r in rows[difficulty])
        print(f"  {difficulty:2d}: {locks:>28s}   {density:.2f}")


def _by_theme(ok: list[dict[str, Any]]) -> None:
    print("by theme:       caverns   mean room area   corridor turns   ragged corridor tiles")
    for theme in THEMES:
        rows = [r for r in ok if r["spec"]["theme"] == theme]
        rooms = sum(r["spec"]["rooms"] for r in rows)
        caverns = 100 * sum(r["caverns"] for r in rows) / rooms
        area = _mean(r["mean_room_area"] for r in rows)
        turns = _mean(r["corridor_turns"] for r in rows)
        ragged = 100 * _mean(r["corridor_width"] for r in rows)
        print(f"  {theme:8s} {caverns:8.1f} % {area:12.1f} {turns:14.2f} {ragged:18.1f} %")


def designed_sweep_spec(index: int) -> dict[str, Any]:
    """The spec of designed sweep level ``index``: a sweep spec with constraints and prefabs;
    one in ten on a tiny map (16-24 tiles a side, 3-6 rooms), where copies of up to 8x8
    take most of it."""
    rng = random.Random(f"levelforge-designed:{index}")
    base = sweep_spec(index)
    if index % 10 == 3:
        width, height = rng.randint(16, 24), rng.randint(16, 24)
        rooms = rng.randint(3, min(6, width * height // 64))
        base = {**base, "width": width, "height": height, "rooms": rooms}
    return designed_spec(rng, base)


def measure_designed(index: int) -> dict[str, Any]:
    """Generate and check one designed level: the rules failed, the attempts it took."""
    spec = designed_sweep_spec(index)
    start = time.process_time()
    try:
        level = generate_level(spec)
        agree = generate_level(spec, pure=True).artifacts() == level.artifacts()
    except ConstraintsUnmet as exc:
        return {
            "spec": spec,
            "failed": {"constraints_unmet": [str(exc)]},
            "seconds": time.process_time() - start,
        }
    except GenerationFailed as exc:
        return {"spec": spec, "failed": {"generated": [str(exc)]}, "seconds": time.process_time() - start}
    found = check_by_rule(level.spec, level.scene_graph, level.minimap)
    if not agree:
        found["cores_agree"] = ["the compiled and pure-Python artifacts differ"]
    return {
        "spec": spec,
        "failed": {rule: problems[:3] for rule, problems in found.items() if problems},
        "attempts": level.scene_graph["stats"]["attempts"],
        "seconds": time.process_time() - start,
    }


def report_designed(results: list[dict[str, Any]], elapsed: float, processes: int) -> None:
    count = len(results)
    designed = [r for r in results if "constraints" in r["spec"] or "prefabs" in r["spec"]]
    copies = sum(p["count"] for r in results for p in r["spec"].get("prefabs", ()))
    print(
        f"\ndesigned levels: {count} ({len(designed)} with constraints or prefabs, {copies} prefab copies "
        f"in {sum('prefabs' in r['spec'] for r in results)} levels)"
    )
    for rule in ("constraints_unmet", "generated", "cores_agree", *RULES[2:]):
        failed = [r for r in results if rule in r["failed"]]
        if failed or rule in ("constraints_unmet", "constraints", "prefabs"):
            print(f"  {rule:18s} {100 * (count - len(failed)) / count:8.3f} %  ({len(failed)} failed)")
        for r in failed[:3]:
            print(f"      e.g. {r['spec']} -> {r['failed'][rule][:2]}")
    met = sum(not r["failed"] for r in results)
    attempts = [r["attempts"] for r in results if "attempts" in r]
    print(f"  every constraint and rule met: {100 * met / count:.3f} %")
    print(
        f"  met on the first attempt: {100 * sum(a == 1 for a in attempts) / max(len(attempts), 1):.2f} %; "
        f"mean attempts {_mean(attempts):.3f}; attempts {dict(sorted(Counter(attempts).items()))}"
    )
    print(
        f"  time: {elapsed:.0f} s wall on {processes} processes, "
        f"{sum(r['seconds'] for r in results):.0f} s CPU"
    )


def run_sweep(measure_one: Any, indices: list[int], processes: int, start: float) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with multiprocessing.Pool(processes) as pool:
        for done, result in enumerate(pool.imap_unordered(measure_one, indices, chunksize=4), 1):
            results.append(result)
            if done % 1000 == 0:
                print(f"  {done} levels, {time.perf_counter() - start:.0f} s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10_000, help="how many levels (default 10,000)")
    parser.add_argument(
        "--designed", type=int, default=10_000, help="how many designed levels (default 10,000)"
    )
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args()
    if args.designed:
        start = time.perf_counter()
        order = sorted(range(args.designed), key=lambda i: -sweep_spec(i)["width"] * sweep_spec(i)["height"])
        results = run_sweep(measure_designed, order, args.processes, start)
        report_designed(results, time.perf_counter() - start, args.processes)
    if not args.seeds:
        return
    start = time.perf_counter()
    results: list[dict[str, Any]] = []
    # Big levels first, so that the pool does not end waiting on one of them.
    order = sorted(range(args.seeds), key=lambda i: -sweep_spec(i)["width"] * sweep_spec(i)["height"])
    with multiprocessing.Pool(args.processes) as pool:
        for done, result in enumerate(pool.imap_unordered(measure, order, chunksize=4), 1):
            results.append(result)
            if done % 1000 == 0:
                print(f"  {done} levels, {time.perf_counter() - start:.0f} s", flush=True)
    report(results, time.perf_counter() - start, args.processes)


if __name__ == "__main__":
    main()

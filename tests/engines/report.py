"""Merges the results of tests/engines/suite.py runs (one JSON file per engine) into one table:
scenario x strategy rows, one column per engine, each engine's proof level, the expected
failures seen, every failure, and `N passed, N failed`. Exit 1 on any failure.

Usage: python3 tests/engines/report.py RESULTS.json...   (no third-party imports)
"""

import json
import sys
from pathlib import Path

ORDER = ["delete+insert", "merge", "append", "microbatch", "insert_overwrite"]


def main(paths: list[str]) -> int:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    engines = [r["engine"] for r in runs]
    cells = {(c["scenario"], c["engine"], c["strategy"]): c for r in runs for c in r["cells"]}
    rows = sorted({(sc, st) for sc, _, st in cells}, key=lambda r: (r[0] == "shop example", r[0], ORDER.index(r[1]) if r[1] in ORDER else 99))
    width = max([len(f"{sc} / {st}") for sc, st in rows] + [20])
    print()
    print(f"{'scenario / strategy':<{width}}  " + "  ".join(f"{e:<14}" for e in engines))
    print("-" * (width + 16 * len(engines)))
    for sc, st in rows:
        out = []
        for e in engines:
            c = cells.get((sc, e, st))
            if c is None:
                out.append(f"{'-':<14}")
                continue
            controls = sum(1 for n in c["notes"] if "as expected" in n)
            text = ("pass" if not c["failures"] else "FAIL") + f" {c['phases']}ph" + (f" {controls}xf" if controls else "")
            out.append(f"{text:<14}")
        print(f"{sc + ' / ' + st:<{width}}  " + "  ".join(out))
    print("(Nph: phases checked; Nxf: expected failures seen - negative controls, missing-var errors, known limitations)")
    print("\nengines:")
    for r in runs:
        print(f"  {r['engine']:<12} {r['proof']}; {r['seconds']:.0f}s")

    skipped = [(r["engine"], sc, why) for r in runs for sc, why in sorted(r.get("skipped", {}).items())]
    if skipped:
        print("\nnot run (the engine cannot):")
        for e, sc, why in skipped:
            print(f"  {sc} / {e}: {why}")

    notes = [(k, n) for k, c in sorted(cells.items()) for n in c["notes"]]
    if notes:
        print("\nexpected failures:")
        for (sc, e, st), n in notes:
            print(f"  {sc} / {e} / {st}: {n}")
    failed = [(k, c) for k, c in sorted(cells.items()) if c["failures"]]
    crashed = [c for r in runs for c in r["crashed"]]
    if failed or crashed:
        print("\nfailures:")
        for (sc, e, st), c in failed:
            for f in c["failures"]:
                print(f"  {sc} / {e} / {st}: {f}")
        for c in crashed:
            print(f"  CRASH {c}")
    passed = sum(1 for c in cells.values() if not c["failures"])
    print(f"\n{passed} passed, {len(failed) + len(crashed)} failed")
    return 0 if not failed and not crashed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

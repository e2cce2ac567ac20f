#!/usr/bin/env python3
"""Whole-process wall times: `dbt-incr generate` of N models against `cp -r` of the same output
tree, `dbt-incr check` of N unchanged models, and `dbt parse` of generated vs hand-written models.

usage: process_bench.py generator --models 10000 --repeats 5 --dir D --dbt-incr BIN --out F.json
       process_bench.py parse --models 500 --repeats 3 --dir D --dbt-incr BIN --dbt DBT --out F.json

Every timed command starts after `sync`, so no run pays for the previous one's writeback; the
set-up (a fresh project holding only the spec, deleting the last run's output) is not timed.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-3000:] + r.stderr[-3000:])
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}")
    return r


def timed(cmd, **kw):
    subprocess.run(["sync"], check=True)
    t = time.perf_counter()
    run(cmd, **kw)
    return time.perf_counter() - t


def make_project(path, models, hand=False):
    shutil.rmtree(path, ignore_errors=True)
    args = [sys.executable, os.path.join(HERE, "make_project.py"), path, str(models)]
    run(args + (["--hand-written"] if hand else []))


def count_files(path):
    return sum(len(files) for _, _, files in os.walk(path))


def generator(args):
    results = {"models": args.models, "repeats": args.repeats, "dirs": {}}
    for base in args.dir:
        proj = os.path.join(base, "dbt-incr-bench-gen")
        copy = os.path.join(base, "dbt-incr-bench-copy")
        gen, cp, check = [], [], []
        for _ in range(args.repeats):
            make_project(proj, args.models)
            gen.append(timed([args.dbt_incr, "generate", "--project", proj, "-q"]))
        files = count_files(os.path.join(proj, "models")) + count_files(os.path.join(proj, "macros"))
        size = run(["du", "-sb", os.path.join(proj, "models"), os.path.join(proj, "macros")]).stdout
        size = sum(int(line.split()[0]) for line in size.splitlines())
        for _ in range(args.repeats):
            shutil.rmtree(copy, ignore_errors=True)
            os.makedirs(copy)
            # The same output tree: the models and macros folders generate wrote.
            cp.append(timed(["cp", "-r", os.path.join(proj, "models"), os.path.join(proj, "macros"), copy]))
        for _ in range(args.repeats):
            check.append(timed([args.dbt_incr, "check", "--project", proj]))
        idem = run([args.dbt_incr, "generate", "--project", proj]).stdout.strip().splitlines()[-1]
        shutil.rmtree(proj, ignore_errors=True)
        shutil.rmtree(copy, ignore_errors=True)
        results["dirs"][base] = {
            "files": files,
            "bytes": size,
            "generate": gen,
            "cp_r": cp,
            "check": check,
            "generate_median": statistics.median(gen),
            "cp_r_median": statistics.median(cp),
            "check_median": statistics.median(check),
            "second_generate": idem,
        }
    return results


def parse(args):
    env = dict(os.environ, BENCH_DUCKDB=os.path.join(args.dir[0], "parse.duckdb"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    results = {"models": args.models, "repeats": args.repeats}
    for kind in ("generated", "generated_models_only", "hand_written"):
        proj = os.path.join(args.dir[0], f"dbt-incr-bench-parse-{kind}")
        make_project(proj, args.models, hand=kind == "hand_written")
        if kind.startswith("generated"):
            run([args.dbt_incr, "generate", "--project", proj, "-q"])
        if kind == "generated_models_only":
            # Without the generated properties files (tests, unit tests): what the models and
            # the macro package cost dbt alone.
            for root, _, files in os.walk(os.path.join(proj, "models")):
                for name in files:
                    if name.endswith(".yml") and name != "sources.yml":
                        os.remove(os.path.join(root, name))
        walls, loads = [], []
        for _ in range(args.repeats):
            walls.append(timed([args.dbt, "parse", "--no-partial-parse", "--profiles-dir", proj], cwd=proj, env=env))
            with open(os.path.join(proj, "target", "perf_info.json")) as f:
                loads.append(json.load(f)["load_all_elapsed"])
        results[kind] = {
            "files": count_files(os.path.join(proj, "models")),
            "wall": walls,
            "load_all_elapsed": loads,
            "wall_median": statistics.median(walls),
            "load_median": statistics.median(loads),
        }
        shutil.rmtree(proj, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["generator", "parse"])
    ap.add_argument("--models", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dir", action="append", required=True, help="where to write (repeatable: one figure per file system)")
    ap.add_argument("--dbt-incr", required=True)
    ap.add_argument("--dbt")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    args.dbt_incr = os.path.abspath(args.dbt_incr)
    args.dbt = args.dbt and os.path.abspath(args.dbt)
    out = generator(args) if args.what == "generator" else parse(args)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()

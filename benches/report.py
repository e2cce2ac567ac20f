#!/usr/bin/env python3
"""Turns the JSON results of benches/run into BENCHMARKS.md's figures and docs/benchmarks.png.

usage: report.py RESULTS_DIR BENCHMARKS.md docs/benchmarks.png

Rewrites only what lies between `<!-- figures:start -->` and `<!-- figures:end -->` in
BENCHMARKS.md; the prose around it is written by hand.
"""
import json
import os
import sys

START, END = "<!-- figures:start -->", "<!-- figures:end -->"
MODEL_LABELS = {
    "gen_events": "dbt-incr model, incremental (delete+insert)",
    "gen_events_merge": "dbt-incr model, incremental (merge)",
    "hand_minimal": "hand-written minimal incremental (delete+insert, no guard)",
    "microbatch": "dbt microbatch, 3 lookback days + the batch day",
    "naive": "naive event-time filter, append",
    "full_refresh": "dbt-incr model, full refresh",
}


def load(d, name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def s(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f} s"


def ok(flag):
    return "**met**" if flag else "**missed**"


def criterion_median(d, group, n):
    est = load(d, f"criterion/{group}/{n}/new/estimates.json")
    return None if est is None else est["median"]["point_estimate"] / 1e9


def generator_tables(d, out):
    crit = os.path.join(d, "criterion")
    if os.path.isdir(crit):
        out.append("### Generator, in process (criterion, median of 10 samples)\n")
        out.append("Command: `cargo bench --bench generator` (run by `benches/run`).\n")
        out.append("| operation | 1,000 models | 10,000 models |\n|---|---|---|")
        out.append(f"| `generate`: plan + write into an empty project | {s(criterion_median(d, 'generate', 1000))} | {s(criterion_median(d, 'generate', 10000))} |")
        out.append(f"| `check`: plan + compare with an up-to-date project | {s(criterion_median(d, 'check', 1000))} | {s(criterion_median(d, 'check', 10000))} |")
        out.append("")
    proc = load(d, "process.json")
    if proc:
        n = proc["models"]
        out.append(f"### Generator, whole process ({n:,} models, median of {proc['repeats']})\n")
        out.append(f"Command: `python3 benches/process_bench.py generator --models {n} --repeats {proc['repeats']} --dir /tmp --dir /dev/shm ...` (run by `benches/run`).\n")
        out.append("Each cell: median (fastest–slowest run).\n")
        out.append("| file system | files written | `dbt-incr generate` | `cp -r` of the same tree | generate / cp | `dbt-incr check` (unchanged) |\n|---|---|---|---|---|---|")
        for base, v in proc["dirs"].items():
            fs = "ext4 (/tmp)" if base.startswith("/tmp") else "tmpfs (/dev/shm)" if base.startswith("/dev/shm") else base
            ratio = v["generate_median"] / v["cp_r_median"]
            rng = lambda xs: f" ({min(xs):.2f}–{max(xs):.2f})"
            out.append(f"| {fs} | {v['files']:,} ({v['bytes'] / 1e6:.0f} MB) | {s(v['generate_median'])}{rng(v['generate'])} | {s(v['cp_r_median'])}{rng(v['cp_r'])} | {ratio:.1f}× | {s(v['check_median'])}{rng(v['check'])} |")
        out.append("")
        disk = next((v for b, v in proc["dirs"].items() if b.startswith("/tmp")), next(iter(proc["dirs"].values())))
        ratio = disk["generate_median"] / disk["cp_r_median"]
        out.append("| target (ext4) | figure | |\n|---|---|---|")
        out.append(f"| {n:,} models written in ≤ 1 s | {s(disk['generate_median'])} | {ok(disk['generate_median'] <= 1.0)} |")
        out.append(f"| within 2× of `cp -r` | {ratio:.1f}× | {ok(ratio <= 2.0)} |")
        out.append(f"| `check` of {n:,} unchanged ≤ 0.5 s | {s(disk['check_median'])} | {ok(disk['check_median'] <= 0.5)} |")
        out.append("")


def sql_tables(d, out):
    sql = load(d, "sql.json")
    if not sql:
        return
    sizes = sorted(sql["sizes"], key=int)
    names = [f"{int(n) / 1e6:g}M" for n in sizes]
    reps = len(sql["sizes"][sizes[0]]["median"]["gen_events"]["runs_sql_time"])
    out.append(f"### Generated SQL on DuckDB (in-database time, median of {reps})\n")
    out.append(
        f"Command: `benches/sql_bench.py --rows {' --rows '.join(sizes)} --repeats {reps} ...` (run by `benches/run`). "
        f"History of N rows over two years, then a batch of {sql['batch_rows']:,} rows loaded on one day; "
        f"lookback {sql['lookback_days']} days. *SQL time* is the sum of the statement times dbt logs for the model; "
        "*dbt node time* is run_results.json `execution_time` (adds dbt's own work between statements, not Python start-up).\n"
    )
    head = "| model | " + " | ".join(f"SQL time {n}" for n in names) + " | " + " | ".join(f"dbt node time {n}" for n in names) + " | " + " | ".join(f"equals full refresh {n} (rows lost / extra)" for n in names) + " |"
    out.append(head)
    out.append("|" + "---|" * (1 + 3 * len(sizes)))
    for m in ["gen_events", "gen_events_merge", "hand_minimal", "microbatch", "naive", "full_refresh"]:
        cells = [s(sql["sizes"][n]["median"][m]["sql_time"]) for n in sizes]
        cells += [s(sql["sizes"][n]["median"][m]["execution_time"]) for n in sizes]
        for n in sizes:
            if m == "full_refresh":
                cells.append("(reference)")
                continue
            e = sql["sizes"][n]["equality"]["models"][m]
            cells.append(("yes" if e["equal"] else "**no**") + f" ({e['lost']:,} / {e['extra']:,})")
        out.append(f"| {MODEL_LABELS[m]} | " + " | ".join(cells) + " |")
    out.append("")
    for n in sizes:
        eq = sql["sizes"][n]["equality"]
        out.append(f"Equality check at {int(n) / 1e6:g}M ({eq['rows']:,} rows in the full refresh, five models compared): {eq['query_time']:.1f} s.  ")
    out.append("")

    out.append("| target | " + " | ".join(names) + " | |\n|---|" + "---|" * len(sizes) + "---|")
    inc = {n: sql["sizes"][n]["median"]["gen_events"]["sql_time"] for n in sizes}
    full = {n: sql["sizes"][n]["median"]["full_refresh"]["sql_time"] for n in sizes}
    hand = {n: sql["sizes"][n]["median"]["hand_minimal"]["sql_time"] for n in sizes}
    r1 = {n: inc[n] / full[n] for n in sizes}
    r2 = {n: inc[n] / hand[n] for n in sizes}
    out.append("| incremental ≤ 10 % of full refresh | " + " | ".join(f"{100 * r1[n]:.1f} %" for n in sizes) + f" | {ok(all(v <= 0.10 for v in r1.values()))} |")
    out.append("| incremental ≤ 1.5× hand-written | " + " | ".join(f"{r2[n]:.2f}×" for n in sizes) + f" | {ok(all(v <= 1.5 for v in r2.values()))} |")
    if len(sizes) >= 2:
        g = inc[sizes[-1]] / inc[sizes[0]]
        gh = hand[sizes[-1]] / hand[sizes[0]]
        out.append(f"| incremental grows ≤ 1.5× when history grows {int(sizes[-1]) // int(sizes[0])}× | {s(inc[sizes[0]])} | {s(inc[sizes[-1]])}: {g:.2f}× (hand-written: {gh:.2f}×) | {ok(g <= 1.5)} |")
    out.append("")

    out.append("#### Rows scanned by the compiled incremental SELECT (DuckDB profiler, `enable_profiling = 'json'`)\n")
    out.append("The SELECT alone, as `dbt compile` writes it with the target in place, run on the database just before the incremental run; "
               "not the temp table, DELETE and INSERT around it.\n")
    out.append("| model | history | SELECT time | rows out | source rows scanned (row groups) | target rows scanned (row groups) |\n|---|---|---|---|---|---|")
    for m in ["gen_events", "hand_minimal", "naive"]:
        for n in sizes:
            p = sql["sizes"][n]["profile"][m]
            src = [x for x in p["scans"] if x["table"] == "raw_events"]
            tgt = [x for x in p["scans"] if x["table"] != "raw_events"]
            fmt = lambda xs: " + ".join(f"{x['rows_scanned']:,} ({x['row_groups']})" for x in xs) or "–"
            out.append(f"| {MODEL_LABELS[m].split(',')[0] if m == 'gen_events' else MODEL_LABELS[m]} | {int(n) / 1e6:g}M | {s(p['select_time'])} | {p['rows_out']:,} | {fmt(src)} | {fmt(tgt)} |")
    out.append("")


def parse_table(d, out):
    p = load(d, "parse.json")
    if not p:
        return
    n = p["models"]
    out.append(f"### dbt parse, {n} models (median of {p['repeats']})\n")
    out.append(f"Command: `python3 benches/process_bench.py parse --models {n} --repeats {p['repeats']} ...`: `dbt parse --no-partial-parse`; "
               "*load* is `load_all_elapsed` from target/perf_info.json (parsing without Python start-up).\n")
    out.append("| project | files under models/ | wall | load |\n|---|---|---|---|")
    for kind, label in [
        ("generated", f"{n} models from dbt-incr, with their generated properties files (data tests, 2 unit tests each)"),
        ("generated_models_only", f"the same {n} generated models and macro package, properties files removed"),
        ("hand_written", f"{n} hand-written equivalents (no properties files)"),
    ]:
        if kind not in p:
            continue
        v = p[kind]
        out.append(f"| {label} | {v['files']:,} | {s(v['wall_median'])} | {s(v['load_median'])} |")
    ratio = p["generated"]["load_median"] / p["hand_written"]["load_median"]
    out.append(f"\nGenerated / hand-written load time: {ratio:.2f}×" + (
        f"; models only / hand-written: {p['generated_models_only']['load_median'] / p['hand_written']['load_median']:.2f}×.\n" if "generated_models_only" in p else ".\n"))


def machine(d, out):
    m = load(d, "machine.json")
    if not m:
        return
    out.append("### Machine and run\n")
    out.append("| | |\n|---|---|")
    for k, v in m.items():
        out.append(f"| {k} | {v} |")
    out.append("")


def plot(d, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    proc, sql, parse = load(d, "process.json"), load(d, "sql.json"), load(d, "parse.json")
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2), gridspec_kw={"width_ratios": [1.1, 1.6, 0.8]})
    ax = axes[0]
    if proc:
        labels, gen, cp, chk = [], [], [], []
        for base, v in proc["dirs"].items():
            labels.append("ext4" if base.startswith("/tmp") else "tmpfs")
            gen.append(v["generate_median"]), cp.append(v["cp_r_median"]), chk.append(v["check_median"])
        x = range(len(labels))
        w = 0.27
        for i, (vals, lab) in enumerate([(gen, "dbt-incr generate"), (cp, "cp -r (same tree)"), (chk, "dbt-incr check (unchanged)")]):
            bars = ax.bar([xi + (i - 1) * w for xi in x], vals, w, label=lab)
            ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.axhline(1.0, color="grey", ls="--", lw=1, label="generate target: 1 s")
        ax.axhline(0.5, color="grey", ls=":", lw=1, label="check target: 0.5 s")
        ax.set_xticks(list(x), labels)
        ax.set_ylabel("wall time, s")
        ax.set_title(f"Generator: {proc['models']:,} models, whole process")
        ax.legend(fontsize=8, loc="upper right")
    ax = axes[1]
    if sql:
        sizes = sorted(sql["sizes"], key=int)
        models = ["full_refresh", "gen_events", "gen_events_merge", "hand_minimal", "microbatch", "naive"]
        short = {"full_refresh": "full refresh", "gen_events": "dbt-incr\ndelete+insert", "gen_events_merge": "dbt-incr\nmerge",
                 "hand_minimal": "hand-written\nminimal", "microbatch": "microbatch", "naive": "naive\nevent-time"}
        w = 0.8 / len(sizes)
        for i, n in enumerate(sizes):
            vals = [sql["sizes"][n]["median"][m]["sql_time"] for m in models]
            bars = ax.bar([j + (i - (len(sizes) - 1) / 2) * w for j in range(len(models))], vals, w, label=f"history {int(n) / 1e6:g}M rows")
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        def tick(m):
            if m == "full_refresh":
                return short[m] + "\n(reference)"
            equal = all(sql["sizes"][n]["equality"]["models"][m]["equal"] for n in sizes)
            return short[m] + ("\n= full refresh" if equal else "\n≠ full refresh")
        ax.set_yscale("log")
        ax.set_xticks(range(len(models)), [tick(m) for m in models], fontsize=8)
        ax.set_ylabel("SQL time in DuckDB, s (log)")
        ax.set_title(f"One-day batch ({sql['batch_rows']:,} rows) on DuckDB")
        ax.legend(fontsize=8)
    ax = axes[2]
    if parse:
        kinds = [k for k in ("generated", "generated_models_only", "hand_written") if k in parse]
        names = {"generated": "generated\n+ properties", "generated_models_only": "generated\nmodels only", "hand_written": "hand-written"}
        vals = [parse[k]["load_median"] for k in kinds]
        bars = ax.bar([names[k] for k in kinds], vals, color=["tab:blue", "tab:cyan", "tab:gray"][: len(kinds)])
        ax.bar_label(bars, fmt="%.2f")
        ax.set_ylabel("dbt parse (load_all_elapsed), s")
        ax.set_title(f"dbt parse, {parse['models']} models")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main():
    d, md, png = sys.argv[1:4]
    out = []
    machine(d, out)
    generator_tables(d, out)
    sql_tables(d, out)
    parse_table(d, out)
    body = "\n".join(out)
    with open(md) as f:
        text = f.read()
    if START not in text or END not in text:
        raise SystemExit(f"{md} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(md, "w") as f:
        f.write(f"{head}{START}\n<!-- written by benches/report.py from benches/run; do not edit by hand -->\n\n{body}\n{END}{tail}")
    plot(d, png)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Times `dbt-incr audit` on a generated project of 5,000 hand-written models (issue 12: under a
# second), read from the files and from target/manifest.json. Not part of the test suite: the
# figure depends on the machine (run it on a quiet one).
#
#   benches/audit.sh [MODELS]
set -euo pipefail
cd "$(dirname "$0")/.."
models=${1:-5000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --locked --release --bin dbt-incr >/dev/null 2>&1
bin=$PWD/target/release/dbt-incr
python3 benches/audit_project.py "$tmp/files" --models "$models"
python3 benches/audit_project.py "$tmp/manifest" --models "$models" --manifest
for mode in files manifest; do
  "$bin" audit --project "$tmp/$mode" --format json >/dev/null || true   # warm the file cache
  best=
  for _ in 1 2 3 4 5; do
    start=$(date +%s.%N)
    HOME=$tmp "$bin" audit --project "$tmp/$mode" --format json >"$tmp/out.json" || true
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  summary=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['audited'], 'incremental models,', sum(len(m['findings']) for m in r['models']), 'findings,', len(r['not_analysed']), 'not analysed')" "$tmp/out.json")
  echo "$mode: $models models in ${best}s (best of 5, $(nproc) cores): $summary"
done

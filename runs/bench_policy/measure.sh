#!/bin/bash
# benchmark.py in float32 and under the bf16 policy (every workload), each with EP's nudged
# phases one after the other (the default) and paired (--batch_nudges), alternating, 2 rounds
cd "$(dirname "$0")/../.."
O=runs/bench_policy
echo "start $(date -u +%FT%TZ) $(nproc) cores $(lscpu | sed -n 's/^Model name: *//p') commit $(git rev-parse --short HEAD)" > $O/measure.log
for r in 1 2; do
  for cd in float32 bfloat16; do
    for b in nobatch_nudges batch_nudges; do
      .venv/bin/python experiments/benchmark.py --out=$O/${cd}_${b}_r$r.json --repeats=5 --compute_dtype=$cd --$b > /dev/null 2>$O/${cd}_${b}_r$r.err
      echo "$cd $b r$r rc=$? $(date -u +%T)" >> $O/measure.log
    done
  done
done
echo "end $(date -u +%FT%TZ)" >> $O/measure.log

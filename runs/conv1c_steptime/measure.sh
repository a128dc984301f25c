#!/bin/bash
# SNN BPTT against StochEP EP on the one-conv config: the training step, alternating rounds.
cd "$(dirname "$0")/../.."
export XLA_FLAGS=--xla_force_host_platform_device_count=2
O=runs/conv1c_steptime
echo "start $(date -u +%FT%TZ) $(nproc) cores $(lscpu | sed -n 's/^Model name: *//p') commit $(git rev-parse --short HEAD)" > $O/measure.log
for r in 1 2; do
  .venv/bin/python experiments/step_time.py --config=experiments/configs/fashion_mnist_1c.py --steps=5 --out=$O/ep_$r.json 2>/dev/null | tail -1 >> $O/measure.log
  .venv/bin/python experiments/step_time.py --config=experiments/configs/fashion_mnist_1c.py --steps=5 --config.method=bptt --config.optimizer.clip_norm=2.0 --config.bptt.checkpoint=True --out=$O/snn_bptt_$r.json 2>/dev/null | tail -1 >> $O/measure.log
done
echo "end $(date -u +%FT%TZ)" >> $O/measure.log

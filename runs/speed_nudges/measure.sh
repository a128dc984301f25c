#!/bin/bash
# The two nudged phases as one over twice the batch (EP.batch_nudges) against one after the
# other: training steps alternating in each round, and the field's PyTorch reference beside the
# float32 reference-setting step. Run on an otherwise idle machine.
#   PEER=<reference source at 93660ed> PEER_VENV=<its venv> bash runs/speed_nudges/measure.sh
cd "$(dirname "$0")/../.."
O=runs/speed_nudges
P=.venv/bin/python
log() { echo "$*" >> $O/measure.log; }
log "start $(date -u +%FT%TZ) $(nproc) cores $(lscpu | sed -n 's/^Model name: *//p') commit $(git rev-parse --short HEAD)"
REF="--config=experiments/configs/fashion_mnist_2c2fc.py --config.neuron.name=crnn --config.batch_size=32 --config.ep.t_free=100 --config.ep.t_nudge=25 --config.ep.k_avg=25"
for r in 1 2 3; do
  PEER=$PEER THREADS=2 $PEER_VENV/bin/python ../shared/bench/peer_step.py cnn 4 > $O/peer_r$r.json 2>/dev/null
  log "peer r$r $(cat $O/peer_r$r.json)"
  for b in True False; do
    $P experiments/step_time.py $REF --steps=4 --devices=1 --config.ep.batch_nudges=$b --out=$O/ref_b${b}_r$r.json 2>/dev/null | tail -1 | sed "s/^/ref batch_nudges=$b r$r /" >> $O/measure.log
  done
  [ $r = 3 ] && break
  for b in True False; do
    $P experiments/step_time.py --config=experiments/configs/fashion_mnist_1c.py --steps=4 --devices=1 --config.ep.batch_nudges=$b --out=$O/c1_b${b}_r$r.json 2>/dev/null | tail -1 | sed "s/^/1c batch_nudges=$b r$r /" >> $O/measure.log
    XLA_FLAGS=--xla_force_host_platform_device_count=2 $P experiments/step_time.py --config=experiments/configs/fashion_mnist_conv.py --steps=4 --config.ep.batch_nudges=$b --out=$O/conv_b${b}_r$r.json 2>/dev/null | tail -1 | sed "s/^/conv batch_nudges=$b r$r /" >> $O/measure.log
    XLA_FLAGS=--xla_force_host_platform_device_count=2 $P experiments/step_time.py --config=experiments/configs/fashion_mnist.py --steps=8 --config.ep.batch_nudges=$b --out=$O/demo_b${b}_r$r.json 2>/dev/null | tail -1 | sed "s/^/demo batch_nudges=$b r$r /" >> $O/measure.log
  done
done
log "end $(date -u +%FT%TZ)"

#!/bin/bash
cd "$(dirname "$0")/../.."
R=runs/report_real/runs
mkdir -p runs/report_1c
S=$(date +%s); echo "report start $(date -u +%FT%TZ) $(nproc) cores $(lscpu | sed -n 's/^Model name: *//p') commit $(git rev-parse --short HEAD)" > runs/report_1c/parts.txt
.venv/bin/python experiments/report.py --workdir=runs/report_1c \
  --demo_workdir=runs/demo_bf16 --conv_workdir=runs/fmnist_1c \
  --conv_config=experiments/configs/fashion_mnist_1c.py \
  --backprop_cnn_workdir=runs/backprop_budget/c16_e26 --backprop_workdir=$R/backprop \
  --table2_workdirs=crnn_ep=$R/crnn_ep,snn_bptt=$R/snn_bptt,conv_crnn_ep=runs/fmnist_1c_crnn_ep,conv_snn_bptt=runs/fmnist_1c_snn_bptt \
  --gradcheck_workdirs=$R/gradcheck0,$R/gradcheck1,$R/gradcheck2 \
  --memory_workdir=$R/memory --pooling_workdir=$R/pooling \
  --benchmark_json=runs/report_real/bench.json > runs/report_1c/report.log 2>&1
echo "report end $(date -u +%FT%TZ) rc=$? $(( $(date +%s) - S )) s" >> runs/report_1c/parts.txt

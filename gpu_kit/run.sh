#!/usr/bin/env bash
# The GPU check kit in one command, on the GPU machine (see gpu_kit/__init__.py):
#
#   bash gpu_kit/run.sh [--dry_run] [--out=DIR] [--steps=env,gemm,...] [--budget_s=450]
#
# 1. installs the bundle's wheels (gpu_kit/bundle/wheels, made by `make gpu-kit`) with
#    pip --no-index --no-deps into a target folder ($GPU_KIT_SITE, /tmp/gpu_kit_site), and the
#    fallback protobuf (into $GPU_KIT_SITE-fallback) if the image's protobuf cannot load the
#    bundle's generated protos;
#    the preinstalled JAX is never touched, the project runs from this working tree;
# 2. runs python -m gpu_kit.check with the remaining arguments; results in --out, else $OUT,
#    else runs/gpu_kit: gpu_kit_summary.json, gpu_kit.log, install.log, memory.png.
# The Python: $PYTHON, else /opt/torch/.venv/bin/python3 (the GPU image's), else python3.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=${GPU_KIT_BUNDLE:-$ROOT/gpu_kit/bundle}
SITE=${GPU_KIT_SITE:-/tmp/gpu_kit_site}
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x /opt/torch/.venv/bin/python3 ]; then PY=/opt/torch/.venv/bin/python3; else PY=python3; fi
fi
OUTDIR=${OUT:-$ROOT/runs/gpu_kit}
for a in "$@"; do case "$a" in --out=*) OUTDIR=${a#--out=} ;; esac; done
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
LOGFILE=$OUTDIR/install.log
: >"$LOGFILE"
start=$(date +%s.%N)

status=ok
detail=''
rm -rf "$SITE" && mkdir -p "$SITE"
shopt -s nullglob
wheels=("$BUNDLE"/wheels/*.whl)
if [ ${#wheels[@]} -eq 0 ]; then
  status=failed
  detail="no wheels in $BUNDLE/wheels (run make gpu-kit on a machine with the package index, then copy gpu_kit/bundle here)"
elif ! "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$SITE" "${wheels[@]}" >>"$LOGFILE" 2>&1; then
  status=failed
  detail='pip install of the bundle failed (see install.log)'
fi
export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
protos='import tensorflow_metadata.proto.v0.schema_pb2'
protos="$protos; from tensorflow_datasets.proto import tf_example_pb2"
fallback=no
if [ $status = ok ] && ! "$PY" -c "$protos" >>"$LOGFILE" 2>&1; then
  fallback=yes
  fb=("$BUNDLE"/fallback/*.whl)
  # a folder of its own: pip --target --upgrade would replace the google/ folder in $SITE
  rm -rf "$SITE-fallback"
  export PYTHONPATH="$SITE-fallback:$PYTHONPATH"
  if [ ${#fb[@]} -eq 0 ] || ! "$PY" -m pip install -q --no-index --no-deps --no-compile \
      --no-cache-dir --target "$SITE-fallback" "${fb[@]}" >>"$LOGFILE" 2>&1 \
      || ! "$PY" -c "$protos" >>"$LOGFILE" 2>&1; then
    status=failed
    detail='the bundle protos do not load, even with the fallback protobuf (see install.log)'
  fi
fi
seconds=$("$PY" -c "import time; print(round(time.time() - $start, 2))")
"$PY" - "$OUTDIR/install.json" <<PYEOF
import json, sys
json.dump({'status': '$status', 'detail': '$detail', 'seconds': $seconds, 'python': '$PY',
           'site': '$SITE', 'bundle': '$BUNDLE', 'wheels': ${#wheels[@]},
           'fallback_protobuf': '$fallback' == 'yes'}, open(sys.argv[1], 'w'), indent=1)
PYEOF
echo "gpu_kit: install $status in ${seconds}s ($PY, ${#wheels[@]} wheels into $SITE) $detail"

cd "$ROOT" || exit 1
"$PY" -m gpu_kit.check --out="$OUTDIR" --bundle="$BUNDLE" --install_json="$OUTDIR/install.json" \
  --python="$PY" "$@"
rc=$?
rm -f "$OUTDIR/install.json"  # folded into the summary's "install"
exit $rc

"""The GPU check kit: what this project needs checked on a GPU machine, in one command.

Here (a machine that reaches the package index), once::

    make gpu-kit        # = .venv/bin/python gpu_kit/prepare.py --bundle=gpu_kit/bundle

puts into the git-ignored folder ``gpu_kit/bundle/`` the Python 3.12 manylinux x86-64 wheels
that a bare GPU image lacks (tensorflow-datasets, array_record, ml_collections, tensorboardX and
the runtime needs of tfds: ``prepare.WHEELS``), a fallback protobuf wheel and the four
Fashion-MNIST IDX files, and prints its size (it is copied to the GPU machine with the checkout).

On the GPU machine (the checkout with ``gpu_kit/bundle`` copied along)::

    bash gpu_kit/run.sh                 # results in $OUT (or --out=DIR): gpu_kit_summary.json

installs the bundle with ``pip install --no-index --no-deps --target /tmp/gpu_kit_site`` (the
preinstalled JAX is never touched; the project itself runs from the working tree through
``PYTHONPATH``) and runs ``gpu_kit.check``: each step in its own process with its own timeout
inside an overall budget (``--budget_s``, 7.5 minutes), a failing step not stopping the others:

* ``env``: device, versions, the bundle's imports;
* ``gemm``: GEMM peaks in float32 (``precision=highest``), float32 with XLA's default precision
  (TF32 on NVIDIA GPUs) and bfloat16 (``gpu_kit.gemm``);
* ``tests``: the GPU-meaningful tests (``check.GPU_TESTS`` and any test marked ``gpu``);
* ``slice_*``: a timed slice of full-size training with projected epoch times for 2C2FC on
  Fashion-MNIST and the [Lab21] CRNN and 5C nets on random data of CIFAR-10's shape
  (``gpu_kit.slices``);
* ``benchmark_float32`` / ``benchmark_bfloat16``: ``experiments/benchmark.py`` on the GPU, its
  efficiencies also taken against the ``gemm`` step's peak of the same dtype;
* ``memory``: ``experiments/memory.py`` (EP against BPTT) compiled for the GPU.

``bash gpu_kit/run.sh --dry_run`` runs every step with smoke sizes on a CPU.
"""

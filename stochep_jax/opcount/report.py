"""The energy table: StochEP EP against CRNN EP, SNN BPTT and an ANN on one batch.

``energy_report(network, params, x, y, settings, key=..., params_source=...)``
counts, per example, the operations of inference and of one training step of
each method on the same network and batch and prices them with an
``EnergyModel``:

* ``stochep_ep``: StochEP neurons, EP (``ep_training_ops``: free, ±β, update);
* ``crnn_ep``: the deterministic CRNN on the same weights, EP;
* ``snn_bptt``: the StochEP network trained by SNN BPTT through the free phase;
* ``ann_bp``: a same-shape ReLU ANN (e.g. 784-512-10), forward and backprop.

``settings``: ``t_free``, ``t_nudge``, ``beta``, ``k_avg`` (the EP phases) and
``decay``, ``kappa`` (the StochEP neuron). ``format_table`` prints the report.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from stochep_jax import assembly, estimators
from stochep_jax import opcount as ops

METHODS = ('stochep_ep', 'crnn_ep', 'snn_bptt', 'ann_bp')


def simulators(network, s: dict):
  """(StochEP simulator, CRNN simulator, EP settings, BPTT settings) for settings ``s``."""
  stochep = {'name': 'stochep', 'stochep': {'decay': s['decay'], 'kappa': s['kappa']}}
  stoch = assembly.make_simulator(network, stochep, simulator_block={'chunk': 25})
  crnn = assembly.make_simulator(network, {'name': 'crnn', 'crnn': {}})
  ep = estimators.EP(s['t_free'], s['t_nudge'], beta=s['beta'], k_avg=s['k_avg'])
  return stoch, crnn, ep, estimators.BPTT(t_free=s['t_free'], k_avg=s['k_avg'])


def _row(inference, training_counts, model: ops.EnergyModel):
  def summary(c):
    t = ops.totals(c)
    return {'ac': t['ac'], 'mac': t['mac'], 'pj': model.pj(c)}

  return {
    'inference': summary(inference),
    'training': summary(training_counts),
    'counts': {'inference': inference, 'training': training_counts},
  }


def energy_report(
  network,
  params,
  x,
  y,
  settings: dict,
  *,
  key,
  params_source: str,
  model: ops.EnergyModel | None = None,
) -> dict:
  """The table of the module docstring for one batch (x [B, ...], y [B]), as a dict."""
  model = model or ops.EnergyModel()
  stoch, crnn, ep, bptt = simulators(network, settings)
  x, y = jnp.asarray(x), jnp.asarray(y)
  s_inf = ops.inference_ops(stoch, params, x, key, t_free=ep.t_free)
  rows = {
    'stochep_ep': _row(s_inf, ops.ep_training_ops(stoch, ep, params, x, y, key), model),
    'crnn_ep': _row(
      ops.inference_ops(crnn, params, x, None, t_free=ep.t_free),
      ops.ep_training_ops(crnn, ep, params, x, y, None),
      model,
    ),
    'snn_bptt': _row(s_inf, ops.bptt_training_ops(stoch, bptt, params, x, y, key), model),
  }
  sizes = [int(np.prod(network.input_shape))] + [int(np.prod(s)) for s in network.layer_shapes]
  ann = ops.ann_ops(sizes)
  rows['ann_bp'] = _row({'forward': ann['forward']}, ann, model)
  ratios = {}
  for phase in ('inference', 'training'):
    base = rows['stochep_ep'][phase]['pj']
    for m in METHODS[1:]:
      ratios[f'{m}_over_stochep_ep_{phase}_pj'] = rows[m][phase]['pj'] / base
  ratios['snn_bptt_over_stochep_ep_training_ops'] = sum(
    rows['snn_bptt']['training'][k] for k in ('ac', 'mac')
  ) / sum(rows['stochep_ep']['training'][k] for k in ('ac', 'mac'))
  return {
    'params_source': params_source,
    'architecture': '-'.join(str(n) for n in sizes),
    'settings': {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
    'batch': int(x.shape[0]),
    'energy_model': dataclasses.asdict(model),
    'left_out': 'memory traffic (weight/state reads and writes, BPTT trajectory storage), '
    'elementwise neuron updates, random numbers, pooling and biases, the optimizer update',
    'conventions': {
      'spikes': 'binary presynaptic value: 1 AC per synapse; real value: 1 MAC; zeros free',
      'static_input': 'analog input drive F_1(x) computed once per phase',
      'ep_update': '2 MACs per synapse (outer products at the +beta and -beta rates)',
      'bptt_backward': 'dense MACs: T * sum_{l>=2} 4 S_l + S_1',
      'ann': 'forward S; backward S (weight gradients) + S of every layer but the first',
    },
    'methods': rows,
    'ratios': ratios,
  }


def format_table(report: dict) -> str:
  """A text table of the report: per method, inference and training ACs, MACs and pJ."""
  head = f'{"method":<11} {"phase":<9} {"ACs":>12} {"MACs":>12} {"pJ":>12} {"× StochEP":>9}'
  lines = [f'{report["architecture"]}, {report["params_source"]}, per example', head]
  for m in METHODS:
    for phase in ('inference', 'training'):
      r = report['methods'][m][phase]
      ratio = r['pj'] / report['methods']['stochep_ep'][phase]['pj']
      lines.append(
        f'{m:<11} {phase:<9} {r["ac"]:12.4g} {r["mac"]:12.4g} {r["pj"]:12.4g} {ratio:9.3g}'
      )
  return '\n'.join(lines)

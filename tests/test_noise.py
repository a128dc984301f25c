"""The uniform generators of ``noise``: distribution, independence, reproducibility.

Statistical tests use fixed keys, so each is deterministic; a test fails when its
statistic is beyond the stated bound: chi-square p-value below ALPHA = 1e-4,
or a mean or correlation more than 5 standard errors from its expected value.
Sample sizes are those of a training run's draws: ~10^6 to 10^7 values drawn as
a run draws them (a small shape per key, many keys from ``fold_in``).
"""

import json
import os
import subprocess
import sys
import tempfile

import chex
import helpers
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized
from scipy import stats

import stochep_jax as sep
from stochep_jax import noise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALPHA = 1e-4
CASES = [
  dict(testcase_name=f'{g}_{b}', generator=g, bits=b) for g in noise.GENERATORS for b in (32, 8)
]
NET = sep.dense(12, [512, 256], 10)


def _draws(generator, bits, n_keys, n, seed=0):
  """u [n_keys, n]: n uniforms for each of n_keys example keys (vmapped, jitted)."""
  keys = sep.example_keys(jax.random.key(seed), jnp.arange(n_keys))
  f = jax.jit(jax.vmap(lambda k: noise.uniform(k, (n,), bits, jnp.float32, generator)))
  return np.asarray(f(keys))


def _step_noise(generator, bits, batch=256, steps=40):
  """The per-layer noise a StochEP phase draws: a tuple of [steps, batch, n_ℓ]."""
  sim = sep.Simulator(NET, sep.StochEP(noise_bits=bits, generator=generator))
  keys = sep.example_keys(jax.random.key(5), jnp.arange(batch))
  f = jax.jit(lambda k: sim._noise(k, jnp.arange(steps), (batch, 12), jnp.float32)[1])
  return tuple(np.asarray(n) for n in f(keys))


def _codes(u, bits):
  """The integer each uniform came from: 8-bit codes, or the top 8 bits of 32-bit ones."""
  return np.floor(u * 256).astype(np.int64)


def _assert_uncorrelated(test, a, b, what):
  a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
  r = np.corrcoef(a, b)[0, 1]
  test.assertLess(abs(r), 5 / np.sqrt(a.size), f'{what}: correlation {r:.2e} over {a.size}')


def _pairs_chi2_pvalue(a, b, bins=16):
  """p-value of a chi-square test that (a, b) is uniform on the bins × bins grid."""
  ia, ib = np.floor(np.ravel(a) * bins).astype(np.int64), np.floor(np.ravel(b) * bins)
  counts = np.bincount(ia * bins + ib.astype(np.int64), minlength=bins * bins)
  return stats.chisquare(counts).pvalue


def _hash32_reference(k0: int, k1: int, j: int) -> int:
  """``noise.hash32`` in Python integers (MurmurHash3's fmix32, twice)."""

  def fmix(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)

  return fmix(fmix((j * 0x9E3779B9 + k0) & 0xFFFFFFFF) ^ k1)


class DistributionTest(parameterized.TestCase):
  @parameterized.named_parameters(*CASES)
  def test_uniform_chi_square(self, generator, bits):
    """10^7 uniforms (20,000 keys × 512): counts over 256 bins (the 8-bit codes)
    and, for 32 bits, over 4096 bins too."""
    u = _draws(generator, bits, 20_000, 512)
    self.assertGreaterEqual(u.min(), 0.0)
    self.assertLess(u.max(), 1.0)
    for bins in (256, 4096) if bits == 32 else (256,):
      counts = np.bincount(np.floor(u.ravel() * bins).astype(np.int64), minlength=bins)
      self.assertLen(counts, bins)
      self.assertGreater(stats.chisquare(counts).pvalue, ALPHA, f'{bins} bins')
    if bits == 8:  # every value on the grid (k + 0.5) / 256
      codes = u * 256 - 0.5
      np.testing.assert_array_equal(codes, np.round(codes))

  @parameterized.named_parameters(*CASES)
  def test_bernoulli_mean_matches_p(self, generator, bits):
    """StochEP's spikes at p = ρ(current): the frequency of 4·10^6 draws per p is
    within 5 binomial standard errors of P(U < p) (p itself for 32 bits up to
    the 2^-23 grid; ⌈256 p − ½⌉ / 256 exactly for 8 bits)."""
    model = sep.StochEP(decay=0.0, kappa=1.0, noise_bits=bits, generator=generator)
    ps = jnp.array([0.001, 0.01, 0.1, 0.37, 0.5, 0.77, 0.9, 0.999])
    n_keys = 500_000  # 4·10^6 decisions per p: every key draws 8 neurons per p
    current = jnp.repeat(ps, 8)
    keys = sep.example_keys(jax.random.key(11), jnp.arange(n_keys))

    @jax.jit
    def frequencies(keys):
      spikes = jax.vmap(lambda k: model.step(model.init_state(current.shape), current, k)[1])(keys)
      return jnp.mean(spikes.reshape(n_keys, len(ps), 8), axis=(0, 2))

    freq = np.asarray(frequencies(keys), np.float64)
    for p, f in zip(np.asarray(ps, np.float64), freq):
      q = p if bits == 32 else min(max(np.ceil(256 * p - 0.5), 0), 256) / 256
      se = np.sqrt(max(q * (1 - q), 1e-12) / (8 * n_keys))
      self.assertLess(abs(f - q), 5 * se + 2**-23, f'p={p}: frequency {f} vs {q}')

  def test_8_bit_quantisation_is_exact(self):
    """With 8 bits, U < p is a threshold on the code: spikes iff k < ⌈256 p − ½⌉."""
    u = _draws('hash', 8, 64, 512)
    k = np.round(u * 256 - 0.5).astype(np.int64)
    for p in (0.0, 0.001, 0.3, 0.50001, 0.998, 1.0):
      np.testing.assert_array_equal(u < np.float32(p), k < np.ceil(256 * np.float32(p) - 0.5))


class IndependenceTest(parameterized.TestCase):
  @parameterized.named_parameters(*CASES)
  def test_adjacent_neurons(self, generator, bits):
    """Neurons j and j + d of one draw (d = 1, 2, 3 share a word at 8 bits; 4 is the
    next word's same byte): uncorrelated, and the pairs uniform on a 16 × 16 grid."""
    u = _draws(generator, bits, 4_000, 512, seed=1)
    for d in (1, 2, 3, 4):
      a, b = u[:, :-d], u[:, d:]
      _assert_uncorrelated(self, a, b, f'neurons j, j+{d}')
      self.assertGreater(_pairs_chi2_pvalue(a, b), ALPHA, f'pairs j, j+{d}')
    # The top 8 bits of 32-bit draws are uniform over the 256 codes too.
    counts = np.bincount(_codes(u, bits).ravel(), minlength=256)
    self.assertGreater(stats.chisquare(counts).pvalue, ALPHA)

  @parameterized.named_parameters(*CASES)
  def test_steps_examples_and_layers(self, generator, bits):
    """Through the simulator's key tree (example → step → layer): the same neuron
    at consecutive steps, in consecutive examples, and in two layers is
    uncorrelated and pairwise uniform (5.2·10^6 values per layer)."""
    n1, n2, _ = _step_noise(generator, bits)  # [T, B, 512], [T, B, 256]
    pairs = {
      'steps t, t+1': (n1[:-1], n1[1:]),
      'examples i, i+1': (n1[:, :-1], n1[:, 1:]),
      'layers 1, 2': (n1[..., :256], n2),
    }
    for what, (a, b) in pairs.items():
      _assert_uncorrelated(self, a, b, what)
      self.assertGreater(_pairs_chi2_pvalue(a, b), ALPHA, what)
    for what, n in (('layer 1', n1), ('layer 2', n2)):
      counts = np.bincount(_codes(n, bits).ravel(), minlength=256)
      self.assertGreater(stats.chisquare(counts).pvalue, ALPHA, what)

  def test_hash_avalanche(self):
    """Flipping any one bit of the key words or the counter flips each output bit
    with probability ½ (4096 random inputs; within 0.5 ± 0.06, 7.7 standard errors)."""
    rng = np.random.default_rng(0)
    k0, k1, j = (
      jnp.asarray(rng.integers(0, 2**32, 4096, dtype=np.uint64), jnp.uint32) for _ in '012'
    )
    base = noise.hash32(k0, k1, j)
    one = jnp.uint32(1)
    probs = []
    for which in range(3):
      for bit in range(32):
        args = [k0, k1, j]
        args[which] = args[which] ^ (one << bit)
        diff = np.asarray(noise.hash32(*args) ^ base)
        flips = (diff[:, None] >> np.arange(32, dtype=np.uint32)) & 1
        probs.append(flips.mean(0))
    probs = np.stack(probs)  # [96 input bits, 32 output bits]
    self.assertLess(np.abs(probs - 0.5).max(), 0.06)
    self.assertLess(abs(probs.mean() - 0.5), 0.005)


class ReproducibilityTest(parameterized.TestCase):
  def test_hash32_is_murmur3_fmix32_twice(self):
    # MurmurHash3_x86_32 of the empty string is fmix32(seed): SMHasher's vectors.
    got = noise.fmix32(jnp.array([0, 1, 0xFFFFFFFF], jnp.uint32))
    np.testing.assert_array_equal(got, np.array([0, 0x514E28B7, 0x81F16F39], np.uint32))
    key = jax.random.key(123)
    k0, k1 = (int(w) for w in jax.random.key_data(key))
    want = np.array([_hash32_reference(k0, k1, j) for j in range(10)], np.uint32)
    np.testing.assert_array_equal(noise.random_bits(key, 10, 'hash'), want)
    raw = jax.random.key_data(key)  # raw uint32 keys give the same words
    np.testing.assert_array_equal(noise.random_bits(raw, 10, 'hash'), want)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.named_parameters(*CASES)
  def test_same_key_same_bits(self, generator, bits):
    key = jax.random.key(42)
    f = self.variant(lambda k: noise.uniform(k, (3, 50), bits, jnp.float32, generator))
    a, b = f(key), noise.uniform(key, (3, 50), bits, jnp.float32, generator)
    np.testing.assert_array_equal(a, b)
    keys = sep.example_keys(key, jnp.arange(5))  # vmapped == one by one
    batched = jax.vmap(lambda k: noise.uniform(k, (3, 50), bits, jnp.float32, generator))(keys)
    for i in range(5):
      np.testing.assert_array_equal(
        batched[i], noise.uniform(keys[i], (3, 50), bits, jnp.float32, generator)
      )
    self.assertFalse(np.array_equal(batched[0], batched[1]))

  def test_threefry_32_bits_is_jax_random(self):
    key = jax.random.key(3)
    np.testing.assert_array_equal(noise.uniform(key, (4, 9)), jax.random.uniform(key, (4, 9)))
    model = sep.StochEP(decay=0.0)
    p = jnp.linspace(0, 1, 300)
    _, s = model.step(model.init_state(p.shape), p, key)
    np.testing.assert_array_equal(s, jax.random.bernoulli(key, p).astype(jnp.float32))

  def test_low_precision_dtypes_stay_below_one(self):
    for dtype in (jnp.bfloat16, jnp.float16):
      u = noise.uniform(jax.random.key(0), (100_000,), 32, dtype, 'hash')
      self.assertEqual(u.dtype, dtype)
      self.assertLess(float(u.max()), 1.0)
      self.assertGreaterEqual(float(u.min()), 0.0)

  def test_bad_options(self):
    with self.assertRaisesRegex(ValueError, 'generator'):
      noise.uniform(jax.random.key(0), (3,), generator='rbg')
    with self.assertRaisesRegex(ValueError, 'bits'):
      noise.uniform(jax.random.key(0), (3,), bits=16, generator='hash')


class StochEPPhaseTest(parameterized.TestCase):
  SIM_NET = sep.dense(12, [16, 8], 4)

  def _sim(self, chunk=1):
    return sep.Simulator(
      self.SIM_NET,
      sep.StochEP(decay=0.3, kappa=1.5, generator='hash'),
      encoder=sep.BernoulliInput(generator='hash'),
      chunk=chunk,
    )

  def _spikes(self, sim, x, indices, steps=20):
    params = self.SIM_NET.init(jax.random.key(0))
    keys = sep.example_keys(jax.random.key(3), indices)
    return sim.run_phase(
      params,
      x,
      keys,
      sim.init_states(x.shape[0]),
      steps=steps,
      t0=4,
      trace_fn=lambda st: tuple(s.s for s in st),
    ).trace

  def test_an_example_gets_the_same_spikes_in_any_batch(self):
    """Example 100 + i's spikes alone, in a batch of 6 at position i, and in a batch
    of 3 at another position: identical."""
    x = jax.random.uniform(jax.random.key(1), (6, 12))
    run = jax.jit(lambda x, idx: self._spikes(self._sim(), x, idx))
    full = run(x, jnp.arange(100, 106))
    for i in (0, 4):
      alone = run(x[i : i + 1], jnp.array([100 + i]))
      perm = jnp.array([i, (i + 1) % 6, (i + 2) % 6])
      moved = run(x[perm[::-1]], 100 + perm[::-1])  # example i last of three
      for u, v, w in zip(full, alone, moved):
        np.testing.assert_array_equal(u[:, i], v[:, 0])
        np.testing.assert_array_equal(u[:, i], w[:, 2])
    self.assertGreater(float(np.mean(full[0])), 0.05)  # it does spike

  def test_chunked_equals_step_by_step(self):
    x = jax.random.uniform(jax.random.key(1), (5, 12))
    idx = jnp.arange(5)
    base = jax.jit(lambda: self._spikes(self._sim(1), x, idx))()
    for chunk in (7, 32):
      chex.assert_trees_all_equal(
        base, jax.jit(lambda c=chunk: self._spikes(self._sim(c), x, idx))()
      )


_DEVICE_CODE = """
import jax, jax.numpy as jnp, numpy as np
import stochep_jax as sep
from stochep_jax import noise, parallel
assert jax.device_count() == 4
mesh = parallel.make_mesh()
keys = sep.example_keys(jax.random.key(9), jnp.arange(8))
net = sep.dense(12, [16], 4)
sim = sep.Simulator(net, sep.StochEP(generator='hash'), sep.BernoulliInput(generator='hash'), chunk=5)
params = net.init(jax.random.key(0))
x = jax.random.uniform(jax.random.key(1), (8, 12))
def f(keys, x):
  u = jax.vmap(lambda k: noise.uniform(k, (33,), 32, jnp.float32, 'hash'))(keys)
  tr = sim.run_phase(params, x, keys, sim.init_states(8), steps=12,
                     trace_fn=lambda st: tuple(s.s for s in st)).trace
  return u, tr
one = jax.jit(f)(jax.device_put(keys, jax.devices()[0]), jax.device_put(x, jax.devices()[0]))
sh = parallel.batch_sharding(mesh)
four = jax.jit(f, in_shardings=(sh, sh))(jax.device_put(keys, sh), jax.device_put(x, sh))
assert len(four[0].sharding.device_set) == 4
for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(four)):
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
print('identical')
"""


class DevicesTest(absltest.TestCase):
  def test_same_draws_and_spikes_on_one_or_four_devices(self):
    """Examples sharded over 4 forced CPU devices draw the same noise and spikes as on one."""
    out = subprocess.run(
      [sys.executable, '-c', _DEVICE_CODE],
      env=helpers.cpu_env(4),
      cwd=ROOT,
      capture_output=True,
      text=True,
      timeout=180,
    )
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn('identical', out.stdout)


class NoiseSpeedScriptTest(absltest.TestCase):
  def test_json_of_the_interleaved_timing(self):
    """experiments/noise_speed.py: one entry per variant, speedups relative to the first."""
    with tempfile.TemporaryDirectory() as tmp:
      workloads = ('generator', 'free')
      runs = helpers.run_scripts(  # both from one interpreter: one import of JAX
        [
          (
            os.path.join(ROOT, 'experiments', 'noise_speed.py'),
            [f'--workload={workload}', '--repeats=1', '--batch=4']
            + ['--variants=threefry32,hash32', f'--out={os.path.join(tmp, workload + ".json")}'],
            ROOT,
          )
          for workload in workloads
        ],
        env=helpers.cpu_env(),
        timeout=180,
      )
      for workload, run in zip(workloads, runs, strict=True):
        self.assertEqual(run.returncode, 0, run.stderr[-2000:])
        with open(os.path.join(tmp, f'{workload}.json')) as f:
          d = json.load(f)
        self.assertEqual(d['workload'], workload)
        self.assertEqual(set(d['results']), {'threefry32', 'hash32'})
        self.assertEqual(d['results']['threefry32']['speedup_vs_threefry32'], 1.0)
        for r in d['results'].values():
          self.assertGreater(r['ms_per_call'], 0)
          self.assertAlmostEqual(
            r['ms_per_step'], r['ms_per_call'] / (25 if workload == 'generator' else 100)
          )


if __name__ == '__main__':
  absltest.main()

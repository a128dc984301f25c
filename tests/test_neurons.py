"""Neuron models: each update equals its equation (docs/model.md, "Neuron models")."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep
from stochep_jax import activations, noise


class ActivationTest(parameterized.TestCase):
  def test_values(self):
    x = jnp.array([-1.0, 0.0, 0.25, 1.0, 1.5, 3.0])
    np.testing.assert_allclose(activations.get('hard_sigmoid')(x), [0, 0, 0.25, 1, 1, 1])
    np.testing.assert_allclose(activations.get('hard_sigmoid_half')(x), [0, 0, 0.125, 0.5, 0.75, 1])
    np.testing.assert_allclose(
      activations.get('logistic')(x), 1 / (1 + np.exp(-np.array(x))), rtol=1e-6
    )

  @parameterized.parameters('hard_sigmoid', 'hard_sigmoid_half', 'logistic')
  def test_grad_matches_autodiff_away_from_kinks(self, name):
    rho = activations.get(name)
    x = jnp.array([-0.7, 0.3, 0.6, 1.7, 2.4])
    np.testing.assert_allclose(rho.grad(x), jax.vmap(jax.grad(rho.fn))(x), rtol=1e-6)

  def test_unknown(self):
    with self.assertRaisesRegex(ValueError, 'unknown activation'):
      activations.get('relu6')


class NoiseTest(parameterized.TestCase):
  def test_32_bits_is_jax_uniform(self):
    k = jax.random.key(0)
    np.testing.assert_array_equal(noise.uniform(k, (5, 7)), jax.random.uniform(k, (5, 7)))

  def test_8_bits_grid_and_frequencies(self):
    u = noise.uniform(jax.random.key(1), (200_000,), bits=8)
    codes = np.asarray(u) * 256 - 0.5
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-4)  # on the 1/256 grid
    self.assertEqual(int(codes.min().round()), 0)
    self.assertEqual(int(codes.max().round()), 255)
    for p in (0.1, 0.37, 0.9):  # P(U < p) within 1/512 + 4 standard errors
      freq = float(jnp.mean(u < p))
      self.assertLess(abs(freq - p), 1 / 512 + 4 * np.sqrt(p * (1 - p) / u.size))

  def test_bad_bits(self):
    with self.assertRaises(ValueError):
      noise.uniform(jax.random.key(0), (3,), bits=16)


class NeuronTest(parameterized.TestCase):
  @parameterized.parameters('hard_sigmoid', 'hard_sigmoid_half', 'logistic')
  def test_crnn(self, rho):
    model = sep.CRNN(rho)
    i = jnp.array([-0.5, 0.2, 0.9, 2.5])
    state, out = model.step(model.init_state((4,)), i)
    np.testing.assert_allclose(out, activations.get(rho)(i))
    np.testing.assert_allclose(model.mean(state), out)
    np.testing.assert_allclose(model.output(state), out)

  @chex.variants(with_jit=True, without_jit=True)
  def test_stochep_update_equations(self):
    model = sep.StochEP(decay=0.7, kappa=2.0)
    prev = sep.neurons.StochEPState(u=jnp.array([0.1, 0.4, -0.2]), s=jnp.zeros(3))
    current = jnp.array([0.5, 0.0, 1.0])
    u_noise = jnp.array([0.5, 0.99, 0.01])
    state, out = self.variant(model.update)(prev, current, u_noise)
    u = 0.7 * np.array([0.1, 0.4, -0.2]) + 0.3 * np.array([0.5, 0.0, 1.0])
    p = np.clip(2.0 * u, 0, 1)  # [0.44, 0.56, 0.32]
    np.testing.assert_allclose(state.u, u, rtol=1e-6)
    np.testing.assert_array_equal(out, (np.array(u_noise) < p).astype(np.float32))
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(state.s, out)
    np.testing.assert_allclose(model.mean(state), p, rtol=1e-6)

  def test_stochep_step_is_jax_bernoulli(self):
    model = sep.StochEP(decay=0.0, kappa=1.0)
    current = jnp.linspace(0, 1, 1000)
    key = jax.random.key(7)
    _, out = model.step(model.init_state((1000,)), current, key)
    np.testing.assert_array_equal(out, jax.random.bernoulli(key, current).astype(jnp.float32))

  def test_mean_field_variant_outputs_probability(self):
    model = sep.StochEP(decay=0.5, kappa=1.5, stochastic=False)
    state, out = model.step(model.init_state((2,)), jnp.array([0.2, 0.8]))
    np.testing.assert_allclose(out, np.clip(1.5 * 0.5 * np.array([0.2, 0.8]), 0, 1), rtol=1e-6)
    self.assertIsNone(model.noise(jax.random.key(0), (2,)))

  def test_straight_through(self):
    model = sep.StochEP(decay=0.0, kappa=1.0, straight_through=True)
    state0 = model.init_state((3,))
    u_noise = jnp.array([0.2, 0.6, 0.9])

    def f(i):
      return model.update(state0, i, u_noise)[1]

    i = jnp.array([0.3, 0.4, 0.95])
    np.testing.assert_allclose(f(i), [1.0, 0.0, 1.0], atol=1e-7)
    # ∂s/∂p = 1 and ∂p/∂i = 1 inside the hard sigmoid's range.
    np.testing.assert_allclose(jax.jacobian(f)(i), np.eye(3), atol=1e-7)

  def test_hopfield_update(self):
    model = sep.Hopfield(dt=0.1, rho='logistic')
    s0 = jnp.array([0.3, -1.0])
    i = jnp.array([0.5, 2.0])
    state, out = model.update(sep.neurons.HopfieldState(s0), i)
    sig = 1 / (1 + np.exp(-np.array(s0)))
    expected = np.array(s0) + 0.1 * (-np.array(s0) + sig * (1 - sig) * np.array(i))
    np.testing.assert_allclose(state.s, expected, rtol=1e-6)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-expected)), rtol=1e-6)

  def test_invalid_hyperparameters(self):
    with self.assertRaises(ValueError):
      sep.StochEP(decay=1.0)
    with self.assertRaises(ValueError):
      sep.StochEP(kappa=0.0)


def _models():
  """(name, model, stochastic) for every registered neuron model (and a variant or two)."""
  n = sep.neurons
  return [
    ('crnn', sep.CRNN(), False),
    ('hopfield', sep.Hopfield(), False),
    ('stochep', sep.StochEP(), True),
    ('stochep_mean_field', sep.StochEP(stochastic=False), False),
    ('oconnor', sep.OConnor(), True),
    ('oconnor_sigma_delta', sep.OConnor(coding='sigma_delta'), False),
    ('sigma_delta', sep.SigmaDelta(), False),
    ('lif_lowpass', n.LIFLowPass(), False),
    ('lif_schedule', n.LIFSchedule(), False),
    ('lif_predictive', n.LIFPredictive(), False),
  ]


class ProtocolTest(parameterized.TestCase):
  """stochastic / mean_field() / surrogate() / membrane(state), answered by each model."""

  def test_every_registered_model_is_covered(self):
    self.assertContainsSubset(sep.NEURONS.names(), [name for name, _, _ in _models()])

  @parameterized.named_parameters(*_models())
  def test_stochastic_means_noise(self, model, stochastic):
    self.assertIs(model.stochastic, stochastic)
    self.assertEqual(model.noise(jax.random.key(0), (3,)) is not None, stochastic)
    mf = model.mean_field()
    self.assertFalse(mf.stochastic)
    self.assertIsNone(mf.noise(jax.random.key(0), (3,)))
    if not stochastic:
      self.assertIs(mf, model)
    self.assertIs(mf.mean_field(), mf)
    chex.assert_shape(model.membrane(model.init_state((2, 3))), (2, 3))

  def test_mean_field_and_surrogate_of_each_model(self):
    n = sep.neurons
    s = sep.StochEP(decay=0.7, kappa=2.0)
    self.assertEqual(s.mean_field(), sep.StochEP(decay=0.7, kappa=2.0, stochastic=False))
    self.assertEqual(s.surrogate(), sep.StochEP(decay=0.7, kappa=2.0, straight_through=True))
    mf = sep.StochEP(stochastic=False)
    self.assertIs(mf.surrogate(), mf)
    for det in (sep.CRNN(), sep.Hopfield()):
      self.assertIs(det.surrogate(), det)
    o = sep.OConnor(eps=0.8)
    self.assertEqual(o.mean_field(), sep.OConnor(eps=0.8, spikes=False))
    for model in (o, sep.SigmaDelta(lam=0.5), n.LIFLowPass(), n.LIFSchedule(), n.LIFPredictive()):
      self.assertEqual(model.surrogate(), dataclasses.replace(model, use_surrogate=True))
    omf = o.mean_field()
    self.assertIs(omf.surrogate(), omf)  # no spikes: differentiable as it stands

  def test_membrane_fields(self):
    n = sep.neurons
    a, b, c = jnp.array([1.0]), jnp.array([2.0]), jnp.array([3.0])
    self.assertIs(sep.CRNN().membrane(n.CRNNState(a)), a)
    self.assertIs(sep.Hopfield().membrane(n.HopfieldState(a)), a)
    self.assertIs(sep.StochEP().membrane(n.StochEPState(u=a, s=c)), a)  # u, not s
    coded = n.SpikeCodedState(d=a, xi=b, v=c, s=a, t=jnp.array(0.0))
    for model in (sep.OConnor(), sep.SigmaDelta(), n.LIFPredictive()):
      self.assertIs(model.membrane(coded), b)  # ξ, not the Σ-Δ residual V
    lif = n.LIFState(v=a, r=b, s=c, t=jnp.array(0.0))
    for model in (n.LIFLowPass(), n.LIFSchedule()):
      self.assertIs(model.membrane(lif), a)

  def test_base_class_defaults(self):
    class Noisy(sep.neurons.NeuronModel):
      stochastic = True

    for method in (Noisy().surrogate, Noisy().mean_field):
      with self.assertRaisesRegex(ValueError, 'Noisy'):
        method()
    with self.assertRaisesRegex(NotImplementedError, 'Noisy'):
      Noisy().membrane(None)

  def test_straight_through_forward_is_exactly_the_spikes(self):
    p = jnp.linspace(0.0, 1.0, 101)
    u = jax.random.uniform(jax.random.key(0), (101,))
    model = sep.StochEP(decay=0.0).surrogate()
    _, out = model.update(model.init_state((101,)), p, u)
    np.testing.assert_array_equal(out, (u < p).astype(jnp.float32))


def run_steps(model, current, steps, state=None):
  """``steps`` updates under a constant current; (states, outputs) stacked over steps."""

  def body(st, _):
    st, out = model.update(st, current)
    return st, (st, out)

  state = model.init_state(current.shape) if state is None else state
  return jax.lax.scan(body, state, None, length=steps)[1]


class LIFTest(parameterized.TestCase):
  """The deterministic LIF baselines of [StochEP] Fig. 3, a few steps by hand."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_lif_lowpass_by_hand(self):
    model = sep.neurons.LIFLowPass(decay=0.5, v_th=0.5, gamma=0.8)
    states, out = self.variant(lambda c: run_steps(model, c, 4))(jnp.array([0.3, 0.8, -0.2]))
    # ṽ = ½ v + ½ I; spike if ṽ > ½, then v = ṽ − ½; r = 0.8 r + 0.2 s.
    v_pre = [[0.15, 0.4, -0.1], [0.225, 0.6, -0.15], [0.2625, 0.45, -0.175]]
    v_pre.append([0.28125, 0.625, -0.1875])
    s = [[0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 1, 0]]
    np.testing.assert_array_equal(states.s, s)
    np.testing.assert_allclose(states.v, np.array(v_pre) - 0.5 * np.array(s), rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], [0.0, 0.2, 0.16, 0.328], rtol=1e-6)
    np.testing.assert_allclose(out[:, [0, 2]], 0.0)
    np.testing.assert_array_equal(states.r, out)
    np.testing.assert_array_equal(states.t, [1, 2, 3, 4])
    self.assertIsNone(model.noise(jax.random.key(0), (3,)))

  def test_lif_schedule_by_hand(self):
    model = sep.neurons.LIFSchedule(decay=0.5, v_th=0.5, gamma=0.8, eps=1.0, eta=1.0)
    states, out = jax.jit(lambda c: run_steps(model, c, 4))(jnp.array([1.2]))
    # ε_t = 1/t; ṽ = v + ε_t ½ (I − v); spike if ṽ > ½; v = ṽ − ε_t ½ s.
    np.testing.assert_array_equal(states.s[:, 0], [1, 0, 1, 0])
    v3 = 0.5125 - 0.5 / 3
    np.testing.assert_allclose(states.v[:, 0], [0.1, 0.375, v3, v3 + 0.125 * (1.2 - v3)], rtol=1e-6)
    np.testing.assert_allclose(out[:, 0], [0.2, 0.16, 0.328, 0.2624], rtol=1e-6)

  def test_lif_schedule_without_schedule_is_lif_lowpass(self):
    current = jax.random.uniform(jax.random.key(0), (50,), minval=-0.5, maxval=1.5)
    a = run_steps(sep.neurons.LIFSchedule(decay=0.7, v_th=0.4, gamma=0.6, eta=0.0), current, 30)
    b = run_steps(sep.neurons.LIFLowPass(decay=0.7, v_th=0.4, gamma=0.6), current, 30)
    chex.assert_trees_all_close(a, b, rtol=1e-6)
    self.assertGreater(float(a[0].s.sum()), 0)

  def test_lif_predictive_by_hand(self):
    model = sep.NEURONS.make('lif_predictive', eps=0.5, eta=0.75, lam=0.6)
    prev = sep.neurons.SpikeCodedState(
      d=jnp.array([0.2, 0.5]),
      xi=jnp.array([0.1, 0.8]),
      v=jnp.array([0.3, -0.2]),
      s=jnp.zeros(2),
      t=jnp.array(3.0),
    )
    state, out = model.update(prev, jnp.array([0.7, 0.1]))
    eps = 0.5 / 4**0.75  # ε_t = c₀ / t^η at t = 4
    d = np.array([0.5, 0.26])  # 0.4 d + 0.6 I
    xi = (1 - eps) * np.array([0.1, 0.8]) + eps * d  # inside [0, 1], ρ' = 1
    e = (xi - 0.4 * np.array([0.1, 0.8])) / 0.6  # [0.2179, 0.6409]
    np.testing.assert_allclose(state.d, d, rtol=1e-6)
    np.testing.assert_allclose(state.xi, xi, rtol=1e-6)
    np.testing.assert_array_equal(out, [1.0, 0.0])  # V + e = [0.518, 0.441] against ½
    np.testing.assert_allclose(state.v, np.array([0.3, -0.2]) + e - [1.0, 0.0], atol=1e-6)
    self.assertEqual(float(state.t), 4.0)
    # It is OConnor's predictive neuron, with the schedule.
    ref = sep.OConnor(coding='predictive', eps=0.5, eta=0.75, lam=0.6).update(prev, out)
    chex.assert_trees_all_close(model.update(prev, out), ref)

  @parameterized.parameters('lif_lowpass', 'lif_schedule', 'lif_predictive')
  def test_ep_gives_finite_non_zero_updates(self, name):
    """EP through ``Simulator`` and ``estimators`` with each LIF baseline (a tiny dense net)."""
    net = sep.dense(10, [8], 3)
    params = net.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (6, 10))
    sim = sep.Simulator(net, sep.NEURONS.make(name))
    self.assertFalse(sim.neuron.stochastic)
    # Short phases and β = 1: with ε_t = c₀/t^η the membrane's response to the nudge
    # fades (lif_schedule's update is exactly 0 here with t_free 60, β 0.5).
    ep = sep.EP(t_free=30, t_nudge=30, beta=1.0, k_avg=10)
    grads, aux = jax.jit(lambda p: sep.ep_gradient(sim, ep, p, x, jnp.arange(6) % 3, None))(params)
    for g in jax.tree_util.tree_leaves(grads):
      self.assertTrue(bool(jnp.all(jnp.isfinite(g))))
      self.assertGreater(float(jnp.abs(g).max()), 0.0)
    self.assertGreater(float(jnp.mean(aux['rates'][0])), 0.0)  # the hidden layer spikes

  def test_invalid(self):
    with self.assertRaises(ValueError):
      sep.neurons.LIFLowPass(gamma=1.0)
    with self.assertRaises(ValueError):
      sep.neurons.LIFLowPass(v_th=0.0)
    with self.assertRaises(ValueError):
      sep.neurons.LIFSchedule(eps=0.0)
    with self.assertRaises(ValueError):
      sep.neurons.LIFLowPass(spike_grad='triangle')
    with self.assertRaisesRegex(ValueError, 'eta'):
      sep.NEURONS.make('lif_lowpass', eta=0.5)  # (b) has no schedule


class SurrogateTest(parameterized.TestCase):
  """One step's Jacobian d(output)/d(current) under surrogate(), by hand (ρ' = 1 inside)."""

  def jac(self, model, state, current, noise=None):
    return jnp.diag(jax.jacobian(lambda c: model.update(state, c, noise)[1])(current))

  def test_spikes_have_no_gradient_without_the_surrogate(self):
    c = jnp.array([0.4, 0.9])
    for model in (sep.neurons.LIFLowPass(), sep.SigmaDelta(), sep.OConnor(coding='sigma_delta')):
      np.testing.assert_array_equal(self.jac(model, model.init_state((2,)), c), 0.0)

  def test_lif_straight_through(self):
    model = sep.neurons.LIFLowPass(decay=0.5, v_th=0.5, gamma=0.8).surrogate()
    state = sep.neurons.LIFState(v=jnp.array([0.3, 0.1]), r=jnp.zeros(2), s=jnp.zeros(2), t=0.0)
    c = jnp.array([0.9, 0.2])  # ṽ = [0.6, 0.15]: one spike, one not
    new, out = model.update(state, c)
    np.testing.assert_array_equal(new.s, [1.0, 0.0])  # forward unchanged
    # ∂s/∂I = (1 − λ)·1, ∂r/∂I = (1 − γ)·∂s/∂I, ∂v/∂I = (1 − λ)(1 − V_th).
    np.testing.assert_allclose(self.jac(model, state, c), [0.1, 0.1], rtol=1e-6)
    dv = jnp.diag(jax.jacobian(lambda i: model.update(state, i)[0].v)(c))
    np.testing.assert_allclose(dv, [0.25, 0.25], rtol=1e-6)

  def test_lif_fast_sigmoid_matches_finite_differences_of_the_smoothed_step(self):
    """∂r/∂I = (1 − γ)(1 − λ)/(1 + k|ṽ − V_th|)², the derivative of the step with
    H replaced by g(z) = z/(1 + k|z|): central differences agree to 1e-8 (float64)."""
    with jax.enable_x64(True):
      lam, gam, vth, k = 0.5, 0.8, 0.5, 5.0
      model = sep.neurons.LIFLowPass(
        decay=lam, v_th=vth, gamma=gam, spike_grad='fast_sigmoid', surrogate_slope=k
      ).surrogate()
      v0 = jnp.array([0.3, 0.1, -0.4], jnp.float64)
      state = sep.neurons.LIFState(v=v0, r=jnp.zeros(3), s=jnp.zeros(3), t=jnp.array(0.0))
      c = jnp.array([0.9, 0.2, 1.1], jnp.float64)
      z = lam * np.array(v0) + (1 - lam) * np.array(c) - vth  # [0.1, -0.35, 0.35]
      hand = (1 - gam) * (1 - lam) / (1 + k * np.abs(z)) ** 2
      np.testing.assert_allclose(self.jac(model, state, c), hand, rtol=1e-12)

      def smoothed(i):
        zz = lam * v0 + (1 - lam) * i - vth
        return (1 - gam) * zz / (1 + k * jnp.abs(zz))

      h = 1e-6
      fd = (smoothed(c + h) - smoothed(c - h)) / (2 * h)
      np.testing.assert_allclose(self.jac(model, state, c), fd, rtol=1e-8)

  def test_spike_coded_straight_through(self):
    """Σ-Δ: ∂s/∂I = ∂a/∂I, the encoded value's derivative; Bernoulli: ∂s/∂ρ(ξ) = 1."""
    n = sep.neurons
    prev = n.SpikeCodedState(
      d=jnp.array([0.2, 0.5]),
      xi=jnp.array([0.1, 0.8]),
      v=jnp.array([0.3, -0.2]),
      s=jnp.zeros(2),
      t=jnp.array(3.0),
    )
    c = jnp.array([0.7, 0.1])
    # Predictive (λ 0.6, ε 0.9): ∂d/∂I = λ, ∂ξ/∂I = ελ, ∂e/∂I = ε.
    np.testing.assert_allclose(self.jac(sep.SigmaDelta(eps=0.9).surrogate(), prev, c), 0.9)
    # Σ-Δ encoder, ε_t = 0.8 / 4^0.75: ∂a/∂I = ε_t.
    eps_t = 0.8 / 4**0.75
    model = sep.OConnor(coding='sigma_delta', eps=0.8).surrogate()
    np.testing.assert_allclose(self.jac(model, prev, c), eps_t, rtol=1e-6)
    dv = jnp.diag(jax.jacobian(lambda i: model.update(prev, i)[0].v)(c))
    np.testing.assert_allclose(dv, 0.0, atol=1e-7)  # V carries no gradient
    # Stochastic encoder: the draw gets ∂s/∂ρ(ξ) = 1.
    model = sep.OConnor(coding='stochastic', eps=0.8).surrogate()
    u = jnp.array([0.05, 0.99])
    np.testing.assert_array_equal(model.update(prev, c, u)[1], [1.0, 0.0])
    np.testing.assert_allclose(self.jac(model, prev, c, u), eps_t, rtol=1e-6)


class ConstructorChecksTest(parameterized.TestCase):
  """Every registered neuron model refuses bad hyperparameters with one line naming them."""

  @parameterized.named_parameters(
    ('stochep_bits', 'stochep', dict(noise_bits=3), '^StochEP: noise_bits=3: must be 32 or 8$'),
    ('stochep_generator', 'stochep', dict(generator='x'), "^StochEP: generator='x': must be 'th"),
    ('stochep_rho', 'stochep', dict(rho='x'), "^StochEP: rho='x': must be 'hard_sigmoid', "),
    ('stochep_decay_nan', 'stochep', dict(decay=float('nan')), r'^StochEP: decay=nan: .*\[0, 1\)$'),
    (
      'stochep_kappa_inf',
      'stochep',
      dict(kappa=float('inf')),
      '^StochEP: kappa=inf: must be a fin',
    ),
    ('stochep_flag', 'stochep', dict(stochastic='no'), "^StochEP: stochastic='no': must be True"),
    ('crnn_rho', 'crnn', dict(rho='x'), "^CRNN: rho='x': must be 'hard_sigmoid', "),
    ('hopfield_dt', 'hopfield', dict(dt=0.0), '^Hopfield: dt=0.0: must be a finite number > 0$'),
    ('hopfield_dt_nan', 'hopfield', dict(dt=float('nan')), '^Hopfield: dt=nan: must be a finite'),
    ('hopfield_rho', 'hopfield', dict(rho='tanh'), "^Hopfield: rho='tanh': must be "),
    ('oconnor_bits', 'oconnor', dict(noise_bits=16), '^OConnor: noise_bits=16: must be 32 or 8$'),
    ('oconnor_generator', 'oconnor', dict(generator='rbg'), "^OConnor: generator='rbg'"),
    ('oconnor_rho', 'oconnor', dict(rho='x'), "^OConnor: rho='x'"),
    ('oconnor_v_th', 'oconnor', dict(v_th=0.0), '^OConnor: v_th=0.0: must be a finite number > 0$'),
    ('sigma_delta_rho', 'sigma_delta', dict(rho='x'), "^SigmaDelta: rho='x'"),
    ('sigma_delta_lam', 'sigma_delta', dict(lam=float('nan')), '^SigmaDelta: lam=nan'),
    ('lif_gamma', 'lif_lowpass', dict(gamma=1.0), r'^LIFLowPass: gamma=1.0: .*\[0, 1\)$'),
    ('lif_slope', 'lif_lowpass', dict(surrogate_slope=0), '^LIFLowPass: surrogate_slope=0: '),
    ('lif_schedule_eta', 'lif_schedule', dict(eta=float('nan')), '^LIFSchedule: eta=nan: '),
    ('lif_predictive', 'lif_predictive', dict(spike_grad='x'), "^LIFPredictive: spike_grad='x'"),
  )
  def test_bad_hyperparameter(self, name, kwargs, message):
    with self.assertRaisesRegex(ValueError, message) as cm:
      sep.NEURONS.make(name, **kwargs)
    self.assertNotIn('\n', str(cm.exception))

  def test_every_model_builds_with_its_defaults(self):
    for name in sep.NEURONS.names():
      sep.NEURONS.make(name)  # the defaults pass their own checks


if __name__ == '__main__':
  absltest.main()

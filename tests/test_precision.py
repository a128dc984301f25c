"""The precision policy: bf16 products of the dynamics, float32 everything else."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep
from stochep_jax import connections, gdu, precision

BF16 = 'bfloat16'


def rounded(a):
  """``a`` rounded to bfloat16 and back: what a bf16 operand holds."""
  return np.asarray(jnp.asarray(a).astype(jnp.bfloat16).astype(jnp.float32), np.float64)


class MatmulTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    self.a = jax.random.uniform(k1, (16, 96))
    self.w = jax.random.normal(k2, (96, 24))
    self.g = jax.random.normal(k3, (16, 24))

  def test_forward_and_transposed_products_use_bf16_operands(self):
    y = connections.matmul(self.a, self.w, BF16)
    self.assertEqual(y.dtype, jnp.float32)
    want = rounded(self.a) @ rounded(self.w)  # exact products, float32 accumulation
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-4)
    da = jax.grad(lambda a: jnp.sum(connections.matmul(a, self.w, BF16) * self.g))(self.a)
    np.testing.assert_allclose(da, rounded(self.g) @ rounded(self.w).T, rtol=0, atol=1e-4)
    # and it is not the float32 product: the rounding is visible
    self.assertGreater(float(jnp.abs(y - self.a @ self.w).max()), 1e-3)

  def test_weight_gradient_is_float32_exact(self):
    dw = jax.grad(lambda w: jnp.sum(connections.matmul(self.a, w, BF16) * self.g))(self.w)
    want = np.asarray(self.a, np.float64).T @ np.asarray(self.g, np.float64)
    np.testing.assert_allclose(dw, want, rtol=1e-5, atol=1e-5)

  def test_spikes_enter_exactly(self):
    s = (self.a > 0.5).astype(jnp.float32)
    y = connections.matmul(s, self.w, BF16)
    np.testing.assert_allclose(y, np.asarray(s, np.float64) @ rounded(self.w), rtol=0, atol=1e-5)

  def test_float32_policy_is_the_plain_product(self):
    for cd in (None, 'float32'):
      np.testing.assert_array_equal(connections.matmul(self.a, self.w, cd), self.a @ self.w)

  def test_products_run_in_bf16_in_the_compiled_step(self):
    hlo = jax.jit(lambda a, w: connections.matmul(a, w, BF16)).lower(self.a, self.w).as_text()
    self.assertRegex(hlo, r'dot_general.*bf16')
    hlo32 = jax.jit(lambda a, w: connections.matmul(a, w)).lower(self.a, self.w).as_text()
    self.assertNotIn('bf16', hlo32)


class TransposedCopyTest(absltest.TestCase):
  """``matmul(..., w_t=transposed(w))``: the backward current reads a row-major copy of wᵀ
  (``Dense.prepare``'s ``w_t_eff``), with the same values and derivatives as reading w."""

  def setUp(self):
    super().setUp()
    k1, k2, k3, k4 = jax.random.split(jax.random.key(1), 4)
    self.a = jax.random.uniform(k1, (16, 96))
    self.w = jax.random.normal(k2, (96, 24)).astype(jnp.bfloat16)  # prepared: cast once
    self.g = jax.random.normal(k3, (16, 24))
    self.h = jax.random.normal(k4, (16, 96))

  def current(self, w, w_t=None):
    """∂/∂a of ⟨matmul(a, w), g⟩: the backward current into a."""
    return jax.grad(lambda a: jnp.sum(connections.matmul(a, w, BF16, w_t=w_t) * self.g))(self.a)

  def test_the_copy_is_what_the_backward_product_reads(self):
    w_t = connections.transposed(self.w)
    np.testing.assert_array_equal(w_t, self.w.T)
    np.testing.assert_allclose(self.current(self.w, w_t), self.current(self.w), rtol=0, atol=1e-5)
    other = jnp.flip(w_t, 0)  # a different [N, K] operand: the current follows it, not w
    np.testing.assert_allclose(
      self.current(self.w, other), rounded(self.g) @ rounded(other), rtol=0, atol=1e-4
    )
    # the forward product and the weight gradient do not read it
    np.testing.assert_array_equal(
      connections.matmul(self.a, self.w, BF16, w_t=other), connections.matmul(self.a, self.w, BF16)
    )
    dw, dwt = jax.grad(
      lambda w, wt: jnp.sum(connections.matmul(self.a, w, BF16, w_t=wt) * self.g), (0, 1)
    )(self.w, other)
    np.testing.assert_allclose(
      np.asarray(dw, np.float64),
      rounded(np.asarray(self.a, np.float64).T @ np.asarray(self.g, np.float64)),
      rtol=0,
      atol=0.02,
    )
    np.testing.assert_array_equal(dwt, jnp.zeros_like(other))

  def test_differentiating_the_current_goes_through_the_copy(self):
    """BPTT differentiates the currents with respect to the weights: through the copy (its
    optimisation barrier included) the derivative is the one through w itself."""

    def through(copy):
      def f(w):
        w_t = connections.transposed(w) if copy else None
        return jnp.sum(self.current(w, w_t) * self.h)

      return jax.grad(f)(self.w.astype(jnp.float32))

    np.testing.assert_allclose(through(True), through(False), rtol=0, atol=1e-4)
    self.assertGreater(float(jnp.abs(through(True)).max()), 0.1)  # not trivially zero

  def test_dense_prepare_keeps_the_copy_under_a_policy_only(self):
    layer = connections.Dense(24, compute_dtype=BF16)
    params = layer.init(jax.random.key(2), (96,))
    prepared = layer.prepare(params)
    self.assertEqual(set(prepared), {'w_eff', 'w_t_eff', 'b'})
    np.testing.assert_array_equal(prepared['w_t_eff'], prepared['w_eff'].T)
    np.testing.assert_array_equal(layer.apply(prepared, self.a), layer.apply(params, self.a))
    self.assertIs(connections.Dense(24).prepare(params), params)  # float32: nothing to prepare


class ConvTest(parameterized.TestCase):
  @parameterized.parameters('im2col', 'taps', 'xla')
  def test_conv_of_spikes_is_the_conv_of_rounded_weights(self, impl):
    key = jax.random.key(1)
    conv = connections.Conv(6, impl=impl, fuse_pool=False)  # W itself is rounded
    params = conv.init(key, (12, 12, 3))
    s = (jax.random.uniform(key, (4, 12, 12, 3)) < 0.3).astype(jnp.float32)
    low = dataclasses.replace(conv, compute_dtype=BF16)
    w_r = {**params, 'w': jnp.asarray(rounded(params['w']), jnp.float32)}
    gy = jax.random.normal(key, (4, *conv.out_shape((12, 12, 3))))

    @jax.jit  # one program (op by op, each primitive would compile on its own)
    def maps(params, w_r):
      # the weight gradient (EP's update) under the policy and in float32
      f = lambda c: jax.grad(lambda p: jnp.sum(c.apply(p, s) * gy))(params)['w']
      return low.apply(params, s), conv.apply(w_r, s), f(low), f(conv)

    y, y_rounded, g_low, g = maps(params, w_r)
    np.testing.assert_allclose(y, y_rounded, rtol=0, atol=1e-5)
    np.testing.assert_allclose(g_low, g, rtol=1e-5, atol=1e-5)


class PolicyTest(absltest.TestCase):
  def test_min_size_keeps_small_layers_float32(self):
    net = sep.dense(784, [512], 10)
    self.assertEqual(precision.Precision(BF16).compute_dtypes(net), (BF16, BF16))
    self.assertEqual(precision.Precision(BF16, min_size=10_000).compute_dtypes(net), (BF16, None))
    self.assertEqual(precision.Precision().compute_dtypes(net), (None, None))
    conv = sep.convnet((28, 28, 1), (8, 16), (32,), 10)  # weights 72, 1152, 12800, 320
    self.assertEqual(
      precision.Precision(BF16, min_size=1000).compute_dtypes(conv), (None, BF16, BF16, None)
    )

  def test_apply_keeps_parameters_and_shapes(self):
    net = sep.convnet((12, 12, 1), (4, 6), (), 5)
    low = precision.Precision(BF16).apply(net)
    self.assertEqual(low.layer_shapes, net.layer_shapes)
    self.assertEqual([c.compute_dtype for c in low.connections], [BF16] * 3)
    params = net.init(jax.random.key(0))
    chex_like = jax.tree_util.tree_map(
      lambda a, b: a.shape == b.shape, params, low.init(jax.random.key(0))
    )
    self.assertTrue(all(jax.tree_util.tree_leaves(chex_like)))

  def test_bad_policies_are_refused_naming_the_field(self):
    with self.assertRaisesRegex(ValueError, 'compute_dtype'):
      precision.Precision('int8')
    with self.assertRaisesRegex(ValueError, 'min_size'):
      precision.Precision(BF16, min_size=-1)


class PrepareTest(parameterized.TestCase):
  """Network.prepare (pooled kernels and casts once per phase) changes no current."""

  @parameterized.product(cd=('float32', BF16), pool=('avg', 'max'))
  def test_currents_and_drive_equal_unprepared(self, cd, pool):
    key = jax.random.key(3)
    net = precision.Precision(cd).apply(sep.convnet((12, 12, 2), (4, 6), (8,), 3, pool=pool))
    params = net.init(key)
    prepared = net.prepare(params)
    if cd == BF16 or pool == 'avg':  # something to prepare: the original weight is replaced
      self.assertIn('w_eff', prepared['layers'][0])
      self.assertNotIn('w', prepared['layers'][0])
    x = jax.random.uniform(key, (5, 12, 12, 2))
    states = [
      (jax.random.uniform(key, (5, *s)) < 0.4).astype(jnp.float32) for s in net.layer_shapes
    ]

    @jax.jit  # one program (op by op, each primitive would compile on its own)
    def drive_and_currents(p):
      drive = net.input_drive(p, x)
      return drive, net.currents(p, net.input_drive(params, x), states)

    (drive_p, got), (drive, want) = drive_and_currents(prepared), drive_and_currents(params)
    np.testing.assert_allclose(drive_p, drive, rtol=0, atol=1e-6)
    for a, b in zip(got, want):
      np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
      self.assertEqual(a.dtype, jnp.float32)


class EPUnderPolicyTest(absltest.TestCase):
  """The GDU check and EP against BPTT under the bf16 policy stay within 0.01 of float32."""

  def test_gdu_cosines_within_tolerance_of_float32(self):
    key = jax.random.key(0)
    net = sep.dense(20, [32, 16], 5)
    params = net.init(key)
    x = jax.random.uniform(jax.random.fold_in(key, 1), (8, 20))
    y = jax.random.randint(jax.random.fold_in(key, 2), (8,), 0, 5)
    settings = gdu.GDU(200, 20, 1e-2)
    out = {}
    for cd in ('float32', BF16):
      sim = sep.Simulator(precision.Precision(cd).apply(net), sep.CRNN())
      out[cd] = gdu.gdu_check(sim, settings, params, x, y).metrics
    for layer in ('layer1', 'layer2', 'layer3'):
      self.assertGreater(out['float32'][layer]['cosine'], 0.99, layer)
      self.assertLess(abs(out[BF16][layer]['cosine'] - out['float32'][layer]['cosine']), 0.01)

  def test_ep_update_close_to_float32_on_a_conv_net(self):
    key = jax.random.key(2)
    net = sep.convnet((10, 10, 1), (3, 4), (), 5)
    params = net.init(key)
    x = jax.random.uniform(jax.random.fold_in(key, 1), (8, 10, 10, 1))
    y = jax.random.randint(jax.random.fold_in(key, 2), (8,), 0, 5)
    ep = sep.EP(t_free=60, t_nudge=20, beta=0.3, k_avg=20)
    grads = {}
    for cd in ('float32', BF16):
      sim = sep.Simulator(precision.Precision(cd).apply(net), sep.CRNN())
      grads[cd] = jax.jit(lambda p, sim=sim: sep.ep_gradient(sim, ep, p, x, y, None)[0])(params)
    for a, b in zip(
      jax.tree_util.tree_leaves(grads['float32']), jax.tree_util.tree_leaves(grads[BF16])
    ):
      a, b = np.ravel(a), np.ravel(b)
      self.assertGreater(a @ b / np.linalg.norm(a) / np.linalg.norm(b), 0.99)


if __name__ == '__main__':
  absltest.main()

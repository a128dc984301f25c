"""Convolutional connections, pooling adjoints and conv architectures.

As in docs/model.md, "Network and primitive function" and "Architectures".
"""

import os

import helpers
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized
from jax import lax

import stochep_jax as sep
from stochep_jax import connections

_SCRIPT = os.path.join(os.path.dirname(__file__), '..', 'experiments', 'pooling_imbalance.py')


def _load_pooling_script():
  return helpers.launcher('pooling_imbalance')


# -- hand-written references (numpy, loops over the kernel taps) -------------
def np_conv(x, w, stride, pad):
  """Cross-correlation of x [B, H, W, C] with w [kh, kw, C, K], zero padding."""
  b, h, wd, _ = x.shape
  kh, kw, _, k = w.shape
  xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
  out = np.zeros((b, ho, wo, k))
  for p in range(kh):
    for q in range(kw):
      out += xp[:, p : p + stride * ho : stride, q : q + stride * wo : stride, :] @ w[p, q]
  return out


def np_conv_transpose(g, w, stride, pad, in_shape):
  """The adjoint of ``np_conv``: scatter every output back through the kernel."""
  b, (h, wd, c) = g.shape[0], in_shape
  kh, kw = w.shape[:2]
  ho, wo = g.shape[1:3]
  xp = np.zeros((b, h + 2 * pad, wd + 2 * pad, c))
  for p in range(kh):
    for q in range(kw):
      xp[:, p : p + stride * ho : stride, q : q + stride * wo : stride, :] += g @ w[p, q].T
  return xp[:, pad : pad + h, pad : pad + wd]


def np_pool(y, pool, f=2):
  if pool == 'none':
    return y
  b, h, w, c = y.shape
  win = y[:, : h // f * f, : w // f * f].reshape(b, h // f, f, w // f, f, c)
  return win.mean((2, 4)) if pool == 'avg' else win.max((2, 4))


def np_pool_adjoint(g, y, pool, alpha=None, f=2):
  """Pooling adjoint at pre-pooling input y: upsample/α, or route to the arg-max."""
  if pool == 'none':
    return g
  out = np.zeros(y.shape)
  hp, wp = g.shape[1:3]
  for i in range(hp):
    for j in range(wp):
      win = y[:, f * i : f * i + f, f * j : f * j + f]  # [B, f, f, C]
      if pool == 'avg':
        out[:, f * i : f * i + f, f * j : f * j + f] = g[:, i : i + 1, j : j + 1] / (alpha or f * f)
      else:
        flat = win.reshape(win.shape[0], f * f, -1)
        arg = flat.argmax(1)  # first maximum
        for bb in range(win.shape[0]):
          for cc in range(win.shape[-1]):
            a = arg[bb, cc]
            out[bb, f * i + a // f, f * j + a % f, cc] = g[bb, i, j, cc]
  return out


class PoolingTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('exact', None), ('alpha4', 4.0), ('alpha3', 3.0), ('alpha1', 1.0)
  )
  def test_avg_pool_adjoint_is_upsampling_over_alpha(self, alpha):
    with jax.enable_x64(True):
      x = jax.random.normal(jax.random.key(0), (2, 7, 5, 3), jnp.float64)  # odd sizes
      y, vjp = jax.vjp(lambda x: connections.avg_pool(x, 2, alpha), x)
      g = jax.random.normal(jax.random.key(1), y.shape, jnp.float64)
      np.testing.assert_allclose(y, np_pool(np.asarray(x), 'avg'), rtol=1e-12)
      (adj,) = vjp(g)
      want = np.asarray(connections.upsample(g, 2, x.shape)) / (alpha or 4.0)
      np.testing.assert_allclose(adj, want, rtol=1e-12)
      np.testing.assert_allclose(
        adj, np_pool_adjoint(np.asarray(g), np.asarray(x), 'avg', alpha), rtol=1e-12
      )
      self.assertEqual(float(jnp.abs(adj[:, 6]).max()), 0.0)  # uncovered row gets 0
      # Upsampling copies each value to its 2×2 window.
      np.testing.assert_array_equal(
        connections.upsample(g, 2, x.shape)[:, 2:4, 0:2],
        jnp.broadcast_to(g[:, 1:2, 0:1], (2, 2, 2, 3)),
      )

  def test_exact_alpha_is_the_gradient_of_phi(self):
    """With α = F² the adjoint is <P x, g>'s gradient; with α ≠ F² it is not."""
    x = jax.random.normal(jax.random.key(0), (1, 4, 4, 1))
    g = jax.random.normal(jax.random.key(1), (1, 2, 2, 1))
    exact = jax.grad(lambda x: jnp.sum(connections.avg_pool(x, 2) * g))(x)
    np.testing.assert_allclose(exact, connections.upsample(g, 2, x.shape) / 4, rtol=1e-6)
    other = jax.grad(lambda x: jnp.sum(connections.avg_pool(x, 2, 2.0) * g))(x)
    np.testing.assert_allclose(other, 2 * exact, rtol=1e-6)

  def test_max_pool_routes_to_argmax(self):
    x = jax.random.normal(jax.random.key(2), (2, 6, 6, 3))
    y, vjp = jax.vjp(lambda x: connections.max_pool(x, 2), x)
    np.testing.assert_allclose(y, np_pool(np.asarray(x), 'max'))
    g = jax.random.normal(jax.random.key(3), y.shape)
    np.testing.assert_allclose(vjp(g)[0], np_pool_adjoint(np.asarray(g), np.asarray(x), 'max'))
    # Ties (frequent with spikes): all of it goes to the first maximum in row-major order.
    tie = jnp.array([0.0, 1.0, 1.0, 0.0]).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(
      jax.grad(lambda x: connections.max_pool(x).sum())(tie)[0, :, :, 0], [[0, 1], [0, 0]]
    )

  def test_invalid(self):
    with self.assertRaises(ValueError):
      sep.Conv(4, pool='min')
    with self.assertRaises(ValueError):
      sep.Conv(4, pool='max', alpha=2.0)
    with self.assertRaises(ValueError):
      sep.Conv(4).out_shape((28, 28))
    with self.assertRaises(ValueError):
      sep.Conv(4, impl='cudnn')


class ConvTest(parameterized.TestCase):
  @parameterized.parameters(
    ('avg', 1, 0, 'taps'),
    ('max', 2, 1, 'taps'),
    ('none', 2, 0, 'taps'),
    ('avg', 2, 1, 'xla'),
    ('max', 1, 0, 'xla'),
    ('none', 1, 1, 'xla'),
    ('avg', 1, 1, 'im2col'),
    ('max', 2, 0, 'im2col'),
    ('avg', 2, 0, 'taps', False),
    ('avg', 1, 1, 'im2col', False),
  )
  def test_forward_is_hand_written(self, pool, stride, pad, impl, fuse_pool=True):
    conv = sep.Conv(5, 3, stride, pad, pool, impl=impl, fuse_pool=fuse_pool)
    params = conv.init(jax.random.key(0), (9, 8, 2))
    x = jax.random.uniform(jax.random.key(1), (3, 9, 8, 2))
    want = np_pool(np_conv(np.asarray(x), np.asarray(params['w']), stride, pad), pool)
    want = want + np.asarray(params['b'])
    got = jax.jit(conv.apply)(params, x)
    self.assertEqual(got.shape[1:], conv.out_shape((9, 8, 2)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

  def test_taps_equal_xla_with_same_padding_and_their_adjoints(self):
    x = jax.random.uniform(jax.random.key(1), (2, 7, 6, 3))
    params = sep.Conv(4, (3, 2)).init(jax.random.key(0), (7, 6, 3))
    convs = [sep.Conv(4, (3, 2), (2, 1), 'SAME', 'none', impl=i) for i in ('taps', 'im2col', 'xla')]
    ys = [jax.jit(c.apply)(params, x) for c in convs]
    self.assertEqual(ys[0].shape, (2, 4, 6, 4))
    g = jax.random.normal(jax.random.key(2), ys[0].shape)
    adj = [
      jax.jit(lambda x, c=c: jax.vjp(lambda x: c.apply(params, x), x)[1](g)[0])(x) for c in convs
    ]
    for y, a in zip(ys[1:], adj[1:]):
      np.testing.assert_allclose(y, ys[0], rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(a, adj[0], rtol=1e-5, atol=1e-5)

  def test_transpose_auto_is_fold_in_float32_and_phases_under_bf16(self):
    g = jax.random.normal(jax.random.key(0), (2, 5, 5, 6))
    w = jax.random.normal(jax.random.key(1), (4, 4, 3, 6))
    f = lambda cd, m: connections.conv_transpose_gemm(g, w, (2, 2), ((0, 0),) * 2, (13, 13), cd, m)
    for cd, picked, other in ((None, 'fold', 'phases'), ('bfloat16', 'phases', 'fold')):
      np.testing.assert_array_equal(f(cd, 'auto'), f(cd, picked))
      self.assertFalse(np.array_equal(f(cd, 'auto'), f(cd, other)))  # rounding tells them apart
    with self.assertRaisesRegex(ValueError, r"method='scatter': choose from"):
      f(None, 'scatter')

  @parameterized.parameters(  # (H, W, C, K, kernel, strides, pads): fused 4x4/2, SAME, odd
    (13, 13, 3, 5, (4, 4), (2, 2), ((0, 0), (0, 0))),
    (8, 8, 2, 3, (3, 3), (1, 1), ((1, 1), (1, 1))),
    (11, 9, 2, 4, (3, 5), (2, 3), ((1, 0), (2, 1))),
    (9, 9, 2, 2, (3, 3), (3, 3), ((0, 0), (0, 0))),
  )
  def test_im2col_gradients_equal_xla_in_float64(self, h, w, c, k, kernel, strides, pads):
    """The transposed GEMM (all taps, folded by stride phase) and the weight GEMM are the exact
    adjoints."""
    conv = lambda s, wt: lax.conv_general_dilated(
      s, wt, strides, pads, dimension_numbers=('NHWC', 'HWIO', 'NHWC')
    )
    mine = lambda s, wt: connections.conv_im2col(s, wt, strides, pads)
    with jax.enable_x64(True):
      rng = np.random.default_rng(0)
      s = jnp.asarray(rng.normal(size=(2, h, w, c)))
      wt = jnp.asarray(rng.normal(size=(*kernel, c, k)))
      g = jnp.asarray(rng.normal(size=conv(s, wt).shape))

      @jax.jit  # one program (op by op, each primitive would compile on its own)
      def maps(s, wt):
        grad = lambda f: jax.grad(lambda s, wt: jnp.sum(f(s, wt) * g), (0, 1))(s, wt)
        # BPTT differentiates the backward current itself (reverse over the custom VJP)
        second = lambda f: jax.grad(
          lambda wt: jnp.sum(jnp.sin(jax.grad(lambda s: jnp.sum(f(s, wt) * g))(s)))
        )(wt)
        # both transposed products, whichever 'auto' picks for a dtype
        transposed = [
          connections.conv_transpose_gemm(g, wt, strides, pads, (h, w), None, method)
          for method in ('fold', 'phases')
        ]
        adjoint = jax.vjp(lambda s: conv(s, wt), s)[1](g)[0]
        return [(f(s, wt), grad(f), second(f)) for f in (conv, mine)], transposed, adjoint

      out, transposed, adjoint = maps(s, wt)
      (xla, xla_grad, xla_second), (im2col, im2col_grad, im2col_second) = out
      self.assertEqual(xla.dtype, jnp.float64)
      self.assertEqual(im2col.dtype, jnp.float64)
      np.testing.assert_allclose(im2col, xla, rtol=0, atol=1e-12)
      for a, b in zip(im2col_grad, xla_grad):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
      np.testing.assert_allclose(im2col_second, xla_second, rtol=0, atol=1e-11)
      for ds in transposed:
        np.testing.assert_allclose(ds, adjoint, rtol=0, atol=1e-12)

  @parameterized.parameters(  # every geometry, every implementation on two of them
    ('taps', (3, 1, 0, 28, 1)),
    ('taps', ((3, 2), (1, 2), 'SAME', 11, 2)),
    ('im2col', (3, 1, 0, 13, 3)),
    ('im2col', (5, 1, 2, 9, 2)),
    ('xla', (3, 2, 1, 12, 2)),
    ('xla', ((3, 2), (1, 2), 'SAME', 11, 2)),
  )
  def test_fused_pooling_is_the_same_map(self, impl, geometry):
    """Conv + 2×2 average pooling as one stride-2σ conv: same output, same adjoints."""
    k, stride, pad, size, cin = geometry
    plain, fused = (
      sep.Conv(4, k, stride, pad, 'avg', impl=impl, fuse_pool=f) for f in (False, True)
    )
    self.assertTrue(fused._fused())
    self.assertFalse(sep.Conv(4, k, stride, pad, 'avg', alpha=2.0)._fused())
    with jax.enable_x64(True):
      params = plain.init(jax.random.key(1), (size, size, cin), jnp.float64)
      x = jax.random.normal(jax.random.key(2), (2, size, size, cin), jnp.float64)
      g = jax.random.normal(
        jax.random.key(3), (2, *plain.out_shape((size, size, cin))), jnp.float64
      )

      @jax.jit  # one program (op by op, every primitive of both maps compiles on its own)
      def maps_and_adjoints(params, x):
        return [
          (
            c.apply(params, x),
            jax.grad(lambda p, x, c=c: jnp.sum(c.apply(p, x) * g), (0, 1))(params, x),
          )
          for c in (plain, fused)
        ]

      (y, grads0), (y_fused, grads1) = maps_and_adjoints(params, x)
      np.testing.assert_allclose(y_fused, y, rtol=0, atol=1e-13)
      grads = [grads0, grads1]
      for a, b in zip(jax.tree_util.tree_leaves(grads[0]), jax.tree_util.tree_leaves(grads[1])):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)

  def test_pooled_kernel_by_hand(self):
    """W' for a 1-D-like 2×1 kernel, stride 1, F = 2: a 3×2 kernel of window sums / 4."""
    w = jnp.arange(1.0, 3.0).reshape(2, 1, 1, 1)  # [[1], [2]]
    got = connections.pooled_kernel(w, 2, (1, 1))[..., 0, 0]
    np.testing.assert_allclose(got, np.array([[1, 1], [3, 3], [2, 2]]) / 4)

  def test_init_is_pytorch_default(self):
    params = sep.Conv(64, 3).init(jax.random.key(0), (8, 8, 32))
    bound = 1 / np.sqrt(3 * 3 * 32)
    self.assertEqual(params['w'].shape, (3, 3, 32, 64))
    self.assertEqual(params['b'].shape, (64,))
    for v in (params['w'], params['b']):
      self.assertLessEqual(float(jnp.abs(v).max()), bound)
      self.assertGreater(float(jnp.abs(v).max()), 0.9 * bound)
    self.assertNotIn('b', sep.Conv(4, use_bias=False).init(jax.random.key(0), (5, 5, 1)))

  @parameterized.named_parameters(
    ('avg', 'avg', None), ('avg_alpha3', 'avg', 3.0), ('max', 'max', None), ('none', 'none', None)
  )
  def test_currents_are_hand_written(self, pool, alpha):
    """I_1 = F_1(x) + conv_transpose(P_2ᵀ(s_2)); I_2 = F_2(s_1) + W_3ᵀ s_3; I_3 = F_3(s_2)."""
    with jax.enable_x64(True):
      c1 = sep.Conv(3, 3, 1, 1, 'avg')
      c2 = sep.Conv(4, 3, 2, 1, pool, alpha=alpha)
      net = sep.Network((9, 9, 2), (c1, c2, sep.Dense(5)), sep.MSEReadout(5))
      params = net.init(jax.random.key(0), jnp.float64)
      b = 2
      x = jax.random.uniform(jax.random.key(1), (b, 9, 9, 2), jnp.float64)
      states = tuple(
        jax.random.uniform(jax.random.key(2 + i), (b, *s), jnp.float64)
        for i, s in enumerate(net.layer_shapes)
      )
      got = jax.jit(net.currents)(params, net.input_drive(params, x), states)

      (w1, b1), (w2, b2) = [(np.asarray(p['w']), np.asarray(p['b'])) for p in params['layers'][:2]]
      w3, b3 = np.asarray(params['layers'][2]['w']), np.asarray(params['layers'][2]['b'])
      xs, s1, s2, s3 = (np.asarray(a) for a in (x, *states))
      y2 = np_conv(s1, w2, 2, 1)  # conv 2 before pooling
      f1 = np_pool(np_conv(xs, w1, 1, 1), 'avg') + b1
      f2 = np_pool(y2, pool) + b2
      f3 = s2.reshape(b, -1) @ w3 + b3
      back1 = np_conv_transpose(np_pool_adjoint(s2, y2, pool, alpha), w2, 2, 1, s1.shape[1:])
      back2 = (s3 @ w3.T).reshape(s2.shape)
      for g, w in zip(got, (f1 + back1, f2 + back2, f3)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
      phi = np.sum(f1 * s1) + np.sum(f2 * s2) + np.sum(f3 * s3)
      np.testing.assert_allclose(net.phi(params, x, states), phi, rtol=1e-12)


class ArchitectureTest(absltest.TestCase):
  def test_2c2fc_shapes(self):
    net = sep.ARCHITECTURES.make('2c2fc', input_shape=(28, 28, 1), n_classes=10)
    # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5 (the last row/column is dropped).
    self.assertEqual(net.layer_shapes, ((13, 13, 128), (5, 5, 256), (512,), (10,)))
    params = jax.eval_shape(net.init, jax.random.key(0))
    self.assertEqual(params['layers'][0]['w'].shape, (3, 3, 1, 128))
    self.assertEqual(params['layers'][1]['w'].shape, (3, 3, 128, 256))
    self.assertEqual(params['layers'][2]['w'].shape, (5 * 5 * 256, 512))
    small = sep.ARCHITECTURES.make(
      '2c2fc', input_shape=(28, 28, 1), channels=(8, 16), fc=(32,), pool='max', n_perclass=10
    )
    self.assertEqual(small.layer_shapes, ((13, 13, 8), (5, 5, 16), (32,), (100,)))
    self.assertEqual({c.pool for c in small.connections[:2]}, {'max'})
    ce = sep.ARCHITECTURES.make('2c2fc', input_shape=(28, 28, 1), readout='ce')
    self.assertEqual(ce.layer_shapes[-1], (512,))

  def test_cifar_shapes(self):
    five = sep.ARCHITECTURES.make('5c', input_shape=(32, 32, 3), n_perclass=100)
    self.assertEqual(
      five.layer_shapes,
      ((16, 16, 128), (8, 8, 256), (8, 8, 256), (4, 4, 512), (1, 1, 512), (1000,)),
    )
    lab = sep.ARCHITECTURES.make('lab21_cifar', input_shape=(32, 32, 3))
    self.assertEqual(lab.layer_shapes, ((16, 16, 128), (8, 8, 256), (4, 4, 512), (1, 1, 512)))
    self.assertEqual([c.pool for c in lab.connections], ['max'] * 4)
    self.assertIsInstance(lab.readout, sep.CrossEntropyReadout)
    with self.assertRaisesRegex(ValueError, 'one per conv layer'):
      sep.ARCHITECTURES.make('conv', input_shape=(8, 8, 1), channels=(2, 2), pool=('avg',))


def cosine(a, b):
  a, b = jnp.ravel(a), jnp.ravel(b)
  return float(jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))


class ConvEPTest(parameterized.TestCase):
  @parameterized.parameters('avg', 'max')
  def test_ep_matches_bptt_on_a_conv_net(self, pool):
    """Deterministic CRNN, float64, β = 1e-3: cosine ≥ 0.99 for every parameter tensor."""
    with jax.enable_x64(True):
      net = sep.ARCHITECTURES.make(
        'conv',
        input_shape=(10, 10, 2),
        channels=(4, 6),
        fc=(),
        n_classes=5,
        pool=pool,
        padding=(1, 0),
      )
      self.assertEqual(net.layer_shapes, ((5, 5, 4), (1, 1, 6), (5,)))
      params = net.init(jax.random.key(0), jnp.float64)
      x = jax.random.uniform(jax.random.key(1), (8, 10, 10, 2), jnp.float64)
      y = jnp.arange(8) % 5
      sim, t = sep.Simulator(net, sep.CRNN()), 100
      g_ep, aux = jax.jit(
        lambda p: sep.ep_gradient(sim, sep.EP(t_free=t, t_nudge=60, beta=1e-3), p, x, y, None)
      )(params)

      def loss(p):
        return jnp.mean(net.cost(p, sep.free_phase(sim, p, x, None, t_free=t).rates, y))

      g_bp = jax.jit(jax.grad(loss))(params)
      # The CRNN's state is its output: the free phase's final states are aux['rates'].
      free = tuple(sep.neurons.CRNNState(r) for r in aux['rates'])
      residual = jax.jit(lambda p: sim.residual(p, x, free, t=t))(params)
      self.assertLess(float(residual.max()), 1e-6)
      for r in aux['rates']:  # no dead layer
        self.assertGreater(float(r.mean()), 0.05)
      for a, b in zip(jax.tree_util.tree_leaves(g_ep), jax.tree_util.tree_leaves(g_bp)):
        self.assertGreaterEqual(cosine(a, b), 0.99)


class PoolingImbalanceTest(absltest.TestCase):
  def test_max_pooling_imbalance_exceeds_average_pooling(self):
    """[Lin24]: in a spiking net, max pooling's backward current is out of balance.

    Same parameters, input and noise; StochEP 2C2FC (small). Layer 1 (the conv
    layer whose backward current passes through conv 2's pooling adjoint):
    RMS(I_b)/RMS(I_f) is larger with max pooling, and the time-averaged backward
    current departs from the one at the rates (it is exactly that one with
    average pooling, Φ being multilinear).
    """
    script = _load_pooling_script()
    x = jax.random.uniform(jax.random.key(0), (8, 16, 16, 1))
    out = {}
    for pool in ('avg', 'max'):
      net = sep.ARCHITECTURES.make(
        '2c2fc', input_shape=(16, 16, 1), channels=(6, 12), fc=(24,), pool=pool
      )
      sim = sep.Simulator(net, sep.StochEP(decay=0.5, kappa=1.0, noise_bits=8))
      params = net.init(jax.random.key(1))
      out[pool] = jax.jit(
        lambda p, x: script.current_balance(sim, p, x, jax.random.key(2), t_free=60, window=30)
      )(params, x)
    ratio = {p: float(out[p]['ratio'][0]) for p in out}
    align = {p: float(out[p]['align_b'][0]) for p in out}
    self.assertGreater(ratio['max'], 1.5 * ratio['avg'])
    self.assertGreater(align['avg'], 1 - 1e-5)
    self.assertLess(align['max'], 0.95)
    # Forward through max pooling into layer 2: the time average is not the rates' current.
    self.assertGreater(float(out['avg']['align_f'][1]), 1 - 1e-5)
    self.assertLess(float(out['max']['align_f'][1]), float(out['avg']['align_f'][1]) - 1e-3)


if __name__ == '__main__':
  absltest.main()

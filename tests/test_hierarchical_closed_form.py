"""HierarchicalVAE against closed forms: the linear-Gaussian chain

    z2 ~ N(0, I),  z1 = A z2 + e1 (e1 ~ N(0, S1)),  x = W z1 + b + e (e ~ N(0, s^2 I))

has log p(x) = log N(x; b, W (A A^T + S1) W^T + s^2 I); and the Ladder VAE's
precision-weighted merge and its KL against the top-down prior, recomputed in numpy.
"""
import keras
import numpy as np
import pytest
from scipy import stats

import keras_vae as kv
from keras_vae.models._gaussian_merge import precision_weighted

A = np.array([[1.0], [-0.5]])
S1 = np.array([0.6, 0.8])  # scales of e1
W = np.array([[1.0, 0.3], [-0.5, 1.2], [0.8, -0.4], [0.2, 0.9]])
B = np.array([0.5, -1.0, 0.0, 1.0])
SIGMA = 0.5
MIN = 1e-6


def softplus_inverse(y):
    return np.log(np.expm1(y))


def marginal_cov():
    return W @ (A @ A.T + np.diag(S1**2)) @ W.T + SIGMA**2 * np.eye(4)


def exact_log_px(x):
    return stats.multivariate_normal(B, marginal_cov()).logpdf(x)


def sample_chain(n, seed):
    rng = np.random.default_rng(seed)
    z2 = rng.standard_normal((n, 1))
    z1 = z2 @ A.T + rng.standard_normal((n, 2)) * S1
    return (z1 @ W.T + B + SIGMA * rng.standard_normal((n, 4))).astype("float32")


def randomize_heads(h, seed=0):
    """Random weights in the heads of q and of p(z1 | z2): q no longer matches anything."""
    rng = np.random.default_rng(seed)
    for layer in (h.q_heads[0], h.q_heads[1], h.p_heads[0]):
        kernel, bias = layer.projection.get_weights()
        layer.projection.set_weights([rng.normal(size=kernel.shape).astype("float32"),
                                      rng.normal(size=bias.shape).astype("float32")])


def linear_model(inference, sigma=SIGMA, **kwargs):
    return kv.HierarchicalVAE(
        latent_dims=(2, 1), input_shape=(4,), inference=inference, q_hidden=[[], []], p_hidden=[[], []],
        likelihood=kv.likelihoods.Gaussian(scale=sigma), min_scale=MIN, seed=0, **kwargs,
    )


def set_head(head, kernel_loc, bias_loc, scale, fan_in):
    size = len(bias_loc)
    kernel = np.concatenate([kernel_loc, np.zeros((fan_in, size))], axis=1)
    bias = np.concatenate([bias_loc, softplus_inverse(np.asarray(scale) - MIN)])
    head.projection.set_weights([kernel.astype("float32"), bias.astype("float32")])


def set_true_parameters(h, widen=1.3):
    """The true generative model, and a q near the posterior (scales widened)."""
    h.likelihood_layer.projection.set_weights([W.T.astype("float32"), B.astype("float32")])
    set_head(h.p_heads[0], A.T, np.zeros(2), S1, 1)  # p(z1 | z2) = N(A z2, S1^2)
    C1 = A @ A.T + np.diag(S1**2)
    # p(z1 | x): cov P, mean P W^T (x - b) / s^2
    P = np.linalg.inv(np.linalg.inv(C1) + W.T @ W / SIGMA**2)
    M1 = P @ W.T / SIGMA**2
    if h.inference == "bottom_up":
        set_head(h.q_heads[0], M1.T, -M1 @ B, widen * np.sqrt(np.diag(P)), 4)
        # p(z2 | z1) (z2 is independent of x given z1)
        cov2 = np.linalg.inv(np.eye(1) + A.T @ np.diag(S1**-2) @ A)
        M2 = cov2 @ A.T @ np.diag(S1**-2)
        set_head(h.q_heads[1], M2.T, np.zeros(1), widen * np.sqrt(np.diag(cov2)), 2)
    else:
        # top: p(z2 | x); bottom-up Gaussian of z1: the likelihood term N(W^+ (x - b), s^2 (W^T W)^-1)
        K = W @ np.diag(S1**2) @ W.T + SIGMA**2 * np.eye(4)
        cov2 = np.linalg.inv(np.eye(1) + A.T @ W.T @ np.linalg.inv(K) @ W @ A)
        M2 = cov2 @ A.T @ W.T @ np.linalg.inv(K)
        # ladder: d_1 = x (no hidden layers), d_2 = d_1
        set_head(h.q_heads[1], M2.T, -M2 @ B, widen * np.sqrt(np.diag(cov2)), 4)
        pinv = np.linalg.pinv(W)
        set_head(h.q_heads[0], pinv.T, -pinv @ B, widen * np.sqrt(np.diag(SIGMA**2 * np.linalg.inv(W.T @ W))), 4)


@pytest.mark.parametrize("inference", ["bottom_up", "ladder"])
def test_iwae_rises_with_k_to_the_exact_log_likelihood(inference):
    h = linear_model(inference)
    set_true_parameters(h)
    x = sample_chain(20, seed=1)
    exact = exact_log_px(x)
    estimates = {k: h.log_likelihood(x, num_samples=k, seed=0) for k in (1, 10, 100, 20000)}
    means = {k: float(np.mean(v)) for k, v in estimates.items()}
    print(inference, means, "exact", exact.mean())
    # The bound rises with k; between k = 100 and 20000 the rise (~0.005 nats) is below
    # the Monte Carlo error of a 20-example mean at k = 100 (~0.01), so it is allowed 0.02.
    assert means[1] < means[10] < means[100] <= means[20000] + 0.02, means
    # Monte Carlo error of the k = 20000 estimate: the spread of the log-weights.
    assert abs(means[20000] - exact.mean()) < 0.01, (means, exact.mean())
    np.testing.assert_allclose(estimates[20000], exact, atol=0.03)
    # the ELBO (many samples: its Monte Carlo error is small) stays below, per example
    elbo = h.elbo(x, num_samples=2000, seed=0).numpy()
    assert np.all(elbo < exact), (elbo - exact)
    assert exact.mean() - elbo.mean() > 0.01


@pytest.mark.parametrize("inference", ["bottom_up", "ladder", "residual"])
def test_trained_on_samples_reaches_the_held_out_exact_log_likelihood(inference):
    keras.utils.set_random_seed(0)
    x_train, x_test = sample_chain(3000, seed=2), sample_chain(500, seed=3)
    h = linear_model(inference, sigma="shared", objective={"name": "iwae", "num_samples": 8})
    h.compile(optimizer=keras.optimizers.Adam(5e-2), jit_compile=False)
    h.fit(x_train, epochs=20, batch_size=100, verbose=0)
    estimate = h.log_likelihood(x_test, num_samples=2000, seed=0).mean()
    exact = exact_log_px(x_test).mean()
    print(f"{inference}: held-out estimate {estimate:.4f}, exact {exact:.4f}")
    assert abs(estimate - exact) < 0.2, (estimate, exact)


def test_precision_weighted_merge_is_the_normalized_product():
    rng = np.random.default_rng(0)
    loc_a, loc_b = rng.normal(size=5), rng.normal(size=5)
    scale_a, scale_b = rng.uniform(0.2, 2.0, 5), rng.uniform(0.2, 2.0, 5)
    loc, scale = (np.asarray(v, np.float64) for v in precision_weighted(loc_a, scale_a, loc_b, scale_b))
    # the product of the two densities, normalized on a grid
    grid = np.linspace(-12, 12, 200001)[:, None]
    product = stats.norm(loc_a, scale_a).pdf(grid) * stats.norm(loc_b, scale_b).pdf(grid)
    density = product / np.trapezoid(product, grid, axis=0)
    np.testing.assert_allclose(np.trapezoid(grid * density, grid, axis=0), loc, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        np.sqrt(np.trapezoid((grid - loc) ** 2 * density, grid, axis=0)), scale, rtol=1e-5
    )
    np.testing.assert_allclose(density[100000], stats.norm(loc, scale).pdf(0.0), rtol=1e-4)


def test_ladder_kl_is_against_the_top_down_prior():
    """Recompute group 1's densities in numpy from the weights: q(z1 | z2, x) is the
    merge of the bottom-up Gaussian with p(z1 | z2 = the sampled z2), and the KL is
    against p(z1 | z2), not against the bottom-up Gaussian (AntixK's bug)."""
    h = linear_model("ladder", sigma=SIGMA)
    randomize_heads(h)
    x = sample_chain(3, seed=4)
    t = h.terms(x, num_samples=5, seed=0)
    z = t.z.numpy()
    z1, z2 = z[..., :2], z[..., 2:]

    def head(layer, inputs):
        kernel, bias = layer.projection.get_weights()
        out = inputs @ kernel + bias
        size = out.shape[-1] // 2
        return out[..., :size], np.logaddexp(0, out[..., size:]) + MIN

    loc_b, scale_b = head(h.q_heads[0], x)  # bottom-up Gaussian of z1 (d_1 = x)
    loc_p, scale_p = head(h.p_heads[0], z2)  # top-down prior p(z1 | z2)
    var = 1 / (scale_b**-2 + scale_p**-2)
    loc_q, scale_q = var * (loc_b * scale_b**-2 + loc_p * scale_p**-2), np.sqrt(var)
    np.testing.assert_allclose(t.log_qz_parts[0].numpy(), stats.norm(loc_q, scale_q).logpdf(z1).sum(-1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(t.log_pz_parts[0].numpy(), stats.norm(loc_p, scale_p).logpdf(z1).sum(-1), rtol=1e-4, atol=1e-4)

    def kl(m1, s1, m2, s2):
        return (np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5).sum(-1)

    expected = kl(loc_q, scale_q, loc_p, scale_p).mean(0)
    np.testing.assert_allclose(t.kl_per_group()[:, 0].numpy(), expected, rtol=1e-4, atol=1e-5)
    against_bottom_up = kl(loc_q, scale_q, loc_b, scale_b).mean(0)  # the bug's value
    assert np.all(np.abs(expected - against_bottom_up) > 0.05)
    # the top group: against the top prior N(0, I)
    loc_2, scale_2 = head(h.q_heads[1], x)
    np.testing.assert_allclose(t.kl_per_group()[:, 1].numpy(), kl(loc_2, scale_2, 0.0, 1.0), rtol=1e-4, atol=1e-5)


def test_ais_over_the_concatenated_latent_reaches_the_exact_log_likelihood():
    h = linear_model("bottom_up")
    set_true_parameters(h)
    x = sample_chain(4, seed=1)
    ais = np.asarray(h.log_likelihood(x, method="ais", num_steps=300, num_chains=16, seed=0,
                                      anneal_from="q", jit_compile=False))
    np.testing.assert_allclose(ais, exact_log_px(x), atol=0.15)
    samples = h.posterior_samples(x[:2], num_samples=50)
    assert samples.samples.shape == (2, 50, 3)  # HMC over [z1, z2]

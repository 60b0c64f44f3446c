"""inference="residual" (NVAE's residual normal posterior on the top-down prior)
against closed forms: q recomputed in numpy from the weights, the KL of each group
in NVAE's form, and the linear-Gaussian chain of test_hierarchical_closed_form.py
(IWAE -> exact log p(x) with set parameters; trained, the held-out exact value)."""
import numpy as np
import pytest
from scipy import stats

import keras_vae as kv
from test_hierarchical_closed_form import (
    A, B, MIN, S1, SIGMA, W, exact_log_px, linear_model, randomize_heads, sample_chain, set_head,
)


def head_out(layer, inputs):
    kernel, bias = layer.projection.get_weights()
    return inputs @ kernel + bias


def set_residual(head, kernel_loc, bias_loc, log_scale, fan_in):
    """dmu = x @ kernel_loc + bias_loc, dsigma = exp(log_scale) (no clamp)."""
    size = len(bias_loc)
    kernel = np.concatenate([kernel_loc, np.zeros((fan_in, size))], axis=1)
    head.projection.set_weights([kernel.astype("float32"),
                                 np.concatenate([bias_loc, log_scale]).astype("float32")])


def test_residual_q_is_the_prior_shifted_and_scaled_and_its_kl_is_nvaes():
    h = linear_model("residual", soft_clamp=2.0)
    randomize_heads(h)
    x = sample_chain(3, seed=4)
    t = h.terms(x, num_samples=5, seed=0)
    z = t.z.numpy()
    z1, z2 = z[..., :2], z[..., 2:]
    clamp = lambda v: 2.0 * np.tanh(v / 2.0)  # noqa: E731
    out1, out2 = head_out(h.q_heads[0], x), head_out(h.q_heads[1], x)  # d_1 = d_2 = x
    dmu1, dsig1 = clamp(out1[:, :2]), np.exp(clamp(out1[:, 2:]))
    dmu2, dsig2 = clamp(out2[:, :1]), np.exp(clamp(out2[:, 1:]))
    p = head_out(h.p_heads[0], z2)  # p(z1 | z2) at the sampled z2
    loc_p, scale_p = p[..., :2], np.logaddexp(0, p[..., 2:]) + MIN
    loc_q, scale_q = loc_p + dmu1, scale_p * dsig1
    np.testing.assert_allclose(t.log_qz_parts[0].numpy(), stats.norm(loc_q, scale_q).logpdf(z1).sum(-1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(t.log_qz_parts[1].numpy(), stats.norm(dmu2, dsig2).logpdf(z2).sum(-1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(t.log_pz_parts[0].numpy(), stats.norm(loc_p, scale_p).logpdf(z1).sum(-1), rtol=1e-4, atol=1e-4)
    # NVAE eq. 2: KL = 1/2 sum (dmu^2 / sigma_p^2 + dsigma^2 - 1 - log dsigma^2)
    nvae = 0.5 * (dmu1**2 / scale_p**2 + dsig1**2 - 1 - np.log(dsig1**2)).sum(-1)
    np.testing.assert_allclose(t.kl_per_group()[:, 0].numpy(), nvae.mean(0), rtol=1e-4, atol=1e-5)
    top = 0.5 * (dmu2**2 + dsig2**2 - 1 - np.log(dsig2**2)).sum(-1)
    np.testing.assert_allclose(t.kl_per_group()[:, 1].numpy(), top, rtol=1e-4, atol=1e-5)
    assert np.all(np.abs(dmu1) < 2.0) and np.all(np.abs(np.log(dsig1)) < 2.0)  # bounded


def test_zero_residual_is_the_prior():
    h = linear_model("residual")
    for layer in h.q_heads:
        layer.projection.set_weights([np.zeros_like(w) for w in layer.projection.get_weights()])
    t = h.terms(sample_chain(4, seed=0), num_samples=3, seed=0)
    np.testing.assert_allclose(t.kl_per_group().numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(t.log_qz.numpy(), t.log_pz.numpy(), rtol=1e-6, atol=1e-5)


def set_true_residual(h, widen=1.3):
    """The true generative model; q(z2 | x) = p(z2 | x) (scales widened) and
    q(z1 | z2, x) = N(A z2 + E[z1 - A z2 | x], S1 * widen * sd(z1 | z2, x) / S1)."""
    h.likelihood_layer.projection.set_weights([W.T.astype("float32"), B.astype("float32")])
    set_head(h.p_heads[0], A.T, np.zeros(2), S1, 1)
    C1 = A @ A.T + np.diag(S1**2)
    P = np.linalg.inv(np.linalg.inv(C1) + W.T @ W / SIGMA**2)  # Cov(z1 | x)
    M1 = P @ W.T / SIGMA**2  # E[z1 | x] = M1 (x - b)
    K = W @ np.diag(S1**2) @ W.T + SIGMA**2 * np.eye(4)
    cov2 = np.linalg.inv(np.eye(1) + A.T @ W.T @ np.linalg.inv(K) @ W @ A)
    M2 = cov2 @ A.T @ W.T @ np.linalg.inv(K)  # E[z2 | x] = M2 (x - b)
    set_residual(h.q_heads[1], M2.T, -M2 @ B, np.log(widen * np.sqrt(np.diag(cov2))), 4)
    D = M1 - A @ M2
    conditional = np.linalg.inv(np.diag(S1**-2) + W.T @ W / SIGMA**2)  # Cov(z1 | z2, x)
    set_residual(h.q_heads[0], D.T, -D @ B, np.log(widen * np.sqrt(np.diag(conditional)) / S1), 4)


def test_residual_iwae_rises_with_k_to_the_exact_log_likelihood():
    h = linear_model("residual", soft_clamp=None)
    set_true_residual(h)
    x = sample_chain(20, seed=1)
    exact = exact_log_px(x)
    means = {k: float(np.mean(h.log_likelihood(x, num_samples=k, seed=0))) for k in (1, 10, 100, 20000)}
    print("residual", means, "exact", exact.mean())
    assert means[1] < means[10] < means[100] <= means[20000] + 0.02, means
    assert abs(means[20000] - exact.mean()) < 0.02, (means, exact.mean())
    elbo = h.elbo(x, num_samples=2000, seed=0).numpy()
    assert np.all(elbo < exact + 0.01) and exact.mean() - elbo.mean() > 0.01


@pytest.mark.parametrize("soft_clamp", [0, -1.0, "5", float("inf"), True])
def test_bad_soft_clamp_is_refused_before_anything_is_built(soft_clamp, monkeypatch):
    built = []
    monkeypatch.setattr(kv.HierarchicalVAE, "build", lambda self, shape: built.append(shape))
    with pytest.raises(ValueError, match="soft_clamp"):
        linear_model("residual", soft_clamp=soft_clamp)
    assert built == []


def test_residual_takes_the_vamp_prior_and_round_trips(tmp_path):
    h = kv.HierarchicalVAE(latent_dims=(3, 2), input_shape=(4,), inference="residual", seed=0,
                           q_hidden=[[8], [8]], p_hidden=[[8], [8]], likelihood="gaussian",
                           prior={"name": "vamp", "num_pseudo_inputs": 3}, soft_clamp=3.0)
    x = sample_chain(32, seed=0)
    h.compile(optimizer="adam", jit_compile=False)
    h.fit(x, epochs=1, batch_size=16, verbose=0)
    h.save(tmp_path / "r.keras")
    loaded = kv.load_model(tmp_path / "r.keras")
    assert loaded.inference == "residual" and loaded.soft_clamp == 3.0
    assert isinstance(loaded.q_heads[0], kv.models._hierarchy.residual.ResidualGaussianHead)
    assert int(loaded.optimizer.iterations) == 2
    for a, b in zip(h.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_allclose(loaded.elbo(x, seed=1).numpy(), h.elbo(x, seed=1).numpy(), rtol=1e-6)

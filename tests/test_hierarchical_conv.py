"""HierarchicalVAE(architecture="conv"): NVAE's top-down conv hierarchy with residual
normal posteriors (2 scales x 2 groups on tiny images). The per-group terms are
recomputed by an explicit pass written out here from the layers' pieces."""
import keras
import numpy as np
import pytest
from scipy import stats

import keras_vae as kv

SHAPE = (8, 8, 1)


def conv(**kwargs):
    kwargs = {"input_shape": SHAPE, "inference": "residual", "architecture": "conv", "scales": 2,
              "groups_per_scale": 2, "channels": 8, "seed": 0, **kwargs}
    return kv.HierarchicalVAE(**kwargs)


def images(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, *SHAPE), "float32")  # bars: a learnable structure
    for i, row in enumerate(rng.integers(0, 8, n)):
        x[i, row, :, 0] = 1.0
    return np.where(rng.random(x.shape) < 0.05, 1 - x, x).astype("float32")


@pytest.fixture(scope="module")
def model():
    return conv(soft_clamp=2.0)


def test_group_shapes_follow_the_scales():
    h = kv.HierarchicalVAE(input_shape=(28, 28, 1), inference="residual", architecture="conv",
                           channels=4, seed=0)
    # 2 scales x 2 groups of 2 channels: 14 x 14 x 2 (z_1, z_2), 7 x 7 x 2 (z_3, z_4)
    assert h.latent_dims == [392, 392, 98, 98] and h.latent_dim == 980
    assert tuple(h.top_down.h0.shape) == (7, 7, 4) and h.top_down.h0.trainable
    assert [tuple(z.shape) for z in h.encode(np.zeros((2, 28, 28, 1), "float32"))] == [
        (2, 392), (2, 392), (2, 98), (2, 98)]
    wide = conv(latent_dims=(64, 16, 48, 16))  # 8 x 8 input: 4 x 4 x (4, 1), then 2 x 2 x (12, 4)
    assert wide.top_down.group_shapes == [(4, 4, 4), (4, 4, 1), (2, 2, 12), (2, 2, 4)]


def test_shapes_and_per_group_terms(model):
    x = images(5)
    t = model.terms(x, num_samples=3, seed=1)
    assert tuple(t.z.shape) == (3, 5, 80) and model.latent_dims == [32, 32, 8, 8]
    assert [tuple(p.shape) for p in t.log_qz_parts] == [(3, 5)] * 4
    np.testing.assert_allclose(t.kl().numpy(), t.kl_per_group().numpy().sum(-1), rtol=1e-5)
    np.testing.assert_allclose(model.posterior(x).log_prob(t.z).numpy(), t.log_qz.numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(model.prior().log_prob(t.z).numpy(), t.log_pz.numpy(), rtol=1e-5, atol=1e-4)
    assert [tuple(z.shape) for z in model.encode(x)] == [(5, 32), (5, 32), (5, 8), (5, 8)]
    assert tuple(model.sample(3, seed=0).shape) == (3, *SHAPE)
    assert tuple(model.reconstruct(x).shape) == (5, *SHAPE) and tuple(model(x).shape) == (5, *SHAPE)
    np.testing.assert_array_equal(model.sample(2, seed=4).numpy(), model.sample(2, seed=4).numpy())
    # the inference-gaps hooks rebuild the same q
    params = model.posterior_parameters(x)
    assert tuple(params.shape) == (5, 160)
    np.testing.assert_allclose(model.posterior_from_parameters(params).log_prob(t.z).numpy(),
                               t.log_qz.numpy(), rtol=1e-5, atol=1e-4)
    paths = model.interpolate(x[0], x[1], steps=3, group=2)
    assert paths.shape == (3, *SHAPE) and np.all(np.isfinite(paths))
    with pytest.raises(ValueError, match="every group"):
        model.decode(np.zeros((2, 32), "float32"))  # z_1 alone: p(x | z) reads every group


def explicit_priors(h, groups):
    """p(z_l | z_{>l}) for l < L by the layers' pieces, top-down (numpy loc, scale)."""
    td, num = h.top_down, len(h.latent_dims)
    flat = [g.reshape(-1, g.shape[-1]) for g in groups]
    n = flat[0].shape[0]
    state = np.broadcast_to(td.h0.numpy()[None], (n, *td.h0.shape))
    priors = {}
    for g in range(num - 1, -1, -1):
        if g < num - 1:
            if g // 2 < (g + 1) // 2:
                state = td.ups[g // 2](state)
            out = td.prior_heads[g](state).numpy()
            c = out.shape[-1] // 2
            loc, raw = out[..., :c].reshape(n, -1), out[..., c:].reshape(n, -1)
            priors[g] = (loc.reshape(groups[g].shape), (np.logaddexp(0, raw) + h.min_scale).reshape(groups[g].shape))
        z = flat[g].reshape(n, *td.group_shapes[g])
        state = td.cells[g](state + td.combiners[g](np.concatenate([state, z], -1)))
    return priors


def test_kl_per_group_recomputed_independently(model):
    x = images(4, seed=3)
    for head in model.q_heads:  # larger residuals, so the soft clamp (2.0) acts
        kernel, bias = head.projection.get_weights()
        head.projection.set_weights([kernel * 6.0, bias + 3.0])
    try:
        t = model.terms(x, num_samples=2, seed=0)
        z = t.z.numpy()
        groups = np.split(z, np.cumsum(model.latent_dims)[:-1], axis=-1)
        features = model.conv_encoder(x)
        clamp = lambda v: 2.0 * np.tanh(v / 2.0)  # noqa: E731
        priors = explicit_priors(model, groups)
        for g in range(4):
            out = model.q_heads[g].projection(features[g // 2]).numpy()
            c = out.shape[-1] // 2
            assert out.max() > 2.5  # beyond the bound: the clamp matters
            dmu = clamp(out[..., :c].reshape(len(x), -1))
            dsig = np.exp(clamp(out[..., c:].reshape(len(x), -1)))
            assert np.abs(np.log(dsig)).max() < 2.0 and np.abs(dmu).max() > 1.0  # bounded, clamp active
            loc_p, scale_p = priors[g] if g < 3 else (np.zeros_like(groups[g]), np.ones_like(groups[g]))
            log_q = stats.norm(loc_p + dmu, scale_p * dsig).logpdf(groups[g]).sum(-1)
            np.testing.assert_allclose(t.log_qz_parts[g].numpy(), log_q, rtol=1e-3, atol=2e-3)  # float32 vs float64
            log_p = stats.norm(loc_p, scale_p).logpdf(groups[g]).sum(-1)
            np.testing.assert_allclose(t.log_pz_parts[g].numpy(), log_p, rtol=1e-3, atol=2e-3)
            # NVAE eq. 2: KL = 1/2 sum (dmu^2 / sigma_p^2 + dsigma^2 - 1 - log dsigma^2)
            nvae = 0.5 * (dmu**2 / scale_p**2 + dsig**2 - 1 - np.log(dsig**2)).sum(-1)
            np.testing.assert_allclose(t.kl_per_group()[:, g].numpy(), np.mean(nvae * np.ones((2, 1)), 0),
                                       rtol=1e-3, atol=2e-3)  # float32 vs float64
    finally:
        for head in model.q_heads:
            kernel, bias = head.projection.get_weights()
            head.projection.set_weights([kernel / 6.0, bias - 3.0])


def test_zero_residual_is_the_prior():
    h = conv()
    for head in h.q_heads:
        head.projection.set_weights([np.zeros_like(w) for w in head.projection.get_weights()])
    t = h.terms(images(4), num_samples=3, seed=0)
    np.testing.assert_allclose(t.kl_per_group().numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(t.log_qz.numpy(), t.log_pz.numpy(), rtol=1e-6, atol=1e-4)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    h = conv()
    h.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=False)  # XLA's compile costs 4x the fit here
    history = h.fit(images(128), epochs=4, batch_size=32, verbose=0).history
    return h, history


def test_short_fit_has_finite_decreasing_loss(trained):
    _, history = trained
    loss = np.asarray(history["loss"])
    print("conv hierarchy loss per epoch", np.round(loss, 3))
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0] - 1.0, loss
    assert {"kl_1", "kl_2", "kl_3", "kl_4"} <= set(history)


def test_keras_round_trip_gives_the_same_elbo(trained, tmp_path):
    h, _ = trained
    x = images(8, seed=5)
    h.save(tmp_path / "conv.keras")
    loaded = kv.load_model(tmp_path / "conv.keras")
    assert loaded.architecture == "conv" and (loaded.scales, loaded.groups_per_scale, loaded.channels) == (2, 2, 8)
    for a, b in zip(h.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_allclose(loaded.elbo(x, seed=1).numpy(), h.elbo(x, seed=1).numpy(), rtol=1e-6)
    assert int(loaded.optimizer.iterations) == int(h.optimizer.iterations) == 16
    # Exact resume: the loaded model's next steps are the original's (optimizer state,
    # step counter and noise seeds all came back).
    for model in (h, loaded):
        model.fit(images(64, seed=7), epochs=1, batch_size=32, verbose=0, shuffle=False)
    for a, b in zip(h.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_log_likelihood_bounds_the_elbo(trained):
    h, _ = trained
    x = images(16, seed=6)
    ll = h.log_likelihood(x, num_samples=16, seed=0)
    elbo = h.elbo(x, seed=0, num_samples=16).numpy()
    assert ll.shape == (16,) and np.all(np.isfinite(ll))
    assert ll.mean() > elbo.mean(), (ll.mean(), elbo.mean())


@pytest.mark.parametrize("kwargs, match", [
    ({"input_shape": (64,)}, "takes images"),
    ({"input_shape": None}, "needs input_shape"),
    ({"input_shape": (28, 28, 1), "scales": 3}, "multiples of 8"),
    ({"input_shape": (12, 8, 1), "scales": 3}, "multiples of 8"),
    ({"groups_per_scale": 0}, "empty group list"),
    ({"scales": 0}, "scales must be"),
    ({"channels": 2.5}, "channels must be"),
    ({"latent_dims": (32, 30, 8, 8)}, "group 2 .* does not fit the conv scales"),
    ({"latent_dims": (32, 8)}, "scales x groups_per_scale"),
    ({"latent_dims": ()}, "latent_dims is empty"),
    ({"inference": "ladder"}, "takes inference='residual'"),
    ({"architecture": "transformer"}, "architecture must be"),
])
def test_bad_input_is_refused_before_anything_is_built(kwargs, match, monkeypatch):
    built = []
    monkeypatch.setattr(kv.HierarchicalVAE, "build", lambda self, shape: built.append(shape))
    made = []
    original = kv.models._hierarchy.conv_encoder.ConvBottomUp.__init__
    monkeypatch.setattr(kv.models._hierarchy.conv_encoder.ConvBottomUp, "__init__",
                        lambda self, *a, **k: made.append(1) or original(self, *a, **k))
    with pytest.raises(ValueError, match=match):
        conv(**kwargs)
    assert built == [] and made == []

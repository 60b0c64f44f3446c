"""HierarchicalVAE: the model contract (terms per group, objectives, metrics), the
tools, saving and bad input. Tiny models; the closed forms are in
test_hierarchical_closed_form.py."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from helpers import hierarchical_score

INFERENCES = ["bottom_up", "ladder"]
ALL_INFERENCES = [*INFERENCES, "residual"]


def small(inference="bottom_up", **kwargs):
    kwargs = {"latent_dims": (4, 2), "input_shape": (8,), "seed": 0, "q_hidden": [[16], [8]],
              "p_hidden": [[8], [16]], "inference": inference, **kwargs}
    return kv.HierarchicalVAE(**kwargs)


def binary(n=64, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, 8)).astype("float32")


def test_defaults_are_burdas_two_layer_model():
    h = kv.HierarchicalVAE(input_shape=(28, 28, 1), seed=0)
    assert h.latent_dims == [100, 50] and h.latent_dim == 150 and h.inference == "bottom_up"
    assert h.q_hidden == [[200, 200], [100, 100]] and h.p_hidden == [[100, 100], [200, 200]]
    assert h.activation == "tanh"
    # 784-200-200-(100) | 100-100-100-(50) ; 50-100-100-(100) | 100-200-200-784
    assert [layer.units for layer in h.q_bodies[0].hidden] == [200, 200]
    assert h.q_bodies[1].hidden[0].kernel.shape == (100, 100)
    assert h.p_bodies[0].hidden[0].kernel.shape == (50, 100)
    assert h.decoder.hidden[0].kernel.shape == (100, 200)
    assert h.likelihood_layer.projection.kernel.shape == (200, 784)
    assert isinstance(h, kv.models.LatentVariableModel)
    assert kv.registry.get_class("model", "hierarchical") is kv.HierarchicalVAE


@pytest.mark.parametrize("inference", ALL_INFERENCES)
def test_terms_per_group_sum_to_the_whole(inference):
    h = small(inference)
    t = h.terms(binary(5), num_samples=3, seed=1)
    assert isinstance(t, kv.objectives.GroupTerms)
    assert tuple(t.z.shape) == (3, 5, 6)
    assert [tuple(p.shape) for p in t.log_qz_parts] == [(3, 5), (3, 5)]
    np.testing.assert_allclose(t.log_qz.numpy(), sum(p.numpy() for p in t.log_qz_parts), rtol=1e-5)
    np.testing.assert_allclose(t.log_pz.numpy(), sum(p.numpy() for p in t.log_pz_parts), rtol=1e-5)
    np.testing.assert_allclose(t.kl().numpy(), t.kl_per_group().numpy().sum(-1), rtol=1e-5)
    np.testing.assert_allclose(
        t.kl_per_group().numpy().sum(-1), t.kl_per_dimension().numpy().sum(-1), rtol=1e-4, atol=1e-5
    )
    # the chains give the same densities as the parts
    np.testing.assert_allclose(h.posterior(binary(5)).log_prob(t.z).numpy(), t.log_qz.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h.prior().log_prob(t.z).numpy(), t.log_pz.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("inference", ALL_INFERENCES)
def test_analytic_and_monte_carlo_group_kls_agree(inference):
    h = small(inference)
    t = h.terms(binary(4), num_samples=4000, seed=2)
    auto, mc = t.kl_per_group("auto").numpy(), t.kl_per_group("mc").numpy()
    np.testing.assert_allclose(auto, mc, atol=0.15)
    if inference == "bottom_up":  # p(z_1 | z_2): its parent is drawn after z_1
        with pytest.raises(ValueError, match="no analytic form"):
            t.kl_per_group("analytic")


OBJECTIVES = [
    ("bottom_up", "elbo"),
    ("bottom_up", {"name": "iwae", "num_samples": 3}),
    ("bottom_up", {"name": "elbo", "free_bits": 0.5, "free_bits_mode": "per_group"}),
    ("bottom_up", {"name": "elbo", "free_bits": 0.1, "free_bits_mode": "per_dimension"}),
    ("ladder", "elbo"),
    ("ladder", {"name": "iwae", "num_samples": 3, "gradient": "dreg"}),
    ("residual", "elbo"),
    ("residual", {"name": "iwae", "num_samples": 3, "gradient": "dreg"}),
]


@pytest.mark.parametrize("inference, objective", OBJECTIVES)
def test_fit_reports_kl_per_group_and_objectives_run_unchanged(inference, objective):
    x = binary()
    if True:
        h = small(inference, objective=objective)
        h.compile(optimizer="adam", jit_compile=False)
        history = h.fit(x, epochs=1, batch_size=32, verbose=0).history
        assert {"kl_1", "kl_2", "kl", "loss"} <= set(history), objective
        assert np.isfinite(history["loss"][-1])
        np.testing.assert_allclose(history["kl_1"][-1] + history["kl_2"][-1], history["kl"][-1], rtol=0.05, atol=0.05)


def test_free_bits_per_group_floors_each_group():
    h = small(objective={"name": "elbo", "free_bits": 100.0, "free_bits_mode": "per_group"})
    t = h.terms(binary(4), num_samples=2, seed=0)
    # every group below the floor: R = groups * lambda, and no KL gradient
    np.testing.assert_allclose(h.objective.kl_term(t).numpy(), 200.0)


def test_free_bits_per_group_floors_only_the_groups_below_the_floor():
    """A floor between the two groups' batch-average KLs keeps the larger group's
    own KL (and its gradient) and floors the other: R_b = KL_b,high + lambda."""
    h = small()
    t = h.terms(binary(8), num_samples=2, seed=0)
    per_group = t.kl_per_group().numpy()  # [B, groups]
    means = per_group.mean(axis=0)
    high, low = int(np.argmax(means)), int(np.argmin(means))
    assert means[high] > means[low]
    floor = float(means.mean())
    objective = kv.objectives.ELBO(free_bits=floor, free_bits_mode="per_group")
    np.testing.assert_allclose(objective.kl_term(t).numpy(), per_group[:, high] + floor, rtol=1e-5)
    variables = h.q_heads[high].trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        t = h.terms(binary(8), num_samples=2, seed=0)
        kept = tf.reduce_sum(objective.kl_term(t))
        floored_only = tf.reduce_sum(kv.objectives.ELBO(free_bits=1e6, free_bits_mode="per_group").kl_term(t))
    assert any(g is not None and np.any(g.numpy() != 0) for g in tape.gradient(kept, variables))
    assert all(g is None or not np.any(g.numpy()) for g in tape.gradient(floored_only, variables))


def test_dreg_surrogate_gradient_reaches_q_only_through_z():
    h = small()
    x = tf.constant(binary(4))
    with tf.GradientTape(persistent=True) as tape:
        t = h.terms(x, num_samples=3, seed=0, training=True)
        stopped = t.stopped_log_qz()
    grads = tape.gradient(stopped, h.q_bodies[0].trainable_variables + h.q_heads[0].trainable_variables)
    # q's weights reach the stopped log q only through z (the reparameterized sample)
    assert all(g is not None for g in grads)
    with tf.GradientTape() as tape:
        z = tf.stop_gradient(t.z)
        value = t._stopped_posterior().log_prob(z)
    assert all(g is None for g in tape.gradient(value, h.trainable_variables))


@pytest.mark.parametrize("inference", ALL_INFERENCES)
def test_tools_take_a_hierarchical_model(inference):
    h = small(inference)
    x = binary(6)
    groups = h.encode(x)
    assert [tuple(np.shape(z)) for z in groups] == [(6, 4), (6, 2)]
    sampled = h.encode(x, sample=True, seed=3)
    np.testing.assert_array_equal(np.asarray(sampled[1]), np.asarray(h.encode(x, sample=True, seed=3)[1]))
    s1, s2 = h.sample(5, seed=7), h.sample(5, seed=7)
    assert s1.shape == (5, 8)
    np.testing.assert_array_equal(s1.numpy(), s2.numpy())
    assert not np.array_equal(s1.numpy(), h.sample(5, seed=8).numpy())
    ll = h.log_likelihood(x, num_samples=200, seed=0)
    elbo = h.elbo(x, num_samples=200, seed=0).numpy()
    assert ll.shape == (6,) and np.all(ll >= elbo - 0.05)
    assert h.reconstruct(x).shape == (6, 8) and h.predict(x, verbose=0).shape == (6, 8)
    assert h.decode(groups[0]).shape == (6, 8)
    assert [a.shape for a in h.kl_per_dimension(x)] == [(4,), (2,)]
    active = h.active_units(x)
    assert len(active["per_group"]) == 2 and active["active_units"] == sum(active["per_group"])
    # The library's diagnostics take it too, per group (z_l against its top-down prior).
    kl = kv.evaluation.kl_per_dimension(h, x, seed=0)
    for ours, its in zip(kl, h.kl_per_dimension(x, num_samples=16, seed=0)):
        np.testing.assert_allclose(ours, its)
    units, activity = kv.evaluation.active_units(h, x, return_activity=True)
    assert units == active["active_units"] and [a.shape for a in activity] == [(4,), (2,)]
    report = kv.evaluation.check_posterior_collapse(h, x, warn=False)
    assert report["latent_dim"] == 6 and report["activity"].shape == (6,)
    assert report["per_group"]["active_units"] == active["per_group"]
    np.testing.assert_allclose(report["kl_total"], sum(report["per_group"]["kl_total"]), rtol=1e-6)
    with pytest.raises(ValueError, match="takes no condition"):
        kv.evaluation.active_units(h, x, condition=np.zeros(6))
    with pytest.raises(ValueError, match="latent values"):
        h.decode(np.zeros((2, 3), "float32"))


@pytest.mark.xla  # the default path (XLA on a CPU) for this family
@pytest.mark.parametrize("inference", ALL_INFERENCES)
def test_keras_round_trip_and_exact_resume(tmp_path, inference):
    x = binary()
    h = small(inference, objective={"name": "elbo", "beta": 0.5})
    h.compile(optimizer=keras.optimizers.Adam(1e-2))  # "auto", marked xla
    h.fit(x, epochs=1, batch_size=16, verbose=0)
    assert h.jit_compile is True  # dense networks on flat data (also the residual scheme here): XLA
    h.save(tmp_path / "h.keras")
    loaded = kv.load_model(tmp_path / "h.keras")
    assert isinstance(loaded, kv.HierarchicalVAE) and loaded.inference == inference
    assert loaded.latent_dims == [4, 2] and int(loaded.optimizer.iterations) == 4
    np.testing.assert_allclose(loaded.elbo(x, seed=1).numpy(), h.elbo(x, seed=1).numpy(), rtol=1e-6)
    for model in (h, loaded):
        model.fit(x, epochs=2, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(h.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.parametrize("prior", ["learned_gaussian", {"name": "mixture", "num_components": 3}])
def test_top_prior_is_any_registered_prior(prior):
    h = small(prior=prior)
    h.compile(optimizer="adam", jit_compile=False)
    assert np.isfinite(h.fit(binary(), epochs=1, batch_size=32, verbose=0).history["loss"][-1])
    assert h.sample(2, seed=0).shape == (2, 8)


def test_vamp_prior_on_the_ladder():
    h = small("ladder", prior={"name": "vamp", "num_pseudo_inputs": 4})
    assert np.all(np.isfinite(h.elbo(binary(4), seed=0).numpy()))
    with pytest.raises(ValueError, match="ladder"):
        small("bottom_up", prior={"name": "vamp", "num_pseudo_inputs": 4})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dims": ()}, "empty"),
        ({"latent_dims": (4, 0)}, ">= 1"),
        ({"latent_dims": (4, -2)}, ">= 1"),
        ({"latent_dims": (4, 2.5)}, ">= 1"),
        ({"latent_dims": 4}, "sequence"),
        ({"inference": "top_down"}, "inference must be one of"),
        ({"q_hidden": [[16]]}, "q_hidden"),
        ({"p_hidden": [[8], [0]]}, "p_hidden"),
        ({"kl": "exact"}, "kl must be"),
        ({"activation": "no_such_activation"}, "activation|Could not interpret"),
    ],
)
def test_bad_input_is_refused_before_anything_is_built(kwargs, match, monkeypatch):
    built = []
    monkeypatch.setattr(kv.HierarchicalVAE, "build", lambda self, shape: built.append(shape))
    with pytest.raises(ValueError, match=match):
        small(**kwargs)
    assert built == []


@pytest.mark.parametrize("inference", ALL_INFERENCES)
def test_saved_model_signatures(tmp_path, inference):
    h = small(inference)
    x = binary(3)
    directory = h.export(str(tmp_path / "serving"), score_samples=4000)
    loaded = tf.saved_model.load(directory)
    assert set(loaded.signatures) >= {"encode", "decode", "reconstruct", "sample", "score", "serving_default"}
    encoded = loaded.signatures["encode"](x=tf.constant(x))
    means = h.encode(x)
    for g in range(2):
        np.testing.assert_allclose(encoded[f"z_{g + 1}_mean"].numpy(), np.asarray(means[g]), rtol=1e-5, atol=1e-6)
        assert encoded[f"z_{g + 1}"].shape == means[g].shape
    np.testing.assert_allclose(loaded.signatures["reconstruct"](x=tf.constant(x))["reconstruction"].numpy(),
                               h.reconstruct(x).numpy(), rtol=1e-5, atol=1e-6)
    served = loaded.signatures["sample"](seed=tf.constant([5, 6], tf.int64))["x"].numpy()
    np.testing.assert_allclose(served[0], h.sample(1, seed=5).numpy()[0], rtol=1e-5, atol=1e-6)
    log_px = loaded.signatures["score"](x=tf.constant(x))["log_px"].numpy()
    # the same draws in Python: z ~ q with the served seed, log-mean-exp of the weights
    np.testing.assert_allclose(log_px, hierarchical_score(h, x, 4000), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(log_px, loaded.signatures["score"](x=tf.constant(x))["log_px"].numpy())
    assert loaded.signatures["decode"](z=tf.constant(np.asarray(means[0])))["x_mean"].shape == (3, 8)


@pytest.mark.parametrize("inference", ALL_INFERENCES)
def test_traversal_and_interpolation_at_a_chosen_group(inference):
    h = small(inference)
    x = binary(2)
    means = h.encode(x)
    path = h.interpolate(x[0], x[1], steps=5, group=1)
    assert path.shape == (5, 8)
    # the ends decode the posterior points of group 2 through the top-down means
    np.testing.assert_allclose(path[0], h.decode_from_group(np.asarray(means[1])[:1], 1).numpy()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.interpolate(x[0], x[1], steps=3, group=0)[0], h.decode(np.asarray(means[0])[:1]).numpy()[0],
                               rtol=1e-5, atol=1e-6)
    grid = h.traverse(x[0], dim=1, values=[-2.0, 0.0, 2.0], group=1)
    assert grid.shape == (3, 8) and not np.allclose(grid[0], grid[2])
    with pytest.raises(ValueError, match="group"):
        h.traverse(x[0], dim=0, group=2)
    with pytest.raises(ValueError, match="dim"):
        h.traverse(x[0], dim=2, group=1)


def test_active_units_of_a_lower_group_are_not_inflated_by_monte_carlo_noise():
    """An untrained encoder (the hard case): E_q[z_2 | x] is an average over draws of
    z_1, whose noise the variance of one average adds to every unit; the covariance of
    two independent halves does not. Against 4,000 draws as the reference."""
    h = small("bottom_up")
    x = binary(400, seed=1)
    truth = h.active_units(x, num_samples=4000, return_activity=True)["activity"]
    ours = h.active_units(x, num_samples=16, return_activity=True)["activity"]
    _, _, dists = h.posterior(x).sample_with_parts(16, seed=h.noise_seed(0))
    naive = np.var(np.mean(np.broadcast_to(dists[1].mean().numpy(), (16, 400, 2)), axis=0), axis=0)
    # z_1 of bottom_up does not depend on draws: its exact variance over x
    np.testing.assert_allclose(ours[0], np.var(h.encode(x)[0], axis=0), rtol=1e-5, atol=1e-9)
    assert np.all(naive > truth[1])  # the single average's Monte Carlo variance
    assert np.abs(ours[1] - truth[1]).sum() < 0.5 * np.abs(naive - truth[1]).sum(), (ours[1], naive, truth[1])
    with pytest.raises(ValueError, match="even number"):
        h.active_units(x, num_samples=3)

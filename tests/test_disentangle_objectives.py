"""β-TCVAE, FactorVAE, DIP-VAE and the capacity-annealed ELBO, and the objective
contract they use (batch-level terms, the dataset size, auxiliary networks)."""
import math
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import keras_vae as kv
from keras_vae.objectives._decomposition import decompose, log_importance_weights
from keras_vae.objectives.factor_vae import permute_dims

tfd = tfp.distributions
X = (np.random.default_rng(0).uniform(size=(48, 6)) > 0.5).astype("float32")
OBJECTIVES = {
    "beta_tcvae": {"name": "beta_tcvae", "beta": 4.0},
    "beta_tcvae_mws": {"name": "beta_tcvae", "beta": 4.0, "estimator": "mws", "dataset_size": 1000},
    "dip_vae_i": {"name": "dip_vae", "variant": "i", "lambda_od": 2.0, "lambda_d": 20.0},
    "dip_vae_ii": {"name": "dip_vae", "variant": "ii", "lambda_od": 2.0, "lambda_d": 2.0},
    "capacity_elbo": {"name": "capacity_elbo", "gamma": 10.0, "capacity_max": 5.0, "capacity_steps": 5},
    "factor_vae": {"name": "factor_vae", "gamma": 6.0, "discriminator_units": [16, 16],
                   "discriminator_optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}}},
}


def make(objective, seed=1):
    return kv.VAE(kv.encoders.MLPEncoder([8]), kv.decoders.MLPDecoder([8]), latent_dim=3,
                  input_shape=(6,), objective=objective, seed=seed)


def gaussian(loc, scale):
    loc = tf.constant(loc, tf.float32)
    return tfd.Independent(tfd.Normal(loc, tf.fill(tf.shape(loc), float(scale))), 1)


# --------------------------------------------------------------- TC estimators
@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_decomposition_sums_to_log_q_minus_log_p_per_sample(estimator):
    vae = make("elbo")
    terms = vae.terms(X[:16], num_samples=3, seed=0)
    parts = decompose(terms.q, terms.z, terms.log_pz, 100, estimator)
    total = parts["mutual_information"] + parts["total_correlation"] + parts["dimension_kl"]
    np.testing.assert_allclose(total, terms.log_qz - terms.log_pz, atol=1e-4)
    np.testing.assert_allclose(parts["log_qz_given_x"], terms.log_qz, atol=1e-4)


def test_beta_tcvae_with_unit_weights_is_the_monte_carlo_elbo():
    vae = make("elbo")
    terms = vae.terms(X[:16], num_samples=2, seed=3)
    loss, values = kv.objectives.BetaTCVAE(alpha=1.0, beta=1.0, gamma=1.0, dataset_size=50)(terms)
    mc_elbo = terms.reconstruction() - tf.reduce_mean(terms.log_qz - terms.log_pz, axis=0)
    np.testing.assert_allclose(loss, -mc_elbo, atol=1e-4)
    assert sorted(values) == sorted(kv.objectives.BetaTCVAE.metric_names)


def test_importance_weights_rows_sum_to_one():
    w = np.exp(log_importance_weights(6, 100, "mss").numpy())
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.diag(w), 1 / 100, rtol=1e-5)
    w = np.exp(log_importance_weights(6, 100, "mws").numpy())
    np.testing.assert_allclose(w, 1 / 600, rtol=1e-5)


def test_total_correlation_zero_for_independent_and_positive_for_correlated_codes():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(512, 2))
    codes = {"independent": mu, "correlated": np.column_stack([mu[:, 0], mu[:, 0]])}
    tc = {}
    for name, loc in codes.items():
        q = gaussian(loc, 0.3)
        z = q.sample(1, seed=[1, 2])
        tc[name] = float(tf.reduce_mean(decompose(q, z, tf.zeros([1, 512]), 512, "mss")["total_correlation"]))
    # correlation 1 / 1.09 of the aggregate posterior: TC = -log(1 - rho^2) / 2 = 0.92 nats
    print("TC independent", tc["independent"], "correlated", tc["correlated"])
    assert abs(tc["independent"]) < 0.1
    assert tc["correlated"] > 0.6
    # The figures docs/disentanglement.md quotes.
    rho = 1 / 1.09
    assert -0.5 * math.log(1 - rho**2) == pytest.approx(0.92, abs=0.005)
    assert tc["independent"] == pytest.approx(0.018, abs=0.003)
    assert tc["correlated"] == pytest.approx(0.885, abs=0.005)


def test_mss_is_less_biased_than_mws_at_small_batches():
    """The truth uses all N posteriors: log q(z) = logsumexp_n log q(z|x_n) - log N."""
    rng = np.random.default_rng(1)
    n, batch, latent, trials = 1000, 8, 3, 100
    loc = rng.normal(size=(n, latent)).astype("float32")
    loc[:, 1] = 0.8 * loc[:, 0] + 0.6 * loc[:, 1]  # some total correlation
    scale = 0.3
    everything = gaussian(loc, scale)
    errors = {"mss": [], "mws": []}
    for t in range(trials):
        idx = rng.choice(n, batch, replace=False)
        q = gaussian(loc[idx], scale)
        z = q.sample(1, seed=[t, 7])
        log_q = everything.distribution.log_prob(z[0][:, None, :]).numpy()  # [B, N, L]
        true_log_qz = np.logaddexp.reduce(log_q.sum(-1), axis=1) - np.log(n)
        true_marginals = (np.logaddexp.reduce(log_q, axis=1) - np.log(n)).sum(-1)
        true_tc = true_log_qz - true_marginals
        for estimator in errors:
            tc = decompose(q, z, tf.zeros([1, batch]), n, estimator)["total_correlation"].numpy()[0]
            errors[estimator].append(np.mean(tc - true_tc))
    bias = {k: float(np.mean(v)) for k, v in errors.items()}
    print(f"TC bias at batch {batch}, N {n}: MSS {bias['mss']:+.3f} nats, MWS {bias['mws']:+.3f} nats")
    assert abs(bias["mss"]) < abs(bias["mws"])
    # The figures docs/disentanglement.md quotes.
    assert bias["mss"] == pytest.approx(-0.10, abs=0.02)
    assert bias["mws"] == pytest.approx(14.6, abs=0.1)


# ------------------------------------------------------- every objective: .keras
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_keras_round_trip_and_exact_resume(name, tmp_path):
    vae = make(OBJECTIVES[name])
    vae.compile(optimizer="adam", jit_compile=False)
    history = vae.fit(X, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    path = os.path.join(tmp_path, "m.keras")
    vae.save(path)
    loaded = kv.load_model(path)
    assert loaded.objective.get_config() == vae.objective.get_config()
    assert len(loaded.weights) == len(vae.weights)
    for a, b in zip(vae.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    # continue both: the same steps, the same noise, the same weights
    h1 = vae.fit(X, epochs=1, batch_size=16, verbose=0, shuffle=False)
    h2 = loaded.fit(X, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert h1.history == h2.history
    for a, b in zip(vae.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    assert int(loaded.optimizer.iterations) == 6


@pytest.mark.xla
def test_factor_vae_discriminator_is_saved_trained_apart_and_resumed(tmp_path):
    vae = make(OBJECTIVES["factor_vae"])
    vae.compile(optimizer="adam")  # "auto": XLA on a CPU for MLPs, the auxiliary update inside it
    discriminator = vae.objective_networks["discriminator"]
    before = [w.numpy().copy() for w in discriminator.weights]
    disc_ids = {id(w) for w in discriminator.trainable_variables}
    # the model's own optimizer holds no slot for the discriminator
    assert not disc_ids & {id(v) for v in vae._model_trainable_variables()}
    vae.fit(X, epochs=1, batch_size=16, verbose=0)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, discriminator.weights))
    optimizer = vae.objective_optimizers["discriminator"]
    assert int(optimizer.iterations) == 3 and float(optimizer.learning_rate) == pytest.approx(0.01)
    path = os.path.join(tmp_path, "f.keras")
    vae.save(path)
    loaded = kv.load_model(path)
    loaded_optimizer = loaded.objective_optimizers["discriminator"]
    assert int(loaded_optimizer.iterations) == 3
    for a, b in zip(optimizer.variables, loaded_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(discriminator.weights, loaded.objective_networks["discriminator"].weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_permute_dims_shuffles_each_dimension_apart():
    z = tf.reshape(tf.range(2 * 50 * 3, dtype=tf.float32), [2, 50, 3])
    p = permute_dims(z, tf.constant([3, 4])).numpy()
    for k in range(2):
        for l in range(3):
            assert sorted(p[k, :, l]) == sorted(z.numpy()[k, :, l])
    assert not np.array_equal(p, z.numpy())
    assert not np.array_equal(np.argsort(p[0, :, 0]), np.argsort(p[0, :, 1]))


def test_capacity_schedule_and_its_resume(tmp_path):
    objective = kv.objectives.CapacityELBO(gamma=10.0, capacity_max=5.0, capacity_steps=5)
    assert [float(objective.capacity(s)) for s in (0, 1, 5, 50)] == [0.0, 1.0, 5.0, 5.0]
    vae = make(OBJECTIVES["capacity_elbo"])
    vae.compile(optimizer="adam", jit_compile=False)
    vae.fit(X, epochs=1, batch_size=16, verbose=0)  # steps 0, 1, 2: C = 0, 1, 2
    path = os.path.join(tmp_path, "c.keras")
    vae.save(path)
    loaded = kv.load_model(path)
    # the next step runs at C = 3 (step 3) in both; the reported capacity is the epoch's mean
    h = loaded.fit(X[:16], epochs=1, batch_size=16, verbose=0)
    assert h.history["capacity"][0] == pytest.approx(3.0)
    assert float(loaded.evaluate(X, verbose=0, return_dict=True)["capacity"]) == pytest.approx(4.0)


def test_dip_vae_covariance_of_known_posteriors():
    loc = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]], "float32")
    q = gaussian(loc, 0.5)
    cov_i = kv.objectives.DIPVAE(variant="i").covariance(q).numpy()
    np.testing.assert_allclose(cov_i, [[0.5, 0.0], [0.0, 2.0]], atol=1e-6)
    cov_ii = kv.objectives.DIPVAE(variant="ii").covariance(q).numpy()
    np.testing.assert_allclose(cov_ii, [[0.75, 0.0], [0.0, 2.25]], atol=1e-6)


# ----------------------------------------------------------- the dataset size
def test_beta_tcvae_takes_the_dataset_size_from_fit_or_refuses_before_any_step():
    vae = make("beta_tcvae")
    vae.compile(optimizer="adam", jit_compile=False)
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(16)
    with pytest.raises(ValueError, match="dataset_size"):
        vae.fit(dataset, epochs=1, verbose=0)
    assert int(vae.optimizer.iterations) == 0
    vae.fit(X, epochs=1, batch_size=16, verbose=0)
    assert vae.objective.effective_dataset_size == len(X)
    vae.fit(dataset, epochs=1, verbose=0)  # keeps the size it was trained with
    explicit = make({"name": "beta_tcvae", "dataset_size": 5000})
    explicit.compile(optimizer="adam", jit_compile=False)
    explicit.fit(X, epochs=1, batch_size=16, verbose=0)
    assert explicit.objective.effective_dataset_size == 5000


def test_bad_arguments_are_refused_at_construction():
    with pytest.raises(ValueError, match="estimator"):
        kv.objectives.BetaTCVAE(estimator="exact")
    with pytest.raises(ValueError, match="variant"):
        kv.objectives.DIPVAE(variant="iii")
    with pytest.raises(ValueError, match="capacity_steps"):
        kv.objectives.CapacityELBO(capacity_steps=0)
    with pytest.raises(ValueError, match="gamma"):
        kv.objectives.FactorVAE(gamma=-1.0)
    with pytest.raises(ValueError, match="dataset_size"):
        kv.objectives.BetaTCVAE(dataset_size=1)
    with pytest.raises(ValueError, match="factorizes"):
        vae = kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(6,), posterior="full_gaussian",
                     objective={"name": "dip_vae"}, seed=0)
        vae.compile(optimizer="adam", jit_compile=False)
        vae.fit(X, epochs=1, batch_size=16, verbose=0)


def test_a_model_with_a_discriminator_exports_for_serving(tmp_path):
    vae = make({"name": "factor_vae", "discriminator_units": [8]})
    vae.compile(optimizer="adam", jit_compile=False)
    vae.fit(X[:32], epochs=1, batch_size=16, verbose=0)
    served = tf.saved_model.load(vae.export(str(tmp_path / "serving")))
    assert served.signatures["score"](x=tf.constant(X[:4]))["log_px"].shape == (4,)

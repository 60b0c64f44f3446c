"""The VQ-VAE's codebook statistics under sample weights and tf.distribute, and its
in-model standardization (issue 21)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae.quantizers import VectorQuantizer
from test_distribute import _strategy  # the one MirroredStrategy over two logical CPUs

TINY = dict(encoder={"name": "conv", "filters": [8, 8]}, decoder={"name": "conv", "filters": [8, 8]},
            num_embeddings=16, embedding_dim=4, input_shape=(8, 8, 1), prior=None)


def _images(n, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, size=(n, 8, 8, 1)).astype("float32")


def _mixture(n, seed):
    """16 well-separated 2-D Gaussians (centres on a 4x4 grid 10 apart, std 0.3)."""
    rng = np.random.default_rng(seed)
    centres = np.stack(np.meshgrid(np.arange(4), np.arange(4)), -1).reshape(-1, 2) * 10.0 - 15.0
    return (centres[rng.integers(0, 16, n)] + rng.normal(0, 0.3, (n, 2))).astype("float32")


def _quantizer_state(vq):
    return {v.path.split("/")[-1]: np.array(v) for v in vq.weights}


# ------------------------------------------------------------- sample weights
def test_the_ema_update_follows_the_weighted_formula_and_a_zero_weight_moves_nothing():
    k, decay, eps = 3, 0.9, 1e-5
    codebook = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]], "float32")
    count0, sum0 = np.array([2.0, 1.0, 3.0], "float32"), 2.0 * codebook + 0.5

    def quantizer():
        vq = VectorQuantizer(k, 2, ema_decay=decay, epsilon=eps, codebook_init="uniform", dead_code_steps=None)
        vq.build((None, 2, 2))
        vq.codebook.assign(codebook)
        vq.ema_count.assign(count0)
        vq.ema_sum.assign(sum0)
        return vq

    z = np.array([[[0.5, 0.1], [4.0, 6.0]], [[-4.5, 5.5], [0.2, -0.3]],
                  [[5.5, 4.0], [-0.1, 0.4]], [[-6.0, 4.0], [9.0, 9.0]]], "float32")
    w = np.array([1.0, 0.5, 2.0, 0.0], "float32")
    vq = quantizer()
    vq(z, training=True, sample_weight=w)
    # The formula, in numpy (float64): weighted counts n_k and sums s_k, then the EMA.
    flat, w_pos = z.reshape(-1, 2).astype(np.float64), np.repeat(w, 2).astype(np.float64)
    nearest = np.argmin(((flat[:, None] - codebook[None]) ** 2).sum(-1), axis=1)
    n = np.bincount(nearest, weights=w_pos, minlength=k)
    s = np.zeros((k, 2))
    np.add.at(s, nearest, flat * w_pos[:, None])
    ema_count = decay * count0 + (1 - decay) * n
    ema_sum = decay * sum0 + (1 - decay) * s
    smoothed = (ema_count + eps) / (ema_count.sum() + k * eps) * ema_count.sum()
    state = _quantizer_state(vq)
    np.testing.assert_allclose(state["ema_count"], ema_count, rtol=1e-6)
    np.testing.assert_allclose(state["ema_sum"], ema_sum, rtol=1e-6)
    np.testing.assert_allclose(state["codebook"], ema_sum / smoothed[:, None], rtol=1e-6)
    # The zero-weight example's vectors went to codes 2 and 1 and counted nothing there.
    np.testing.assert_array_equal(n, [3.5, 3.0, 0.5])
    # The same step without the zero-weight example: the same state, bit for bit.
    without = quantizer()
    without(z[:3], training=True, sample_weight=w[:3])
    for name, value in _quantizer_state(without).items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)


def test_kmeans_and_restarts_never_seed_a_code_from_a_zero_weight_example():
    x = np.concatenate([_mixture(512, seed=0), np.full((64, 2), 1000.0, "float32")])
    w = np.r_[np.ones(512), np.zeros(64)].astype("float32")
    weighted = VectorQuantizer(16, 2, dead_code_steps=1, seed=0)
    unweighted = VectorQuantizer(16, 2, dead_code_steps=1, seed=0)
    for _ in range(3):  # k-means on the first call, restarts of unused codes on every call
        weighted(x, training=True, sample_weight=w)
        unweighted(x, training=True)
    assert np.abs(np.array(weighted.codebook)).max() < 100  # no code near the outliers
    assert np.abs(np.array(unweighted.codebook)).max() > 900  # without weights they take codes
    out = weighted(_mixture(4096, seed=2))
    assert float(out["codes_in_use"]) == 1.0 and float(out["perplexity"]) > 15.0


def test_fit_hands_sample_weights_to_the_quantizer():
    """One step of fit on [a, b] with b at weight 0 leaves the quantizer (k-means, EMA)
    as the step on a alone does (without the weights b would move it: the
    quantizer-level tests above)."""
    a, b = _images(16, seed=1), _images(16, seed=2) + 0.4

    def quantizer_after_one_step(x, weights):
        keras.utils.set_random_seed(0)
        vq = kv.VQVAE(**TINY, seed=3)
        vq.compile(optimizer=keras.optimizers.SGD(0.1))
        vq.fit(x, sample_weight=weights, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
        return _quantizer_state(vq.quantizer)

    alone = quantizer_after_one_step(a, np.ones(16, "float32"))
    zero_b = quantizer_after_one_step(np.concatenate([a, b]), np.r_[np.ones(16), np.zeros(16)].astype("float32"))
    for name in alone:
        np.testing.assert_allclose(zero_b[name], alone[name], rtol=1e-6, atol=1e-7, err_msg=name)
    assert alone["initialized"] == 1 and alone["step"] == 1


# ------------------------------------------------------------- tf.distribute
def _local_values(variable):
    return [np.array(v) for v in _strategy().experimental_local_results(variable.value)]


def test_two_replicas_update_the_codebook_as_one_device_on_the_whole_batch():
    """The quantizer alone, an odd batch (151 + 150 rows per replica), weights with
    zeros: k-means, EMA and restarts give the single-device result on every replica."""
    strategy = _strategy()
    x = _mixture(301, seed=5)
    w = np.random.default_rng(0).uniform(0.0, 2.0, 301).astype("float32")
    w[::7] = 0.0
    settings = dict(num_embeddings=16, embedding_dim=2, dead_code_steps=1, seed=2)
    with strategy.scope():
        mirrored = VectorQuantizer(**settings)
        mirrored.build((None, 2))
    single = VectorQuantizer(**settings)
    single.build((None, 2))
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, w)).batch(301))

    @tf.function
    def step(batch):
        return strategy.run(lambda x, w: mirrored(x, training=True, sample_weight=w)["perplexity"], batch)

    for _ in range(3):
        for batch in dataset:
            perplexity = strategy.experimental_local_results(step(batch))
        expected = single(x, training=True, sample_weight=w)["perplexity"]
        np.testing.assert_allclose([float(p) for p in perplexity], [float(expected)] * 2, rtol=1e-5)
    for a, b in zip(single.weights, mirrored.weights):
        local = _local_values(b)
        np.testing.assert_array_equal(local[0], local[1], err_msg=b.path)  # the same on both replicas
        np.testing.assert_allclose(local[0], np.array(a), rtol=1e-5, atol=1e-5, err_msg=a.path)
    assert int(single.step) == 3 and int(single.initialized) == 1


def test_a_vqvae_trained_on_two_replicas_matches_one_device():
    strategy = _strategy()
    x = _images(16, seed=4)
    w = np.random.default_rng(1).uniform(0.5, 1.5, 16).astype("float32")
    w[[2, 11]] = 0.0
    settings = {**TINY, "dead_code_steps": 1, "seed": 7}
    single = kv.VQVAE(**settings)
    with strategy.scope():
        mirrored = kv.VQVAE(**settings)
    mirrored.set_weights(single.get_weights())
    for model in (single, mirrored):
        model.compile(optimizer=keras.optimizers.SGD(0.05))
        model.fit(x, sample_weight=w, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(single.weights, mirrored.weights):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-4, atol=1e-5, err_msg=a.path)
    for variable in mirrored.quantizer.weights:
        local = _local_values(variable)
        np.testing.assert_array_equal(local[0], local[1], err_msg=variable.path)
    assert _local_values(mirrored.quantizer.step) == [1, 1] and int(single.quantizer.unused_steps.numpy().max()) == 0


# ------------------------------------------------------------- standardization
def test_standardize_true_takes_and_returns_data_in_their_own_units(tmp_path):
    x = 100.0 + 40.0 * _images(64, seed=3)  # far from standardized
    keras.utils.set_random_seed(0)
    vq = kv.VQVAE(**TINY, standardize=True, seed=0)
    vq.compile(optimizer=keras.optimizers.Adam(1e-2))
    vq.fit(x, epochs=2, batch_size=32, verbose=0)
    assert vq.standardization.adapted
    reconstruction = vq.reconstruct(x)
    assert abs(float(reconstruction.mean()) - float(x.mean())) < 5.0  # back in the data's units
    np.testing.assert_allclose(vq.decode_codes(vq.codes(x)).numpy(), reconstruction, rtol=1e-5)
    np.testing.assert_allclose(vq.predict(x, verbose=0), reconstruction, rtol=1e-5)
    # The reported density is of the raw data: the same networks on standardized data,
    # minus sum_d log std_d.
    twin = kv.VQVAE(**TINY, seed=0)
    twin.compile(optimizer="adam")
    networks = [v for v in vq.weights if "standardization" not in v.path]
    assert len(networks) == len(twin.weights)
    for source, target in zip(networks, twin.weights):
        target.assign(source)
    raw = vq.evaluate(x, batch_size=64, verbose=0, return_dict=True)["reconstruction_loss"]
    standardized = np.asarray(vq.to_model_units(x))
    plain = twin.evaluate(standardized, batch_size=64, verbose=0, return_dict=True)["reconstruction_loss"]
    np.testing.assert_allclose(raw, plain + float(vq.standardization_log_scale()), rtol=1e-5)
    vq.save(tmp_path / "vq.keras")
    np.testing.assert_allclose(kv.load_model(tmp_path / "vq.keras").reconstruct(x), reconstruction, rtol=1e-6)
    # The SavedModel takes and returns data in their own units too.
    import tensorflow as tf

    served = tf.saved_model.load(vq.export(str(tmp_path / "serving")))
    codes = served.signatures["encode"](x=tf.constant(x))["codes"]
    np.testing.assert_array_equal(codes.numpy(), np.asarray(vq.codes(x)))
    np.testing.assert_allclose(served.signatures["reconstruct"](x=tf.constant(x))["reconstruction"].numpy(),
                               reconstruction, rtol=1e-5)
    np.testing.assert_allclose(served.signatures["decode"](codes=codes)["x_mean"].numpy(), reconstruction, rtol=1e-5)
    with pytest.raises(ValueError, match="real-valued likelihood"):
        kv.VQVAE(**TINY, likelihood="logistic_mixture", standardize=True)


def test_the_command_line_refuses_standardize_for_vqvae_before_training(tmp_path, monkeypatch, capsys):
    from keras_vae import cli

    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--model", "vqvae", "--standardize", "--likelihood", "gaussian", "--output", "run"]) == 2
    assert "--standardize does not apply to --model vqvae yet" in capsys.readouterr().err
    assert not (tmp_path / "run" / "model.keras").exists()


def test_a_vqvae_with_a_non_finite_weight_is_neither_saved_nor_exported(tmp_path):
    vq = kv.VQVAE(**TINY, seed=0)
    weight = vq.quantizer.weights[0]
    weight.assign(np.full(weight.shape, np.nan, np.float32))
    for export in (lambda: vq.export(str(tmp_path / "serving")),
                   lambda: vq.export(str(tmp_path / "litert"), format="litert"),
                   lambda: vq.save(tmp_path / "vq.keras")):
        with pytest.raises(ValueError, match="not finite"):
            export()
    assert not any(tmp_path.iterdir())

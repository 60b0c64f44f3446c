"""The semi-supervised M2 model (Kingma et al. 2014; issue 25)."""
import math

import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae.models.vae import VAE

K, DIM = 3, 6
CENTRES = np.random.default_rng(0).normal(0, 3.0, (K, DIM))


def blobs(n, seed, labeled_every=10):
    r = np.random.default_rng(seed)
    y = r.integers(0, K, n)
    x = (CENTRES[y] + r.normal(0, 0.7, (n, DIM))).astype("float32")
    partial = np.where(np.arange(n) % labeled_every == 0, y, -1)
    return x, y, partial


def small_m2(**kwargs):
    return kv.SemiSupervisedVAE(kv.encoders.MLPEncoder([32]), kv.decoders.MLPDecoder([32]), latent_dim=2,
                                num_classes=K, input_shape=(DIM,), likelihood="gaussian",
                                classifier_units=[32], seed=0, **kwargs)


def test_the_loss_is_kingmas_m2_for_labeled_and_unlabeled_examples():
    m2 = small_m2(alpha=0.5)
    x, y, _ = blobs(8, seed=1)
    partial = np.array([y[0], -1, y[2], -1, -1, y[5], -1, -1])
    batch = {"x": tf.constant(x), "condition": tf.constant(partial, tf.int32)}
    seed = tf.constant([3, 4], tf.int32)
    loss, values, _ = m2._batch_loss(batch, seed, None, training=False)
    # The same per-class negative ELBOs, recomputed through the VAE's own step (with
    # the K class blocks sharing their noise, as the model's step draws them).
    tiled = np.tile(x, (K, 1))
    classes = np.repeat(np.arange(K), 8).astype("int32")
    m2._noise_blocks = K
    per_class, _, _ = VAE._batch_loss(m2, {"x": tf.constant(tiled), "condition": tf.constant(classes)},
                                      seed, None, training=False)
    m2._noise_blocks = None
    neg_elbo = per_class.numpy().reshape(K, 8).T + math.log(K)  # L(x, y) with log p(y) = -log K
    q = tf.nn.softmax(m2.class_logits(tf.constant(x))).numpy()
    for i in range(8):
        if partial[i] >= 0:
            expected = neg_elbo[i, partial[i]] - 0.5 * math.log(q[i, partial[i]])
        else:
            expected = np.sum(q[i] * neg_elbo[i]) + np.sum(q[i] * np.log(q[i]))
        assert loss.numpy()[i] == pytest.approx(expected, rel=1e-5, abs=1e-5)
    assert np.all(values["classification_loss"].numpy()[partial < 0] == 0)


def test_the_unlabeled_loss_trains_the_classifier_toward_the_models_posterior():
    # Its gradient on the logits of q(y | x) (read on the last bias) is, in closed
    # form, q * (a - sum_y q a) with a = L(x, y) + log q(y | x): q is not stopped, the
    # entropy enters with its sign, and q's optimum is softmax(-L(x, .)).
    m2 = small_m2()
    x, _, _ = blobs(8, seed=7)
    batch = {"x": tf.constant(x), "condition": tf.constant(np.full(8, -1), tf.int32)}
    seed = tf.constant([5, 6], tf.int32)
    bias = m2.classifier.layers[-1].bias
    with tf.GradientTape() as tape:
        loss, _, _ = m2._batch_loss(batch, seed, None, training=False)
        mean = tf.reduce_mean(loss)
    gradient = tape.gradient(mean, bias).numpy()
    m2._noise_blocks = K
    per_class, _, _ = VAE._batch_loss(m2, {"x": tf.constant(np.tile(x, (K, 1))),
                                           "condition": tf.constant(np.repeat(np.arange(K), 8), tf.int32)},
                                      seed, None, training=False)
    m2._noise_blocks = None
    neg_elbo = per_class.numpy().reshape(K, 8).T + math.log(K)
    q = tf.nn.softmax(m2.class_logits(tf.constant(x))).numpy()
    a = neg_elbo + np.log(q)
    expected = np.mean(q * (a - np.sum(q * a, axis=1, keepdims=True)), axis=0)
    np.testing.assert_allclose(gradient, expected, rtol=1e-4, atol=1e-5)


def test_ten_percent_of_labels_train_a_classifier_and_class_conditional_samples(tmp_path):
    x, y, partial = blobs(600, seed=2)
    m2 = small_m2()
    m2.compile(optimizer="adam")
    history = m2.fit({"x": x, "label": partial}, epochs=40, batch_size=60, verbose=0).history
    assert np.all(np.isfinite(history["loss"])) and history["loss"][-1] < history["loss"][0]
    # fit reports the classifier's accuracy on the labeled examples of each batch.
    labeled = partial >= 0
    assert abs(history["accuracy"][-1] - np.mean(m2.classify(x[labeled]).argmax(-1) == y[labeled])) < 0.1
    x_test, y_test, partial_test = blobs(300, seed=3)
    accuracy = np.mean(m2.classify(x_test).argmax(-1) == y_test)
    assert accuracy > 0.9, accuracy
    # evaluate averages the classifier's metrics over the labeled rows only.
    scores = m2.evaluate(tf.data.Dataset.from_tensor_slices({"x": x_test, "label": partial_test}).batch(50),
                         verbose=0, return_dict=True)
    test_labeled = partial_test >= 0
    np.testing.assert_allclose(scores["accuracy"], np.mean(m2.classify(x_test[test_labeled]).argmax(-1) == y_test[test_labeled]),
                               atol=1e-6)
    with pytest.raises(ValueError, match="once"):
        m2.evaluate({"x": x_test, "label": partial_test, "condition": partial_test}, verbose=0)
    # The decoder uses the class: of the mean draws per class, centre k's nearest is
    # class k's. (The means are pulled toward the data's mean, and single draws need
    # not land at their centre: z carries class information too, M2's known weakness
    # for conditional generation.)
    means = m2.sample(300, condition=np.repeat(np.arange(K), 100), seed=0).numpy().reshape(K, 100, DIM).mean(1)
    nearest = np.argmin(((CENTRES[:, None] - means[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, np.arange(K))
    path = str(tmp_path / "m2.keras")
    m2.save(path)
    loaded = kv.load_model(path)
    assert isinstance(loaded, kv.SemiSupervisedVAE) and loaded.num_classes == K
    np.testing.assert_allclose(loaded.classify(x_test[:16]), m2.classify(x_test[:16]), rtol=1e-6)


@pytest.mark.parametrize("posterior", ["diagonal_gaussian", "full_gaussian", "iaf"])
def test_the_class_blocks_of_one_example_share_their_noise(posterior):
    # Same parameters in every block -> the same draws in every block; different
    # rows of a block draw differently.
    from keras_vae.models.semi_supervised import _block_shared_sample
    m2 = small_m2(posterior=posterior)
    x, _, _ = blobs(4, seed=5)
    params = m2._posterior_parameters(tf.constant(x), m2.condition_features(tf.zeros(4, tf.int32)), False)
    q = m2.posterior_layer.distribution(tf.tile(params, [K, 1]))
    z = _block_shared_sample(q, 2, K, tf.constant([7, 8], tf.int32)).numpy().reshape(2, K, 4, 2)
    for block in range(1, K):
        np.testing.assert_allclose(z[:, block], z[:, 0], rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(z[:, 0, 0] - z[:, 0, 1]) > 1e-4)
    assert np.all(np.isfinite(q.log_prob(z.reshape(2, K * 4, 2)).numpy()))


def test_shared_noise_keeps_each_elbo_and_removes_the_noise_of_its_differences_over_y():
    # What trains q(y | x) on an unlabeled example is L(x, y) - L(x, y') (the loss is
    # sum_y q(y|x) L(x, y) - H(q)). Drawn independently per class, that difference
    # carries the noise of two draws, which outweighed the class's effect on MNIST
    # (issue 25: M2 fell behind the classifier alone); with shared draws its spread
    # falls, and each L(x, y) keeps its mean.
    x, _, _ = blobs(16, seed=6)
    partial = np.full(16, -1)
    models = {shared: small_m2(shared_noise=shared) for shared in (True, False)}
    models[False].set_weights(models[True].get_weights())
    losses = {}
    for shared, m2 in models.items():
        draws = []
        for s in range(40):
            m2._noise_blocks = K if shared else None
            per_class, _, _ = VAE._batch_loss(m2, {"x": tf.constant(np.tile(x, (K, 1))),
                                                   "condition": tf.constant(np.repeat(np.arange(K), 16), tf.int32)},
                                              tf.constant([s, 1], tf.int32), None, training=False)
            m2._noise_blocks = None
            draws.append(per_class.numpy().reshape(K, 16))
        losses[shared] = np.stack(draws)  # [seeds, K, examples]
    spread = {shared: np.std(draws[:, 0] - draws[:, 1], axis=0).mean() for shared, draws in losses.items()}
    assert spread[True] < 0.5 * spread[False], spread
    # Unbiased: the mean over draws agrees within Monte Carlo error.
    diff = losses[True].mean(0) - losses[False].mean(0)
    error = np.sqrt((losses[True].var(0) + losses[False].var(0)) / 40)
    assert np.all(np.abs(diff) < 5 * error + 1e-6)
    with pytest.raises(ValueError, match="shared_noise"):
        small_m2(shared_noise="yes")


@pytest.mark.parametrize("labels, message", [
    (lambda y: np.where(y == 0, 5, y), r"label 5, outside \[0, 3\)"),
    (lambda y: np.full_like(y, -2), r"label -2, outside"),
])
def test_bad_labels_are_refused_before_any_state_changes(labels, message):
    x, y, _ = blobs(32, seed=4)
    m2 = small_m2()
    m2.compile(optimizer="adam")
    before = [np.asarray(w).copy() for w in m2.weights]
    with pytest.raises(ValueError, match=message):
        m2.fit({"x": x, "condition": labels(y)}, epochs=1, verbose=0)
    assert int(m2.optimizer.iterations.numpy()) == 0
    for a, b in zip(before, m2.weights):
        np.testing.assert_array_equal(a, np.asarray(b))
    with pytest.raises(ValueError, match="num_classes"):
        kv.SemiSupervisedVAE("mlp", "mlp", latent_dim=2, num_classes=1)


@pytest.mark.xla  # the default path (XLA on a CPU) for this family
def test_a_classifier_of_your_own_trains_saves_and_loads(tmp_path):
    """``classifier=`` takes any Keras model from the input to K logits; classify
    gives q(y | x) as probabilities; the model saves and loads with that classifier."""
    import keras

    net = keras.Sequential([keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(K)], name="my_net")
    m2 = small_m2(classifier=net)
    assert m2.classifier is net
    x, y, partial = blobs(120, seed=6)
    m2.compile(optimizer="adam")  # "auto", marked xla
    before = net.layers[0].kernel.numpy().copy()
    m2.fit({"x": x, "label": partial}, epochs=2, batch_size=40, verbose=0)
    assert m2.jit_compile is True
    assert not np.allclose(before, net.layers[0].kernel.numpy())  # q(y | x) is the given network, trained
    probabilities = m2.classify(x[:8])
    assert probabilities.shape == (8, K)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    path = str(tmp_path / "own.keras")
    m2.save(path)
    loaded = kv.load_model(path)
    assert loaded.classifier.name == "my_net" and len(loaded.classifier.layers) == 2
    np.testing.assert_allclose(loaded.classify(x[:8]), probabilities, rtol=1e-6)


@pytest.mark.parametrize("classifier, message", [
    ("mlp", "Keras layer or model"),
    (lambda: __import__("keras").layers.Dense(K + 1), r"\[batch, num_classes=3\] logits; it gave shape \(2, 4\)"),
])
def test_a_classifier_that_is_not_one_is_refused_when_the_model_is_built(classifier, message):
    with pytest.raises(ValueError, match=message):
        small_m2(classifier=classifier() if callable(classifier) else classifier)

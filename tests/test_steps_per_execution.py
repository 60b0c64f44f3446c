"""steps_per_execution="auto": several steps per call of the compiled function,
the same results, and every batch for a callback that acts on batches."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae import datasets
from keras_vae.models import _fused_steps, _steps_per_execution
from keras_vae.models._steps_per_execution import resolve

pytestmark = pytest.mark.xla  # "auto" chooses XLA here, as for users


DEFAULTS = (_steps_per_execution.AUTO_STEPS, _steps_per_execution.MIN_STEPS)


def _model():
    return kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(6,), likelihood="bernoulli", seed=3)


@pytest.fixture(autouse=True)
def _short_fits_count(monkeypatch):
    # These fits are short (fewer than MIN_STEPS steps): let "auto" act on them anyway,
    # with 4 steps per call (the same code as 32, quicker to trace).
    monkeypatch.setattr(_steps_per_execution, "MIN_STEPS", 0)
    monkeypatch.setattr(_steps_per_execution, "AUTO_STEPS", 4)


def _fit(x, steps_per_execution, **fit_kwargs):
    keras.utils.set_random_seed(0)
    vae = _model()
    if steps_per_execution is None:
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    else:
        vae.compile(optimizer=keras.optimizers.Adam(1e-2), steps_per_execution=steps_per_execution)
    history = vae.fit(x, epochs=2, verbose=0, shuffle=False, **fit_kwargs)
    return vae, history.history


# 4 steps per call. 40 examples: 5 batches of 8, so a call of 4 fused steps (one XLA
# loop) and one with a single batch, taken step by step; 28: 3 batches of 8 and one of
# 4, all present but of two sizes, which cannot fuse.
@pytest.mark.parametrize("pipeline, n", [("array", 40), ("dynamic_binarization", 28)])
def test_auto_gives_the_same_curve_as_one_step_per_call(pipeline, n):
    probs = np.random.default_rng(0).random((n, 6)).astype(np.float32)
    x = (probs > 0.5).astype(np.float32)
    if pipeline == "array":
        data, kwargs = (lambda: x), {"batch_size": 8}
    else:  # a fresh pipeline per fit: each pass over one draws new binarizations
        data, kwargs = (lambda: datasets.dynamic_binarization(probs, batch_size=8, seed=1)), {}
    one, curve_one = _fit(data(), 1, **kwargs)
    auto, curve_auto = _fit(data(), None, **kwargs)
    assert one.steps_per_execution == 1 and auto.steps_per_execution == _steps_per_execution.AUTO_STEPS
    assert int(auto.optimizer.iterations) == int(one.optimizer.iterations) == 2 * -(-n // 8)
    assert _fused_steps.can_fuse(auto) and not _fused_steps.can_fuse(one)
    for name in ("loss", "elbo", "kl"):
        np.testing.assert_allclose(curve_auto[name], curve_one[name], rtol=1e-5, atol=1e-5)
    for a, b in zip(auto.get_weights(), one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # evaluate and predict agree too (predict runs one batch per call under "auto").
    np.testing.assert_allclose(auto.evaluate(x, batch_size=8, verbose=0),
                               one.evaluate(x, batch_size=8, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(auto.predict(x[:20], batch_size=8, verbose=0),
                               one.predict(x[:20], batch_size=8, verbose=0), rtol=1e-5, atol=1e-6)


class _CentredPerBatch(kv.VAE):
    """A third-party model whose preparation acts on the batch as a whole."""

    def prepare_inputs(self, inputs):
        x = super().prepare_inputs(inputs)
        return x - tf.reduce_mean(x, axis=0) + 0.5


class _CentredPerBatchX(kv.VAE):
    def prepare(self, x):
        x = super().prepare(x)
        return x - tf.reduce_mean(x, axis=0) + 0.5


@pytest.mark.parametrize("cls", [_CentredPerBatch, _CentredPerBatchX])
def test_a_model_that_prepares_its_batches_its_own_way_sees_them_one_by_one(cls):
    # The fused call prepares its batches concatenated; an override that acts on a
    # batch as a whole would see another batch than it asked for, so it is not fused.
    x = (np.random.default_rng(0).random((40, 6)) > 0.5).astype(np.float32)
    curves, weights = [], []
    for steps in (1, 4):
        keras.utils.set_random_seed(0)
        vae = cls("mlp", "mlp", latent_dim=2, input_shape=(6,), likelihood="bernoulli", seed=3)
        vae.compile(optimizer=keras.optimizers.Adam(1e-2), steps_per_execution=steps)
        assert not _fused_steps.can_fuse(vae)
        curves.append(vae.fit(x, batch_size=8, epochs=2, verbose=0, shuffle=False).history["loss"])
        weights.append(vae.get_weights())
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-5)
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert _fused_steps.can_fuse(_fit(x, 4, batch_size=8)[0])  # our own VAE fuses


class _CountBatches(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.seen = getattr(self, "seen", []) + [batch]


def test_a_batch_level_callback_sees_every_batch(tmp_path):
    x = np.random.default_rng(1).integers(0, 2, (64, 6)).astype(np.float32)
    counter = _CountBatches()
    vae, _ = _fit(x, None, batch_size=8, callbacks=[counter])
    assert vae.steps_per_execution == 1
    assert counter.seen == list(range(8)) * 2
    # Per-epoch callbacks, and those that count steps right under several steps per
    # call, keep "auto"; any other batch-level one (TerminateOnNaN reads every
    # batch's loss) gets one step per call.
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), save_freq=3)
    for callbacks, steps in (
        ([keras.callbacks.EarlyStopping("loss"), keras.callbacks.History(), backup], _steps_per_execution.AUTO_STEPS),
        ([keras.callbacks.ProgbarLogger(), keras.callbacks.TerminateOnNaN()], 1),
        ([], _steps_per_execution.AUTO_STEPS),
    ):
        assert resolve(vae, "auto", callbacks) == steps
    assert resolve(vae, 5, [counter]) == 5


def test_auto_means_32_steps_per_call_in_a_long_fit():
    # The module's fixture sets 4 for speed; the documented defaults, read at import:
    assert DEFAULTS == (32, 1024)


def test_a_bad_steps_per_execution_is_refused_before_compiling():
    vae = _model()
    for bad in (0, -2, 1.5, True, "fast"):
        with pytest.raises(ValueError, match="steps_per_execution"):
            vae.compile(steps_per_execution=bad)
        assert not vae.compiled


def test_the_request_is_saved(tmp_path):
    x = np.random.default_rng(2).integers(0, 2, (32, 6)).astype(np.float32)
    vae, _ = _fit(x, None, batch_size=8)
    vae.save(tmp_path / "m.keras")
    loaded = kv.load_model(tmp_path / "m.keras")
    assert loaded.steps_per_execution_request == "auto"
    vae.compile(optimizer="adam", steps_per_execution=4)
    vae.save(tmp_path / "n.keras")
    loaded = kv.load_model(tmp_path / "n.keras")
    assert loaded.steps_per_execution == loaded.steps_per_execution_request == 4


def test_auto_runs_one_step_per_call_in_a_short_fit(monkeypatch):
    from keras_vae.models._steps_per_execution import planned_steps

    monkeypatch.setattr(_steps_per_execution, "MIN_STEPS", 256)
    MIN_STEPS = 256
    vae = _model()
    assert planned_steps(np.zeros((100, 6)), 8, None, 3) == 13 * 3
    assert planned_steps({"x": np.zeros((100, 6))}, None, None, 2, initial_epoch=1) == 4
    assert planned_steps(datasets.dynamic_binarization(np.zeros((64, 6)), batch_size=8), epochs=2) == 16
    assert planned_steps(iter([]), steps_per_epoch=7, epochs=2) == 14
    assert planned_steps(iter([])) is None
    assert resolve(vae, "auto", [], steps=MIN_STEPS - 1) == 1
    assert resolve(vae, "auto", [], steps=MIN_STEPS) == resolve(vae, "auto", [], steps=None) == _steps_per_execution.AUTO_STEPS


def test_the_steps_that_cannot_fuse_share_one_call_of_the_single_step():
    # Tracing one single-step call per step (and per branch) made the 32-step function
    # ~10 s slower to build than it needed (benchmarks/steps_threshold.py): the
    # one-by-one fallback must call the step from one site inside a loop.
    vae, _ = _fit(np.random.default_rng(3).integers(0, 2, (40, 6)).astype(np.float32), None, batch_size=8)
    function = _fused_steps.fused_train_function(vae, None)
    iterator = iter(tf.data.Dataset.from_tensor_slices(np.zeros((16, 6), "float32")).batch(8))
    graph = function.fused.get_concrete_function(iterator).graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    calls = [n.attr["f"].func.name for n in nodes if n.op in ("StatefulPartitionedCall", "PartitionedCall")]
    single = [name for name in calls if name.startswith("__inference__update")]
    fused_loop = [name for name in calls if name.startswith("__inference_updates")]
    assert len(single) == 1 and len(fused_loop) == 1, calls


@pytest.mark.parametrize("bad_batch, steps_done", [(2, 0), (4, 4)])
def test_a_bad_batch_stops_the_call_before_its_first_step(bad_batch, steps_done):
    # All of a call's batches are checked before any of its steps runs: a NaN in the
    # third batch (the fused call of 4) leaves the weights as they were; one in the
    # fifth (a call of one batch, step by step) keeps the first call's 4 steps.
    x = np.random.default_rng(4).integers(0, 2, (40, 6)).astype(np.float32)
    x[bad_batch * 8 + 1, 2] = np.nan
    keras.utils.set_random_seed(0)
    vae = _model()
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    vae.build((None, 6))
    before = [w.copy() for w in vae.get_weights()]
    with pytest.raises(tf.errors.InvalidArgumentError, match="keras_vae: the batch contains NaN"):
        vae.fit(tf.data.Dataset.from_tensor_slices(x).batch(8), epochs=1, verbose=0)
    assert vae.steps_per_execution == _steps_per_execution.AUTO_STEPS
    assert int(vae.optimizer.iterations) == steps_done
    if steps_done == 0:
        for a, b in zip(vae.get_weights(), before):
            np.testing.assert_array_equal(a, b)

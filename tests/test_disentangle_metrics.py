"""The disentanglement metrics against disentanglement_lib: the known answers of its
own *_test.py files (same data, same settings) and its vendored code run beside ours
on the same samples (tests/disentanglement_lib_reference.py)."""
import numpy as np
import pytest

pytest.importorskip("sklearn")  # an optional extra; CI installs it with ".[dev]"

import keras_vae as kv  # noqa: E402
import disentanglement_lib_reference as ref  # noqa: E402
from keras_vae.evaluation import disentanglement as dis  # noqa: E402


def identity(x):
    return np.array(x, dtype=np.float64)


def duplicated(x):
    x = np.array(x, dtype=np.float64)
    return np.hstack([x, x])


def permuting(seed=0):
    """disentanglement_lib's 'bad' code: each code's values permuted across the batch."""
    state = np.random.RandomState(seed)

    def fn(x):
        code = np.array(x, dtype=np.float64)
        for i in range(code.shape[0]):
            code[i, :] = state.permutation(code[i, :])
        return code
    return fn


DATA = ref.IdentityObservationsData()


# ------------------------------------------------ mig_test.py (histogram bins
# give the identity discretiser's bins on these 10-valued factors)
def test_mig_identity_near_one():
    assert 0.9 <= dis.mig(identity, DATA, num_train=3000)["discrete_mig"] <= 1.0


def test_mig_zero_code_low():
    assert 0.0 <= dis.mig(np.zeros_like, DATA, num_train=3000)["discrete_mig"] <= 0.2


def test_mig_duplicated_code_low():
    assert 0.0 <= dis.mig(duplicated, DATA, num_train=3000)["discrete_mig"] <= 0.1


# ------------------------------------------------------------- sap_score_test.py
def test_sap_identity_near_one_zero_and_duplicated_low():
    kwargs = dict(num_train=3000, num_test=3000, continuous_factors=True)
    assert 0.9 <= dis.sap(identity, DATA, **kwargs)["SAP_score"] <= 1.0
    assert 0.0 <= dis.sap(lambda x: np.zeros_like(x, dtype=np.float64), DATA, **kwargs)["SAP_score"] <= 0.2
    assert 0.0 <= dis.sap(duplicated, DATA, **kwargs)["SAP_score"] <= 0.2


# ------------------------------------------------------------ factor_vae_test.py
def test_factor_vae_score_identity_and_zero():
    kwargs = dict(batch_size=5, num_train=3000, num_eval=2000, num_variance_estimate=2500, prune_threshold=0.0)
    good = dis.factor_vae_score(identity, DATA, **kwargs)
    assert 0.9 <= good["train_accuracy"] <= 1.0 and 0.9 <= good["eval_accuracy"] <= 1.0
    bad = dis.factor_vae_score(np.zeros_like, DATA, **kwargs)
    assert 0.0 <= bad["train_accuracy"] <= 0.2 and 0.0 <= bad["eval_accuracy"] <= 0.2


# -------------------------------------------------------------- beta_vae_test.py
def test_beta_vae_score_identity():
    scores = dis.beta_vae_score(identity, DATA, batch_size=5, num_train=2000, num_eval=2000)
    assert 0.9 <= scores["train_accuracy"] <= 1.0 and 0.9 <= scores["eval_accuracy"] <= 1.0


# ------------------------------------------------------------------- dci_test.py
EYE = np.diag(5.0 * np.ones(5))
IMPORTANCE_CASES = [  # (matrix, disentanglement, completeness) from dci_test.py
    (EYE, 1.0, 1.0),
    (np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), 1.0, 1.0),
    (np.zeros((10, 10)), 0.0, 0.0),
    (np.vstack([EYE, EYE]), 1.0, 1.0 - np.log(2) / np.log(10)),
    (EYE[:2, :], 1.0, 1.0),
    (np.hstack([EYE, EYE]), 1.0 - np.log(2) / np.log(10), 1.0),
]


@pytest.mark.parametrize("matrix,d,c", IMPORTANCE_CASES)
def test_dci_importance_matrix_cases(matrix, d, c):
    np.testing.assert_allclose(dis.disentanglement(matrix), d, atol=1e-7)
    np.testing.assert_allclose(dis.completeness(matrix), c, atol=1e-7)
    np.testing.assert_allclose(dis.disentanglement(matrix), ref.disentanglement(matrix), atol=1e-12)
    np.testing.assert_allclose(dis.completeness(matrix), ref.completeness(matrix), atol=1e-12)


def test_dci_identity_and_duplicated_code():
    # dci_test.py's settings (1000 / 1000 points) on 5 identity factors (10 would
    # take a minute of boosted trees): then 2 x 5 codes, and the duplicated code's
    # completeness is exactly dci_test.py's target 1 - ln 2 / ln 10.
    data = ref.IdentityObservationsData(num_factors=5)
    good = dis.dci(identity, data, num_train=1000, num_test=1000)
    assert 0.9 <= good["disentanglement"] <= 1.0 and 0.9 <= good["completeness"] <= 1.0
    twice = dis.dci(duplicated, data, num_train=1000, num_test=1000)
    assert 0.9 <= twice["disentanglement"] <= 1.0
    target = 1.0 - np.log(2) / np.log(10)
    assert target - 0.1 <= twice["completeness"] <= target + 0.1


# ------------------------------------------------- modularity_explicitness_test.py
MODULARITY_CASES = [
    (EYE, 1.0),
    (np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), 2.0 / 3.0),
    (np.zeros((10, 10)), 0.0),
    (np.vstack([EYE, EYE]), 1.0),
    (EYE[:2, :], 1.0),
    (np.hstack([EYE, EYE]), 1.0 - 1.0 / 9),
]


@pytest.mark.parametrize("matrix,expected", MODULARITY_CASES)
def test_modularity_cases(matrix, expected):
    np.testing.assert_allclose(dis.modularity(matrix), expected)


def test_modularity_identity_and_duplicated_high():
    # modularity_explicitness_test.py uses 10 factors and 3000 / 3000 points; the
    # explicitness's logistic regressions make that minutes here, so 5 factors and
    # 1000 / 1000 points (the modularity is near 1 for these codes at any size).
    data = ref.IdentityObservationsData(num_factors=5)
    good = dis.modularity_explicitness(identity, data, num_train=1000, num_test=1000)
    assert 0.9 <= good["modularity_score"] <= 1.0
    assert 0.9 <= good["explicitness_score_test"] <= 1.0
    assert 0.9 <= dis.modularity_explicitness(duplicated, data, num_train=1000, num_test=1000)["modularity_score"] <= 1.0


# --------------------------------------------- beside disentanglement_lib's code
def _projection():
    """A fixed nonlinear code of dSprites-like images: neither ideal nor useless."""
    weights = np.random.RandomState(3).normal(size=(32 * 32, 4)) / 32.0
    return lambda x: np.tanh(np.asarray(x, np.float64).reshape(len(x), -1) @ weights)


def test_metrics_equal_disentanglement_lib_on_the_same_samples():
    data, fn = kv.datasets.DSprites.small(), _projection()
    rs = np.random.RandomState
    pairs = [
        (dis.mig(fn, data, num_train=600, seed=rs(0)), ref.compute_mig(data, fn, rs(0), 600)),
        (dis.sap(fn, data, num_train=400, num_test=200, seed=rs(0)), ref.compute_sap(data, fn, rs(0), 400, 200)),
        (dis.factor_vae_score(fn, data, num_train=60, num_eval=40, num_variance_estimate=300, batch_size=16, seed=rs(0)),
         ref.compute_factor_vae(data, fn, rs(0), 16, 60, 40, 300)),
        (dis.beta_vae_score(fn, data, num_train=60, num_eval=30, batch_size=16, seed=rs(0)),
         ref.compute_beta_vae_sklearn(data, fn, rs(0), 16, 60, 30)),
        (dis.modularity_explicitness(fn, data, num_train=400, num_test=200, seed=rs(0)),
         ref.compute_modularity_explicitness(data, fn, rs(0), 400, 200)),
    ]
    for ours, theirs in pairs:
        assert sorted(ours) == sorted(theirs)
        for key in ours:
            # Same samples, same estimators: equal up to floating-point summation order.
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_disentanglement_metrics_dict_and_a_model():
    data = kv.datasets.DSprites.small()
    vae = kv.VAE(kv.encoders.MLPEncoder([8]), kv.decoders.MLPDecoder([8]), latent_dim=3,
                 input_shape=tuple(data.observation_shape), seed=0)
    scores = kv.evaluation.disentanglement_metrics(
        vae, data, metrics=["mig", "sap", "factor_vae_score", "beta_vae_score", "modularity"],
        num_train=100, num_test=50)
    assert sorted(scores) == ["beta_vae_score", "factor_vae_score", "mig", "modularity", "sap"]
    codes = np.asarray(vae.encode(data.sample_observations(4, 0)))
    assert codes.shape == (4, 3)
    for values in scores.values():
        assert all(np.isfinite(v) for v in values.values())


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="metrics must be names"):
        kv.evaluation.disentanglement_metrics(identity, DATA, metrics=["nope"])
    with pytest.raises(ValueError, match="ground-truth-data protocol"):
        dis.mig(identity, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="num_train"):
        dis.mig(identity, DATA, num_train=0)
    with pytest.raises(ValueError, match="encode"):
        dis.mig(42, DATA, num_train=10)


def test_callback_logs_the_metrics_every_n_epochs():
    data = kv.datasets.DSprites.small()
    callback = dis.DisentanglementCallback(data, metrics=["mig"], every=2, num_train=200)
    vae = kv.VAE(kv.encoders.MLPEncoder([8]), kv.decoders.MLPDecoder([8]), latent_dim=3,
                 input_shape=(32, 32, 1), seed=0)
    vae.compile(optimizer="adam", jit_compile=False)
    x, _ = data.load(64, seed=0)
    history = vae.fit(x, epochs=2, batch_size=32, verbose=0, callbacks=[callback])
    assert [epoch for epoch, _ in callback.scores] == [1]
    assert np.isfinite(history.history["mig/discrete_mig"][-1])
    with pytest.raises(ValueError, match="every"):
        dis.DisentanglementCallback(data, every=0)


def test_cli_prints_the_table_and_draws_the_traversal(tmp_path, capsys):
    from keras_vae.cli import main

    data = kv.datasets.DSprites.small()
    vae = kv.VAE(kv.encoders.MLPEncoder([8]), kv.decoders.MLPDecoder([8]), latent_dim=3,
                 input_shape=(32, 32, 1), seed=0)
    model = str(tmp_path / "m.keras")
    vae.save(model)
    picture, scores = str(tmp_path / "t.png"), str(tmp_path / "s.json")
    status = main(["disentanglement", model, "--data", "dsprites_small", "--metrics", "mig,sap",
                   "--num-train", "200", "--num-test", "100", "--traversal", picture, "--json", scores])
    out = capsys.readouterr().out
    assert status == 0 and "mig.discrete_mig" in out and "sap.SAP_score" in out
    assert (tmp_path / "t.png").stat().st_size > 0 and (tmp_path / "s.json").exists()
    assert main(["disentanglement", model, "--data", "dsprites", "--metrics", "mig"]) != 0  # wrong shape
    assert main(["disentanglement", model, "--data", "dsprites_small", "--metrics", "nope"]) != 0

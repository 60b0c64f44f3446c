"""Small builders shared by the tests (the plugin-author helpers live in
keras_vae.testing)."""
import itertools
import math

import keras
import numpy as np

import keras_vae as kv
from keras_vae.testing import example_data, small_vae  # noqa: F401  (re-exported)

IMAGE_SHAPE = (8, 8, 1)

ENCODERS = {
    "mlp": {"name": "mlp", "hidden_units": [16]},
    "conv": {"name": "conv", "filters": [4, 8]},
}
DECODERS = {
    "mlp": {"name": "mlp", "hidden_units": [16]},
    "conv": {"name": "conv", "filters": [8, 4]},
}
LIKELIHOODS = {
    "bernoulli": "bernoulli",
    "gaussian_fixed": {"name": "gaussian", "scale": 0.5},
    "gaussian_shared": {"name": "gaussian", "scale": "shared"},
    "gaussian_per_feature": {"name": "gaussian", "scale": "per_feature"},
    "gaussian_predicted": {"name": "gaussian", "scale": "predicted"},
}

# Every built-in (encoder, decoder, likelihood) combination, by key.
COMBINATIONS = list(itertools.product(sorted(ENCODERS), sorted(DECODERS), sorted(LIKELIHOODS)))


def combination_vae(encoder: str, decoder: str, likelihood: str, latent_dim: int = 2) -> kv.VAE:
    return kv.VAE(
        encoder=ENCODERS[encoder],
        decoder=DECODERS[decoder],
        likelihood=LIKELIHOODS[likelihood],
        latent_dim=latent_dim,
        input_shape=IMAGE_SHAPE,
        seed=7,
    )


# -- the linear-Gaussian model: z ~ N(0, I), x = W z + b + eps, eps ~ N(0, sigma^2 I),
# whose log p(x) = log N(x; b, W W^T + sigma^2 I) is closed-form.
LINEAR_SIGMA = 0.6


def _softplus_inverse(y):
    return np.log(np.expm1(y))


def exact_posterior(W, sigma=LINEAR_SIGMA):
    latent = W.shape[1]
    cov = np.linalg.inv(np.eye(latent) + W.T @ W / sigma**2)
    return cov @ W.T / sigma**2, cov


def linear_gaussian_vae(W, b, sigma=LINEAR_SIGMA, A=None, c=None, scales=None):
    """A VAE computing p(x|z) = N(Wz + b, sigma^2 I) and q(z|x) = N(A x + c, diag(scales^2)).

    Defaults: the exact posterior mean and the exact marginal posterior scales
    (sqrt(diag Sigma)), which is the exact posterior when W^T W is diagonal.
    """
    dim, latent = W.shape
    A_exact, cov = exact_posterior(W, sigma)
    A = A_exact if A is None else np.asarray(A)
    c = -A @ b if c is None else np.asarray(c)
    scales = np.sqrt(np.diag(cov)) if scales is None else np.asarray(scales)
    posterior = kv.posteriors.DiagonalGaussianPosterior(min_scale=1e-6)
    vae = kv.VAE(
        encoder=kv.encoders.MLPEncoder([]),
        decoder=keras.layers.Identity(),
        latent_dim=latent,
        input_shape=(dim,),
        posterior=posterior,
        likelihood=kv.likelihoods.Gaussian(scale=sigma),
        seed=0,
    )
    vae.likelihood_layer.projection.set_weights([W.T.astype("float32"), b.astype("float32")])
    kernel = np.concatenate([A.T, np.zeros((dim, latent))], axis=1)
    bias = np.concatenate([c, _softplus_inverse(scales - 1e-6)])
    vae.posterior_layer.projection.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return vae


def log_marginal(x, W, b, sigma=LINEAR_SIGMA):
    """Closed-form log N(x; b, W W^T + sigma^2 I), float64."""
    cov = W @ W.T + sigma**2 * np.eye(len(b))
    d = x - b
    maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    return -0.5 * (maha + np.linalg.slogdet(2 * np.pi * cov)[1])


def sample_conditional_linear(n, seed, W, V, b, sigma=LINEAR_SIGMA):
    """``(x, c)`` from z ~ N(0, I), c uniform over V's columns, x = W z + V onehot(c) + b + sigma eps."""
    r = np.random.default_rng(seed)
    c = r.integers(0, V.shape[1], n)
    z = r.standard_normal((n, W.shape[1]))
    x = z @ W.T + V[:, c].T + b + sigma * r.standard_normal((n, W.shape[0]))
    return x.astype("float32"), c


def log_marginal_given_c(x, c, W, V, b, sigma=LINEAR_SIGMA):
    """log p(x | c) = log N(x; V onehot(c) + b, W W^T + sigma^2 I): the unconditional
    formula shifted by V c."""
    return log_marginal(x - V[:, c].T, W, b, sigma)


def analytic_elbo(x, W, b, A, c, scales, sigma=LINEAR_SIGMA):
    """E_q[log p(x|z)] + E_q[log p(z)] + H[q] for the linear-Gaussian model, float64."""
    mu = x @ A.T + c
    resid = x - mu @ W.T - b
    dim, latent = W.shape
    expected_lik = (
        -0.5 * (np.sum(resid**2, 1) + np.sum((W * scales) ** 2)) / sigma**2
        - 0.5 * dim * math.log(2 * math.pi * sigma**2)
    )
    expected_prior = -0.5 * (np.sum(mu**2, 1) + np.sum(scales**2)) - 0.5 * latent * math.log(2 * math.pi)
    entropy = np.sum(np.log(scales)) + 0.5 * latent * (1 + math.log(2 * math.pi))
    return expected_lik + expected_prior + entropy


def sample_data(W, b, n, seed=0, sigma=LINEAR_SIGMA):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, W.shape[1]))
    return (z @ W.T + b + sigma * rng.standard_normal((n, len(b)))).astype("float32")


def run_hierarchical_runtime(runtime, files, x, z):
    """Run a hierarchical VAE's exported ``encode`` / ``decode`` artifacts (``files`` from
    ``h.export(path, format=runtime)``) on ``x`` and ``z``: ``({"z_g_mean": ...}, x_mean)``."""
    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter

        encode = Interpreter(model_path=files["encode"]).get_signature_runner()(x=x)
        decode = Interpreter(model_path=files["decode"]).get_signature_runner()(z=z)
        return encode, decode["x_mean"]
    import onnxruntime

    session = onnxruntime.InferenceSession(files["encode"])
    encode = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": x})))
    decode = onnxruntime.InferenceSession(files["decode"]).run(["x_mean"], {"z": z})[0]
    return encode, decode


def assert_runtime_matches(model, runtime, files, rng, atol=1e-5):
    """The artifacts' every-group means and x_mean equal ``model.encode`` / ``decode``
    within ``atol``, at batch 3 and 1 (the batch dimension stays dynamic). ``decode``
    takes ``model.decode_width`` values: z_1, or every group for the conv hierarchy."""
    for batch in (3, 1):
        x = rng.integers(0, 2, (batch, *model.data_shape)).astype("float32")
        means = [np.asarray(m) for m in model.encode(x)]
        z = np.concatenate(means, axis=-1)[:, : model.decode_width]  # z_1 first
        encode, x_mean = run_hierarchical_runtime(runtime, files, x, z)
        assert sorted(encode) == sorted(f"z_{g + 1}_mean" for g in range(len(means)))
        for g, mean in enumerate(means):
            np.testing.assert_allclose(encode[f"z_{g + 1}_mean"], mean, rtol=1e-5, atol=atol)
        np.testing.assert_allclose(x_mean, model.decode(z).numpy(), rtol=1e-5, atol=atol)


def hierarchical_score(model, x, num_samples: int) -> np.ndarray:
    """What a hierarchical model's served ``score`` returns: log-mean-exp of the
    importance weights of ``num_samples`` draws of q seeded as the export seeds them."""
    import tensorflow as tf

    from keras_vae import _seeds

    q = model.posterior(x)
    z = q.sample(num_samples, seed=tf.constant([model.seed, _seeds.LOG_LIKELIHOOD], tf.int32))
    log_px_z, log_pz = model.joint_log_prob(model.prepare(x), z)
    return (tf.reduce_logsumexp(log_px_z + log_pz - q.log_prob(z), axis=0) - np.log(float(num_samples))).numpy()


def load_benchmark(name: str, monkeypatch):
    """``benchmarks/NAME.py`` as a module (its ``_common`` helper on the path)."""
    import importlib.util
    import pathlib

    folder = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""The hierarchical VAE: a stack of latent groups z_1 (next to the data) .. z_L (top).

The class lives here; its concerns live in ``_hierarchy/``: ``args.py`` (argument
checks), ``chain.py`` (the ancestral distribution over the concatenated groups),
``networks.py`` (the prior chain and each inference scheme's chain), ``merge.py`` (the
ladder's precision weighting), ``residual.py`` (NVAE's residual normal posterior),
``conv_*.py`` (the conv hierarchy: arguments, cells, encoder, heads, top-down path,
chains), ``terms.py`` (the objective's terms per group, the KL metrics), ``latent_paths.py``
(traversal / interpolation at a group), ``diagnostics.py`` (KL per dimension, active
units per group) and ``gaps.py`` (the inference gaps).
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_vae import _seeds, registry
from keras_vae.encoders.mlp_encoder import MLPEncoder
from keras_vae.models._hierarchy.args import (
    check_hidden,
    check_inference,
    check_latent_dims,
    check_soft_clamp,
    check_top_prior,
    default_hidden,
)
from keras_vae.models._hierarchy.chain import GroupChain
from keras_vae.models._hierarchy.conv_args import check_architecture, check_conv
from keras_vae.models._hierarchy.conv_encoder import ConvBottomUp
from keras_vae.models._hierarchy.conv_heads import ConvResidualHead
from keras_vae.models._hierarchy.conv_networks import ConvHierarchyNetworks
from keras_vae.models._hierarchy.conv_top_down import ConvTopDown
from keras_vae.models._hierarchy.diagnostics import HierarchyDiagnostics
from keras_vae.models._hierarchy.gaps import HierarchyGaps
from keras_vae.models._hierarchy.latent_paths import HierarchyLatentPaths
from keras_vae.models._hierarchy.networks import HierarchyNetworks
from keras_vae.models._hierarchy.residual import ResidualGaussianHead
from keras_vae.models._hierarchy.terms import HierarchyTerms
from keras_vae.models.base import LatentVariableModel
from keras_vae.objectives import KL_METHODS
from keras_vae.posteriors.diagonal_gaussian import DiagonalGaussianPosterior


@registry.register("model", "hierarchical")
class HierarchicalVAE(ConvHierarchyNetworks, HierarchyNetworks, HierarchyTerms, HierarchyLatentPaths,
                      HierarchyDiagnostics, HierarchyGaps, LatentVariableModel):
    """A VAE with several stochastic layers, z_1 next to the data and z_L at the top.

    Generative model ``p(z_L) prod_l p(z_l | z_{l+1}) p(x | z_1)``: the top prior is
    any registered prior; each conditional p(z_l | z_{l+1}) is a diagonal Gaussian
    head on an MLP body; p(x | z_1) is the likelihood head on an MLP body. The
    inference (``inference=``):

    - ``"bottom_up"``: q(z_1 | x) q(z_2 | z_1) ... q(z_L | z_{L-1}) (Burda et al. 2015;
      the defaults are their two-layer MNIST model: latents (100, 50), q hidden
      [[200, 200], [100, 100]], p hidden [[100, 100], [200, 200]], tanh).
    - ``"ladder"``: a deterministic bottom-up pass d_l = f_l(d_{l-1}) giving a
      Gaussian N(mu^_l, s^_l) per group, then a top-down pass that draws z_L from
      N(mu^_L, s^_L) and each lower group from the precision-weighted merge of
      N(mu^_l, s^_l) with the top-down prior p(z_l | z_{l+1}) (Sønderby et al. 2016).
      The top-down nets are shared by the generative model and the inference.
    - ``"residual"``: the same bottom-up pass, each d_l giving (dmu_l, dsigma_l)
      (soft-clamped, ``soft_clamp``), and q(z_l | z_{l+1}, x) =
      N(mu_p + dmu_l, sigma_p * dsigma_l) relative to the top-down prior
      p(z_l | z_{l+1}) = N(mu_p, sigma_p); the top group is N(dmu_L, dsigma_L),
      relative to N(0, I) (NVAE's residual normal posterior, Vahdat & Kautz 2020, on
      MLP bodies; ``architecture="conv"``: on NVAE's top-down conv hierarchy, below).

    ``architecture="conv"`` (with ``inference="residual"``, images only) is a small
    NVAE: ``scales`` resolutions (the image halved 1, 2, ... times), ``groups_per_scale``
    groups each, every group a ``h x w x c`` map flattened to its size in
    ``latent_dims`` (``None``: 2 channels per group; 28 x 28 with 2 scales x 2 groups:
    (392, 392, 98, 98)). A conv encoder gives bottom-up features per scale, each group's
    (dmu, dsigma) a 3 x 3 convolution of its scale's features; the top-down path starts
    from a learned tensor ``h0``, merges each drawn group into a deterministic state
    (conv cells, upsampling between scales), and reads each prior p(z_l | z_{>l}) off
    that state; p(x | z) reads the state after z_1, so it depends on every group
    (``decode`` takes the concatenated latent). See ``_hierarchy/conv_top_down.py``.

    Every group's KL and log-density is taken against its top-down prior
    p(z_l | z_{l+1}) at the sampled parent (``GroupTerms``), so ``"elbo"`` (β, free
    bits per group: ``free_bits_mode="per_group"``), ``"iwae"`` and DReG work
    unchanged, and ``fit`` reports ``kl_1`` .. ``kl_L`` beside the objective's
    metrics. The tools see one flat latent, the concatenation [z_1, ..., z_L]
    (``posterior``, ``prior``, ``joint_log_prob``, ``latent_dim`` = its size).

    Args:
        latent_dims: the size of each group, z_1 first, e.g. ``(100, 50)`` (``None``:
            ``(100, 50)``; conv: 2 channels per group).
        input_shape: shape of one example (builds the model at once), or ``None``.
        inference: ``"bottom_up"``, ``"ladder"`` or ``"residual"``.
        q_hidden: hidden sizes of each inference body, bottom-up (one list per
            group; ``[]`` for none). Default: Burda's.
        p_hidden: hidden sizes of each generative body, top-down: p(z_{L-1} | z_L)
            first, p(x | z_1) last. Default: Burda's.
        activation: activation of every hidden layer (``"tanh"``).
        likelihood: the likelihood head (default ``"bernoulli"``).
        prior: the top prior p(z_L) (default ``"standard_normal"``; any registered
            prior; the VampPrior needs ``inference="ladder"`` or ``"residual"``,
            where q(z_L | x) is a Gaussian of x alone).
        min_scale: lower bound on every Gaussian head's scale.
        soft_clamp: the residual posterior's bound on dmu and log dsigma
            (``c tanh(v / c)``, NVAE's 5; ``None``: unbounded). Residual only.
        architecture: ``"mlp"`` (MLP bodies, every scheme) or ``"conv"`` (the conv
            hierarchy above; ``inference="residual"``; ``q_hidden`` / ``p_hidden`` and
            ``activation`` do not apply).
        scales, groups_per_scale, channels: the conv hierarchy's resolutions, groups
            per resolution and feature channels (``architecture="conv"`` only).
        kl, beta, objective, seed, validate_inputs, name: as for :class:`VAE`.

    Example:
        >>> import numpy as np, keras_vae as kv
        >>> h = kv.HierarchicalVAE(latent_dims=(4, 2), input_shape=(8,), seed=0,
        ...                        q_hidden=[[16], [8]], p_hidden=[[8], [16]])
        >>> h.compile(optimizer="adam")
        >>> x = np.random.default_rng(0).integers(0, 2, (32, 8)).astype("float32")
        >>> sorted(h.fit(x, epochs=1, batch_size=16, verbose=0).history)
        ['elbo', 'kl', 'kl_1', 'kl_2', 'loss', 'reconstruction_loss']
        >>> [tuple(z.shape) for z in h.encode(x[:3])]
        [(3, 4), (3, 2)]
        >>> c = kv.HierarchicalVAE(input_shape=(8, 8, 1), inference="residual", seed=0,
        ...                        architecture="conv", scales=2, groups_per_scale=1, channels=4)
        >>> c.latent_dims, [tuple(z.shape) for z in c.encode(np.zeros((2, 8, 8, 1), "float32"))]
        ([32, 8], [(2, 32), (2, 8)])
    """

    def __init__(
        self,
        latent_dims: Sequence[int] | None = None,
        input_shape: Sequence[int] | None = None,
        inference: str = "bottom_up",
        q_hidden: Sequence[Sequence[int]] | None = None,
        p_hidden: Sequence[Sequence[int]] | None = None,
        activation: str = "tanh",
        likelihood: Any = "bernoulli",
        prior: Any = "standard_normal",
        min_scale: float = 1e-4,
        soft_clamp: float | None = 5.0,
        beta: float = 1.0,
        kl: str = "auto",
        objective: Any = None,
        seed: int | None = None,
        validate_inputs: bool = True,
        name: str = "hierarchical_vae",
        architecture: str = "mlp",
        scales: int = 2,
        groups_per_scale: int = 2,
        channels: int = 16,
        **kwargs,
    ):
        # Every argument is checked before anything is made.
        inference = check_inference(inference)
        architecture = check_architecture(architecture, inference)
        group_shapes = None
        if architecture == "conv":
            if latent_dims is not None:
                latent_dims = check_latent_dims(latent_dims)
            latent_dims, group_shapes = check_conv(input_shape, scales, groups_per_scale, channels, latent_dims)
        latent_dims = check_latent_dims((100, 50) if latent_dims is None else latent_dims)
        soft_clamp = check_soft_clamp(soft_clamp)
        num = len(latent_dims)
        q_default, p_default = default_hidden(num)
        q_hidden = check_hidden(q_default if q_hidden is None else q_hidden, num, "q_hidden")
        p_hidden = check_hidden(p_default if p_hidden is None else p_hidden, num, "p_hidden")
        if kl not in KL_METHODS:
            raise ValueError(f"kl must be one of {KL_METHODS}, got {kl!r}.")
        if not isinstance(activation, str):
            raise ValueError(f"activation must be the name of a Keras activation, got {activation!r}.")
        keras.activations.get(activation)  # an unknown name is a ValueError here
        prior_layer = registry.get("prior", prior)
        likelihood_layer = registry.get("likelihood", likelihood)
        check_top_prior(prior_layer, inference)
        super().__init__(
            input_shape=input_shape, objective=objective, beta=beta, seed=seed,
            validate_inputs=validate_inputs, name=name, **kwargs,
        )
        self.latent_dims = latent_dims
        self.latent_dim = int(sum(latent_dims))
        self.inference = inference
        self.q_hidden = q_hidden
        self.p_hidden = p_hidden
        self.activation = activation
        self.min_scale = float(min_scale)
        self.soft_clamp = soft_clamp
        self.kl_method = kl
        self.architecture = architecture
        self.scales, self.groups_per_scale, self.channels = int(scales), int(groups_per_scale), int(channels)
        self.likelihood_layer = likelihood_layer
        self.prior_layer = prior_layer
        self.prior_layer.configure(latent_dim=latent_dims[-1])
        if architecture == "conv":
            self.conv_encoder = ConvBottomUp(self.channels, self.scales, name="conv_encoder")
            self.q_heads = [ConvResidualHead(s[2], clamp=soft_clamp, name=f"q_head_{g + 1}")
                            for g, s in enumerate(group_shapes)]
            self.top_down = ConvTopDown(group_shapes, self.groups_per_scale, self.channels,
                                        min_scale=self.min_scale, name="top_down")
            self._finish_init(input_shape)
            return

        def mlp(units, label):
            return MLPEncoder(list(units), activation=activation, name=label)

        def head(size, label):
            return DiagonalGaussianPosterior(latent_dim=size, min_scale=self.min_scale, name=label)

        def q_head(size, label):
            if inference == "residual":
                return ResidualGaussianHead(size, clamp=soft_clamp, name=label)
            return head(size, label)

        # Inference: one body and head per group, bottom-up.
        self.q_bodies = [mlp(q_hidden[g], f"q_body_{g + 1}") for g in range(num)]
        self.q_heads = [q_head(latent_dims[g], f"q_head_{g + 1}") for g in range(num)]
        # Generative: p(z_g | z_{g+1}) for g < L (index g = the group it gives).
        self.p_bodies = [mlp(p_hidden[num - 2 - g], f"p_body_{g + 1}") for g in range(num - 1)]
        self.p_heads = [head(latent_dims[g], f"p_head_{g + 1}") for g in range(num - 1)]
        self.decoder = mlp(p_hidden[-1], "decoder")
        self._finish_init(input_shape)

    # ------------------------------------------------------------------ build
    def _components_to_build(self) -> tuple:
        if self.architecture == "conv":
            return (self.conv_encoder, *self.q_heads, self.top_down, self.likelihood_layer)
        return (*self.q_bodies, *self.q_heads, *self.p_bodies, *self.p_heads, self.decoder, self.likelihood_layer)

    def _unpack(self, components):
        num = len(self.latent_dims)
        c = list(components)
        q_bodies, c = c[:num], c[num:]
        q_heads, c = c[:num], c[num:]
        p_bodies, c = c[: num - 1], c[num - 1 :]
        p_heads, c = c[: num - 1], c[num - 1 :]
        return q_bodies, q_heads, p_bodies, p_heads, c[0], c[1]

    def _forward_build(self, components, data_shape) -> None:
        x = tf.zeros((1, *data_shape), tf.float32)
        if self.architecture == "conv":
            encoder, *q_heads, top_down, likelihood = components
            likelihood.configure(data_shape=data_shape)
            features = encoder(x)
            for g, head in enumerate(q_heads):
                head(features[g // self.groups_per_scale])
            likelihood(top_down([tf.zeros((1, d)) for d in self.latent_dims]))
            return
        q_bodies, q_heads, p_bodies, p_heads, decoder, likelihood = self._unpack(components)
        likelihood.configure(data_shape=data_shape)
        h = x
        for g in range(len(self.latent_dims)):
            source = h if (self.inference != "bottom_up" or g == 0) else tf.zeros((1, self.latent_dims[g - 1]))
            h = q_bodies[g](source)
            q_heads[g](h)
        for g in range(len(self.latent_dims) - 1):
            p_heads[g](p_bodies[g](tf.zeros((1, self.latent_dims[g + 1]))))
        likelihood(decoder(tf.zeros((1, self.latent_dims[0]))))

    def _finish_build(self, data_shape) -> None:
        self.prior_layer.configure(latent_dim=self.latent_dims[-1], data_shape=data_shape)
        if not self.prior_layer.built:
            self.prior_layer.build((None, self.latent_dims[-1]))

    # ----------------------------------------------------------- inference
    def posterior(self, x, training: bool | None = None) -> GroupChain:
        """q(z_1, ..., z_L | x) over the concatenated latent (``sample``, ``log_prob``)."""
        return self._posterior_chain(self.prepare(x), training)

    def prior(self, training: bool | None = None) -> GroupChain:
        """p(z_L) prod_l p(z_l | z_{l+1}) over the concatenated latent."""
        return self._prior_chain(training)

    def likelihood(self, z, training: bool | None = None):
        """p(x | z_1), from z_1 or the concatenated latent (any leading dims)."""
        z = tf.convert_to_tensor(z, tf.float32)
        self._check_latent(z)
        return self.likelihood_layer.distribution(self._likelihood_params(z, training))

    def encode(self, x, sample: bool = False, seed=None) -> list:
        """One array per group, z_1 first: each group's mean given its parents' means
        (``sample=True``: one draw of q, reproducible with an int ``seed``)."""
        q = self.posterior(x)
        if sample:
            return q.sample_with_parts((), seed=self.noise_seed(seed))[1]
        return q.point()

    def decode(self, z, sample: bool = False, seed=None) -> tf.Tensor:
        """The mean of p(x | z_1) (or a sample), from z_1 or the concatenated latent."""
        p = self.likelihood(z)
        return p.sample(seed=self.noise_seed(seed, stream=_seeds.DECODE)) if sample else p.mean()

    def reconstruct(self, x) -> tf.Tensor:
        """The mean of p(x | z_1) at the posterior's point."""
        return self.decode(tf.concat(self.encode(x), axis=-1))

    def sample(self, n: int, seed=None, sample_x: bool = False) -> tf.Tensor:
        """``n`` examples: z_L ~ p(z_L), each z_l ~ p(z_l | z_{l+1}), then the mean of
        p(x | z_1) (or a sample, ``sample_x=True``). An int ``seed`` reproduces them."""
        if isinstance(n, (bool, float, np.floating)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1 (how many examples), got {n!r}.")
        z = self.prior().sample(int(n), seed=self.noise_seed(seed, stream=_seeds.SAMPLE_Z))
        x_seed = None if seed is None else self.noise_seed(seed, stream=_seeds.SAMPLE_X)
        return self.decode(z, sample=sample_x, seed=x_seed)

    def elbo(self, x, seed=None, num_samples: int = 1) -> tf.Tensor:
        """Per-example ELBO ``E_q log p(x|z_1) - sum_l KL_l`` in nats."""
        terms = self.terms(self.prepare(x), num_samples=num_samples, seed=self.noise_seed(seed))
        return terms.reconstruction() - terms.kl()

    def call(self, x, training: bool | None = None):
        """The reconstruction at the posterior's point (for ``predict``)."""
        x = self.prepare(x)
        z = tf.concat(self._posterior_chain(x, training).point(), axis=-1)
        return self.likelihood_layer.distribution(self._likelihood_params(z, training)).mean()

    def joint_log_prob(self, x, z, training: bool | None = False, prior=None, log_prob=None):
        """``log p(x | z_1)`` and ``log p(z)`` (all groups) at latents ``[K, B, D]``
        for a prepared batch, each ``[K, B]``."""
        if prior is None:
            prior = self._prior_chain(training)
        return self._log_px(x, z, training, log_prob), prior.log_prob(z)

    # ---------------------------------------------------------------- export
    def export(self, path, version=None, format: str = "tf_saved_model", **kwargs):
        """Write a TF Serving SavedModel to ``<path>/<version>/`` with the signatures
        ``encode`` (every group), ``decode``, ``reconstruct`` (= ``serving_default``),
        ``sample`` and ``score`` (keyword arguments ``overwrite``, ``score_samples``;
        see ``keras_vae.export.hierarchical``); or, with ``format="litert"`` /
        ``"onnx"``, the deterministic parts ``encode`` (every group's mean) and
        ``decode`` (z_1, or every group for ``architecture="conv"`` -> the mean of
        p(x | z)) as ``<path>/<part>.tflite`` / ``.onnx`` (keyword arguments ``parts``,
        ``overwrite``, ``opset_version`` for ONNX; see
        ``keras_vae.export.hierarchical_runtime``)."""
        from keras_vae.models._finite import check_finite_weights

        allowed = {"tf_saved_model": {"overwrite", "score_samples"},
                   "litert": {"parts", "overwrite"}, "onnx": {"parts", "overwrite", "opset_version"}}
        if format not in allowed:
            raise ValueError(f"format must be one of {tuple(allowed)} for HierarchicalVAE, got {format!r}.")
        unknown = set(kwargs) - allowed[format]
        if unknown:
            raise ValueError(
                f"HierarchicalVAE.export(format={format!r}) takes {sorted(allowed[format])}, not {sorted(unknown)}."
            )
        if format != "tf_saved_model" and version is not None:
            raise ValueError(f"version= is for the SavedModel layout; format={format!r} writes files into path.")
        check_finite_weights(self, "export")
        if format == "tf_saved_model":
            from keras_vae.export.hierarchical import export_hierarchical

            return export_hierarchical(self, path, version=version, **kwargs)
        from keras_vae.export.hierarchical_runtime import export_hierarchical_runtime

        return export_hierarchical_runtime(self, path, format, **kwargs)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dims=list(self.latent_dims),
            inference=self.inference,
            q_hidden=[list(h) for h in self.q_hidden],
            p_hidden=[list(h) for h in self.p_hidden],
            activation=self.activation,
            likelihood=keras.saving.serialize_keras_object(self.likelihood_layer),
            prior=keras.saving.serialize_keras_object(self.prior_layer),
            min_scale=self.min_scale,
            soft_clamp=self.soft_clamp,
            kl=self.kl_method,
            architecture=self.architecture,
            scales=self.scales,
            groups_per_scale=self.groups_per_scale,
            channels=self.channels,
        )
        return config

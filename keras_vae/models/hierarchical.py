"""The hierarchical VAE: a stack of latent groups z_1 (next to the data) .. z_L (top)."""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_vae import _seeds, registry
from keras_vae.encoders.mlp_encoder import MLPEncoder
from keras_vae.models._gaussian_merge import precision_weighted
from keras_vae.models._group_chain import GroupChain
from keras_vae.models._hierarchy_args import (
    INFERENCES,
    check_hidden,
    check_inference,
    check_latent_dims,
    default_hidden,
)
from keras_vae.models.base import LatentVariableModel
from keras_vae.objectives import KL_METHODS, GroupTerms
from keras_vae.posteriors.diagonal_gaussian import DiagonalGaussianPosterior

tfd = tfp.distributions


def _gaussian(loc, scale):
    return tfd.Independent(tfd.Normal(loc=loc, scale=scale), reinterpreted_batch_ndims=1)


class _StoppedPosterior:
    """q(z | x) with every weight of the model held constant: gradients reach it only
    through z (DReG's ``stopped_log_qz``). The weights are read as
    ``stop_gradient(w)`` inside a ``keras.StatelessScope``."""

    def __init__(self, model, x, training):
        self.model, self.x, self.training = model, x, training

    def log_prob(self, z):
        mapping = [(v, tf.stop_gradient(tf.convert_to_tensor(v.value))) for v in self.model.trainable_variables]
        with keras.StatelessScope(state_mapping=mapping):
            return self.model._posterior_chain(self.x, self.training).log_prob(z)


@registry.register("model", "hierarchical")
class HierarchicalVAE(LatentVariableModel):
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

    Every group's KL and log-density is taken against its top-down prior
    p(z_l | z_{l+1}) at the sampled parent (``GroupTerms``), so ``"elbo"`` (β, free
    bits per group: ``free_bits_mode="per_group"``), ``"iwae"`` and DReG work
    unchanged, and ``fit`` reports ``kl_1`` .. ``kl_L`` beside the objective's
    metrics. The tools see one flat latent, the concatenation [z_1, ..., z_L]
    (``posterior``, ``prior``, ``joint_log_prob``, ``latent_dim`` = its size).

    Args:
        latent_dims: the size of each group, z_1 first, e.g. ``(100, 50)``.
        input_shape: shape of one example (builds the model at once), or ``None``.
        inference: ``"bottom_up"`` or ``"ladder"``.
        q_hidden: hidden sizes of each inference body, bottom-up (one list per
            group; ``[]`` for none). Default: Burda's.
        p_hidden: hidden sizes of each generative body, top-down: p(z_{L-1} | z_L)
            first, p(x | z_1) last. Default: Burda's.
        activation: activation of every hidden layer (``"tanh"``).
        likelihood: the likelihood head (default ``"bernoulli"``).
        prior: the top prior p(z_L) (default ``"standard_normal"``; any registered
            prior; the VampPrior needs ``inference="ladder"``, where q(z_L | x) is
            a Gaussian of x alone).
        min_scale: lower bound on every Gaussian scale.
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
    """

    def __init__(
        self,
        latent_dims: Sequence[int] = (100, 50),
        input_shape: Sequence[int] | None = None,
        inference: str = "bottom_up",
        q_hidden: Sequence[Sequence[int]] | None = None,
        p_hidden: Sequence[Sequence[int]] | None = None,
        activation: str = "tanh",
        likelihood: Any = "bernoulli",
        prior: Any = "standard_normal",
        min_scale: float = 1e-4,
        beta: float = 1.0,
        kl: str = "auto",
        objective: Any = None,
        seed: int | None = None,
        validate_inputs: bool = True,
        name: str = "hierarchical_vae",
        **kwargs,
    ):
        # Every argument is checked before anything is made.
        latent_dims = check_latent_dims(latent_dims)
        inference = check_inference(inference)
        if inference == "residual":
            raise ValueError(
                "inference='residual' (the NVAE-style conv hierarchy) is not available in "
                f"this version; use one of {INFERENCES[:2]}."
            )
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
        if getattr(prior_layer, "takes_condition", False):
            raise ValueError(
                f"The prior {type(prior_layer).__name__} is p(z | c); HierarchicalVAE models "
                "p(x) and takes no condition: use an unconditional prior."
            )
        if getattr(prior_layer, "needs_posterior", False) or type(prior_layer).__name__ == "VampPrior":
            if inference != "ladder":
                raise ValueError(
                    "The VampPrior is a mixture of q(z_L | u) over pseudo-inputs u; with "
                    f"inference={inference!r} q(z_L | u) has no closed form. Use "
                    "inference='ladder' or another prior."
                )
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
        self.kl_method = kl
        num = len(latent_dims)
        def mlp(units, label):
            return MLPEncoder(list(units), activation=activation, name=label)

        def head(size, label):
            return DiagonalGaussianPosterior(latent_dim=size, min_scale=self.min_scale, name=label)

        # Inference: one body and Gaussian head per group, bottom-up.
        self.q_bodies = [mlp(q_hidden[g], f"q_body_{g + 1}") for g in range(num)]
        self.q_heads = [head(latent_dims[g], f"q_head_{g + 1}") for g in range(num)]
        # Generative: p(z_g | z_{g+1}) for g < L (index g = the group it gives).
        self.p_bodies = [mlp(p_hidden[num - 2 - g], f"p_body_{g + 1}") for g in range(num - 1)]
        self.p_heads = [head(latent_dims[g], f"p_head_{g + 1}") for g in range(num - 1)]
        self.decoder = mlp(p_hidden[-1], "decoder")
        self.likelihood_layer = likelihood_layer
        self.prior_layer = prior_layer
        self.prior_layer.configure(latent_dim=latent_dims[-1])
        self._finish_init(input_shape)

    # ------------------------------------------------------------------ build
    def _components_to_build(self) -> tuple:
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
        q_bodies, q_heads, p_bodies, p_heads, decoder, likelihood = self._unpack(components)
        likelihood.configure(data_shape=data_shape)
        x = tf.zeros((1, *data_shape), tf.float32)
        h = x
        for g in range(len(self.latent_dims)):
            source = h if (self.inference == "ladder" or g == 0) else tf.zeros((1, self.latent_dims[g - 1]))
            h = q_bodies[g](source)
            q_heads[g](h)
        for g in range(len(self.latent_dims) - 1):
            p_heads[g](p_bodies[g](tf.zeros((1, self.latent_dims[g + 1]))))
        likelihood(decoder(tf.zeros((1, self.latent_dims[0]))))

    def _finish_build(self, data_shape) -> None:
        self.prior_layer.configure(latent_dim=self.latent_dims[-1], data_shape=data_shape)
        if not self.prior_layer.built:
            self.prior_layer.build((None, self.latent_dims[-1]))

    # ------------------------------------------------------- the two chains
    @staticmethod
    def _head_at(body, head, inputs, training):
        """``head(body(inputs))`` as a distribution, for inputs with any leading dims."""
        lead = tf.shape(inputs)[:-1]
        flat = tf.reshape(inputs, [-1, inputs.shape[-1]])
        params = head(body(flat, training=training), training=training)
        params = tf.reshape(params, tf.concat([lead, [params.shape[-1]]], 0))
        return head.distribution(params)

    def _top_prior(self, training):
        top = len(self.latent_dims) - 1

        def posterior_fn(inputs):  # the VampPrior's q(z_L | u) (ladder only)
            return self._bottom_up_heads(self.prepare(inputs), training)[top]

        return self.prior_layer.distribution(posterior_fn=posterior_fn)

    def _prior_chain(self, training=False) -> GroupChain:
        top = len(self.latent_dims) - 1
        top_prior = self._top_prior(training)

        def conditional(g, drawn):
            if g == top:
                return top_prior
            return self._head_at(self.p_bodies[g], self.p_heads[g], drawn[g + 1], training)

        return GroupChain(self.latent_dims, list(range(top, -1, -1)), conditional)

    def _bottom_up_heads(self, x, training) -> list:
        """The ladder's bottom-up Gaussians N(mu^_l, s^_l), one per group."""
        h = self.likelihood_layer.encoder_input(x)
        heads = []
        for g in range(len(self.latent_dims)):
            h = self.q_bodies[g](h, training=training)
            heads.append(self.q_heads[g].distribution(self.q_heads[g](h, training=training)))
        return heads

    def _posterior_chain(self, x, training=False) -> GroupChain:
        num = len(self.latent_dims)
        if self.inference == "ladder":
            bottom_up = self._bottom_up_heads(x, training)

            def conditional(g, drawn):
                if g == num - 1:
                    return bottom_up[g]
                p = self._head_at(self.p_bodies[g], self.p_heads[g], drawn[g + 1], training)
                b = bottom_up[g]
                loc, scale = precision_weighted(
                    b.distribution.loc, b.distribution.scale, p.distribution.loc, p.distribution.scale
                )
                return _gaussian(loc, scale)

            return GroupChain(self.latent_dims, list(range(num - 1, -1, -1)), conditional)

        x_in = self.likelihood_layer.encoder_input(x)

        def conditional(g, drawn):
            if g == 0:
                head = self.q_heads[0]
                return head.distribution(head(self.q_bodies[0](x_in, training=training), training=training))
            return self._head_at(self.q_bodies[g], self.q_heads[g], drawn[g - 1], training)

        return GroupChain(self.latent_dims, list(range(num)), conditional)

    def _analytic_groups(self) -> list:
        """Whether each group's KL may be analytic: its prior's parent is drawn before it."""
        num = len(self.latent_dims)
        if self.inference == "ladder":
            return [True] * num
        return [False] * (num - 1) + [True]

    def _likelihood_params(self, z, training):
        """The likelihood head's parameters at latents ``[..., D]`` (or z_1 ``[..., d_1]``)."""
        z = tf.cast(z, tf.float32)
        z1 = z[..., : self.latent_dims[0]]
        lead = tf.shape(z1)[:-1]
        params = self.likelihood_layer(self.decoder(tf.reshape(z1, [-1, self.latent_dims[0]]), training=training), training=training)
        return tf.reshape(params, tf.concat([lead, tf.shape(params)[1:]], 0))

    # ----------------------------------------------------------- inference
    def _check_latent(self, z, what="z"):
        width = z.shape[-1]
        if width not in (self.latent_dims[0], self.latent_dim):
            raise ValueError(
                f"{what} has {width} latent values per example; {self.name} takes z_1 "
                f"({self.latent_dims[0]}) or all groups concatenated ({self.latent_dim})."
            )

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
        return self.decode(self.encode(x)[0])

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
        z1 = self._posterior_chain(x, training).point()[0]
        return self.likelihood_layer.distribution(self._likelihood_params(z1, training)).mean()

    def joint_log_prob(self, x, z, training: bool | None = False, prior=None, log_prob=None):
        """``log p(x | z_1)`` and ``log p(z)`` (all groups) at latents ``[K, B, D]``
        for a prepared batch, each ``[K, B]``."""
        if prior is None:
            prior = self._prior_chain(training)
        return self._log_px(x, z, training, log_prob), prior.log_prob(z)

    def _log_px(self, x, z, training, log_prob=None):
        params = self._likelihood_params(z, training)
        return (log_prob or self.likelihood_layer.log_prob)(params, x)

    # ------------------------------------------------------------ training
    def terms(self, x, num_samples: int = 1, seed=None, training: bool | None = False) -> GroupTerms:
        """The objective's terms from one batched pass: K ancestral samples of every
        group from q, each group's log q and log p (against its top-down prior), and
        log p(x | z_1). See :class:`~keras_vae.objectives.GroupTerms`."""
        if not (isinstance(x, tf.Tensor) and x.dtype == tf.float32):
            x = self.prepare(x)
        k = int(num_samples)
        if k < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples!r}.")
        if seed is None or isinstance(seed, (int, np.integer)):
            seed = self.noise_seed(seed)
        q = self._posterior_chain(x, training)
        z, groups, q_parts = q.sample_with_parts(k, seed)
        log_q_parts = [tf.cast(d.log_prob(zg), tf.float32) for d, zg in zip(q_parts, groups)]
        prior = self._prior_chain(training)
        p_parts = prior.conditionals(z)
        log_p_parts = [tf.cast(d.log_prob(zg), tf.float32) for d, zg in zip(p_parts, groups)]
        return GroupTerms(
            x=x,
            q=q,
            z=z,
            log_px=self._log_px(x, z, training),
            log_pz=tf.add_n(log_p_parts),
            log_qz=tf.add_n(log_q_parts),
            prior=prior,
            training=bool(training),
            kl_method=self.kl_method,
            stopped_posterior=lambda: _StoppedPosterior(self, x, training),
            joint_log_prob=lambda z: (self._log_px(x, z, training), prior.log_prob(z)),
            group_sizes=self.latent_dims,
            q_parts=q_parts,
            p_parts=p_parts,
            log_qz_parts=log_q_parts,
            log_pz_parts=log_p_parts,
            analytic_groups=self._analytic_groups(),
        )

    # KL per group: trackers of their own beside the objective's.
    def _finish_init(self, input_shape) -> None:
        self.group_kl_trackers = [
            keras.metrics.Mean(name=f"kl_{g + 1}") for g in range(len(self.latent_dims))
        ]
        super()._finish_init(input_shape)

    @property
    def metrics(self):
        return [*super().metrics, *self.group_kl_trackers]

    def _objective_values(self, terms):
        loss, values = super()._objective_values(terms)
        per_group = terms.kl_per_group()
        values = dict(values)
        for g, tracker in enumerate(self.group_kl_trackers):
            values[tracker.name] = per_group[:, g]
        return loss, values

    def _update_metrics(self, per_example_loss, values, weights) -> None:
        super()._update_metrics(per_example_loss, values, weights)
        for tracker in self.group_kl_trackers:
            tracker.update_state(values[tracker.name], sample_weight=weights)

    # ------------------------------------------------ latent paths at a group
    def _check_group(self, group) -> int:
        if isinstance(group, bool) or not isinstance(group, (int, np.integer)) or not 0 <= group < len(self.latent_dims):
            raise ValueError(
                f"group must be an integer in [0, {len(self.latent_dims)}) (0 is z_1, next to "
                f"the data), got {group!r}."
            )
        return int(group)

    def decode_from_group(self, z_group, group: int) -> tf.Tensor:
        """The mean of p(x | z_1) where z_{group+1} is given and every lower group is its
        top-down conditional's mean given the group above (``group=0``: z_1 itself)."""
        group = self._check_group(group)
        z = tf.convert_to_tensor(z_group, tf.float32)
        if z.shape[-1] != self.latent_dims[group]:
            raise ValueError(f"group {group} has {self.latent_dims[group]} latent values, got {z.shape[-1]}.")
        for g in range(group - 1, -1, -1):
            z = tf.cast(self._head_at(self.p_bodies[g], self.p_heads[g], z, False).mean(), tf.float32)
        return self.likelihood_layer.distribution(self._likelihood_params(z, False)).mean()

    def interpolate(self, x1, x2, steps: int = 8, group: int = 0) -> np.ndarray:
        """Decoded means along the straight line between the posterior points of ``x1``
        and ``x2`` (one example each) at latent group ``group`` (lower groups follow
        the top-down means, see :meth:`decode_from_group`): ``[steps, *data_shape]``."""
        group = self._check_group(group)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}.")
        a = np.asarray(self.encode(np.asarray(x1)[None])[group])[0]
        b = np.asarray(self.encode(np.asarray(x2)[None])[group])[0]
        t = np.linspace(0.0, 1.0, int(steps))[:, None]
        return self.decode_from_group((1 - t) * a + t * b, group).numpy()

    def traverse(self, x, dim: int, values=None, group: int = 0) -> np.ndarray:
        """Decoded means of ``x``'s (one example) posterior point at group ``group`` with
        latent ``dim`` of that group set to each value (default -3..3, 9 values)."""
        group = self._check_group(group)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 <= dim < self.latent_dims[group]:
            raise ValueError(f"dim must be an integer in [0, {self.latent_dims[group]}), got {dim!r}.")
        values = np.linspace(-3.0, 3.0, 9) if values is None else np.asarray(values, np.float64).reshape(-1)
        point = np.asarray(self.encode(np.asarray(x)[None])[group])[0]
        codes = np.repeat(point[None], len(values), axis=0)
        codes[:, dim] = values
        return self.decode_from_group(codes.astype("float32"), group).numpy()

    # --------------------------------------------------------- diagnostics
    def kl_per_dimension(self, x, num_samples: int = 1, seed: int = 0, batch_size: int = 256) -> list:
        """Mean KL per latent dimension of each group against its top-down prior
        (one float64 array per group, z_1 first)."""
        x = np.asarray(x)
        self.check_data(x)
        total, count = 0.0, 0
        for start in range(0, len(x), batch_size):
            batch = self.prepare(x[start : start + batch_size])
            terms = self.terms(batch, num_samples=num_samples, seed=seed + start)
            total = total + tf.reduce_sum(terms.kl_per_dimension(), axis=0).numpy().astype(np.float64)
            count += int(batch.shape[0])
        per_dim = total / max(count, 1)
        return list(np.split(per_dim, np.cumsum(self.latent_dims)[:-1]))

    def active_units(self, x, threshold: float = 0.01, num_samples: int = 16, seed: int = 0) -> dict:
        """Active units per group (Burda et al. 2015): dimensions u of group l with
        ``Cov_x(E_q[u]) > threshold``, E_q[z_l] the mean over ``num_samples``
        ancestral draws of the parents of q(z_l | parents)'s mean. Returns ``{"active_units": total, "per_group": [one int per
        group, z_1 first]}``."""
        x = np.asarray(x)
        self.check_data(x)
        means = []
        for start in range(0, len(x), 256):
            q = self.posterior(x[start : start + 256])
            _, _, dists = q.sample_with_parts(num_samples, seed=self.noise_seed(seed + start))
            # E_q[z_l] = E over the parents' samples of the conditional's mean: no
            # sampling noise of z_l itself (which would count as activity).
            group_means = [
                tf.reduce_mean(tf.broadcast_to(d.mean(), [num_samples, len(x[start : start + 256]), size]), axis=0)
                for d, size in zip(dists, self.latent_dims)
            ]
            means.append(tf.concat(group_means, axis=-1).numpy())
        variance = np.var(np.concatenate(means), axis=0)
        per_group = [int(np.sum(v > threshold)) for v in np.split(variance, np.cumsum(self.latent_dims)[:-1])]
        return {"active_units": int(sum(per_group)), "per_group": per_group}

    # ---------------------------------------------------------------- export
    def export(self, path, version=None, format: str = "tf_saved_model", **kwargs):
        """Write a TF Serving SavedModel to ``<path>/<version>/`` with the signatures
        ``encode`` (every group), ``decode``, ``reconstruct`` (= ``serving_default``),
        ``sample`` and ``score``; see ``keras_vae.export.hierarchical``. Keyword
        arguments: ``overwrite``, ``score_samples``. LiteRT / ONNX are not available
        for hierarchical models."""
        from keras_vae.export.hierarchical import export_hierarchical
        from keras_vae.models._finite import check_finite_weights

        if format != "tf_saved_model":
            raise ValueError(
                f"format={format!r} is not available for HierarchicalVAE; use the SavedModel "
                "(format='tf_saved_model')."
            )
        unknown = set(kwargs) - {"overwrite", "score_samples"}
        if unknown:
            raise ValueError(f"HierarchicalVAE.export takes overwrite= and score_samples=, not {sorted(unknown)}.")
        check_finite_weights(self, "export")
        return export_hierarchical(self, path, version=version, **kwargs)

    # ------------------------------------------------------------------- CLI
    @classmethod
    def cli_arguments(cls, settings, input_shape) -> dict:
        """The constructor's arguments from ``keras-vae train`` settings
        (``--model hierarchical --latent-dims 100,50 --inference ladder``): the
        likelihood, the (top) prior and the objective; the encoder, decoder and
        posterior are the model's own (``--latent-dim`` does not apply)."""
        components = settings.components()
        arguments = {
            kind: {"name": name, **options}
            for kind, (name, options) in components.items()
            if kind in ("likelihood", "prior", "objective")
        }
        if settings.latent_dims is not None:
            arguments["latent_dims"] = tuple(settings.latent_dims)
        if settings.inference is not None:
            arguments["inference"] = settings.inference
        return {**arguments, "input_shape": tuple(input_shape), "seed": settings.seed}

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
            kl=self.kl_method,
        )
        return config

"""``keras-vae train --model hierarchical``: ``kv.HierarchicalVAE``'s arguments from
the settings (``--latent-dims``, ``--inference``, ``--architecture`` and, for the conv
hierarchy, ``--scales``, ``--groups-per-scale``, ``--channels``), checked against the
data's shape before the model is made; the run after ``fit`` is the plain VAE's."""
from __future__ import annotations

from keras_vae.cli.errors import UsageError

# The settings only a hierarchical model takes, with their flags.
FLAGS = {
    "latent_dims": "--latent-dims",
    "inference": "--inference",
    "architecture": "--architecture",
    "scales": "--scales",
    "groups_per_scale": "--groups-per-scale",
    "channels": "--channels",
}
# The settings only the conv hierarchy takes.
_CONV_ONLY = ("scales", "groups_per_scale", "channels")


def refuse_flags(settings, model_name: str) -> None:
    """Raise a ``UsageError`` naming the first hierarchical-only flag ``settings`` give
    to another model (``--model vae``, ``vqvae``, a plug-in's)."""
    for name, flag in FLAGS.items():
        if getattr(settings, name, None) is not None:
            raise UsageError(f"{flag} applies to --model hierarchical, not --model {model_name}.")


def arguments(settings, input_shape) -> dict:
    """``kv.HierarchicalVAE``'s keyword arguments: the likelihood, the (top) prior and
    the objective from the component flags; the groups, the inference and the
    architecture from their flags. ``--architecture conv`` takes ``--inference
    residual`` (its default there) and images whose height and width the scales halve;
    ``--latent-dims`` must then give one size per group, each a multiple of its scale's
    h x w. Anything else is a ``UsageError`` naming the flag, before the model is made.

    Example:
        >>> from keras_vae.cli import TrainSettings
        >>> s = TrainSettings.from_dict({"model": "hierarchical", "architecture": "conv",
        ...                              "scales": 1, "groups_per_scale": 1, "channels": 4})
        >>> a = arguments(s, (8, 8, 1))
        >>> a["architecture"], a["inference"], a["scales"], a["groups_per_scale"], a["channels"]
        ('conv', 'residual', 1, 1, 4)
    """
    import inspect

    from keras_vae.models._hierarchy.conv_args import check_conv
    from keras_vae.models.hierarchical import HierarchicalVAE

    components = settings.components()
    result = {
        kind: {"name": name, **options}
        for kind, (name, options) in components.items()
        if kind in ("likelihood", "prior", "objective")
    }
    architecture = settings.architecture or "mlp"
    inference = settings.inference
    if architecture == "conv":
        if inference not in (None, "residual"):
            raise UsageError(
                f"--architecture conv is NVAE's top-down conv hierarchy: it takes --inference "
                f"residual, got --inference {inference}; use --architecture mlp for {inference}."
            )
        inference = "residual"
        conv = {name: getattr(settings, name) for name in _CONV_ONLY if getattr(settings, name) is not None}
        signature = inspect.signature(HierarchicalVAE).parameters
        shape_check = {name: conv.get(name, signature[name].default) for name in _CONV_ONLY}
        try:
            check_conv(tuple(input_shape), shape_check["scales"], shape_check["groups_per_scale"],
                       shape_check["channels"], settings.latent_dims)
        except ValueError as exc:
            text = str(exc).replace("latent_dims", "--latent-dims")
            text = text.replace("architecture='conv'", "--architecture conv")
            raise UsageError(f"--architecture conv on data of shape {tuple(input_shape)}: {text}") from None
        result.update(architecture="conv", **conv)
    else:
        given = [FLAGS[name] for name in _CONV_ONLY if getattr(settings, name) is not None]
        if given:
            raise UsageError(f"{given[0]} applies to --architecture conv, not --architecture mlp.")
    if settings.latent_dims is not None:
        result["latent_dims"] = tuple(settings.latent_dims)
    if inference is not None:
        result["inference"] = inference
    return {**result, "input_shape": tuple(input_shape), "seed": settings.seed}


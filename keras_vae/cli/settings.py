"""What ``keras-vae train`` does, from one place: :class:`TrainSettings`.

Its defaults, then a JSON or YAML file given with ``--config``, then the flags given on
the command line (a flag always wins over the file). Every field is a flag
(``batch_size`` -> ``--batch-size``) and a config-file key (``batch_size`` or
``batch-size``). The resolved settings are written to the run folder's
``config.json``, which is itself a valid ``--config`` file.

A model is described the same way everywhere: for each component kind, a registered
name (``likelihood: gaussian``) and its constructor options
(``likelihood_options: {"scale": "shared"}``; on the command line
``--likelihood-options '{"scale": "shared"}'``). A config file may also give a
component as one mapping, ``likelihood: {name: gaussian, scale: shared}``, or as the
component's entry of ``VAE.get_config()``; both are read into the name-and-options form.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable

from keras_vae.cli import validators as check
from keras_vae.cli.errors import UsageError
from keras_vae.cli.kinds import COMPONENT_KINDS


_DEFAULT_COMPONENTS = {
    "encoder": "mlp",
    "decoder": "mlp",
    "posterior": "diagonal_gaussian",
    "prior": "standard_normal",
    "likelihood": "bernoulli",
    "objective": "elbo",
}
_COMPONENT_HELP = {
    "encoder": "encoder body: data -> features",
    "decoder": "decoder body: z -> features",
    "posterior": "q(z|x), the posterior head",
    "prior": "p(z)",
    "likelihood": "p(x|z): bernoulli for data in [0, 1], gaussian for real values, ...",
    "objective": "the training objective (the bound to maximize)",
}


def _setting(default: Any, check_value: Callable[[Any], Any], help: str, **extra: Any):
    """A TrainSettings field: default, validator and help text in one place."""
    metadata = {"check": check_value, "help": help, **extra}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _component_fields() -> dict:
    fields = {}
    for kind in COMPONENT_KINDS:
        fields[kind] = (
            str,
            _setting(
                _DEFAULT_COMPONENTS[kind],
                check.component_name,
                f"{_COMPONENT_HELP[kind]}; any registered {kind} name, built-in or plugin "
                "(list: keras-vae components)",
                metavar="NAME",
                component=kind,
            ),
        )
        fields[f"{kind}_options"] = (
            dict,
            _setting(
                {},
                check.options,
                f"options of the {kind} as a JSON object, e.g. "
                + ("'{\"scale\": \"shared\"}'" if kind == "likelihood" else "'{\"name\": value}'"),
                metavar="JSON",
                options_of=kind,
                shown="{}",
            ),
        )
    return fields


_FIELDS = [
    ("dataset", str, _setting(
        "sample",
        check.string,
        "data set name (mnist, fashion_mnist, sample) or path (.npz, .npy, .csv, .tsv, "
        "image folder); 'sample' is a small MNIST subset bundled with keras_vae (offline)",
    )),
    ("output", "str | None", _setting(
        None, check.optional_string, "run folder", metavar="DIR", shown="runs/<timestamp>"
    )),
    ("model", str, _setting(
        "vae",
        check.component_name,
        "the model class: vae, or any registered model (a family's or a plugin's, "
        "registered with keras_vae.register('model', NAME))",
        metavar="NAME",
    )),
    ("epochs", int, _setting(30, check.positive_int, "training epochs", metavar="N")),
    ("batch_size", int, _setting(100, check.positive_int, "examples per training step", metavar="N")),
    ("latent_dim", int, _setting(
        16, check.positive_int, "size of the latent code z (2 also draws manifold.png)", metavar="N"
    )),
    ("latent_dims", "list | None", _setting(
        None,
        check.optional_group_sizes,
        "sizes of the latent groups of a hierarchical model (--model hierarchical), z_1 "
        "(next to the data) first, e.g. 100,50",
        metavar="N,N",
        shown="100,50",
    )),
    ("inference", "str | None", _setting(
        None,
        check.optional_choice("bottom_up", "ladder", "residual"),
        "inference of a hierarchical model (--model hierarchical): bottom_up, ladder or residual",
        metavar="NAME",
        shown="bottom_up; residual with --architecture conv",
    )),
    ("architecture", "str | None", _setting(
        None,
        check.optional_choice("mlp", "conv"),
        "networks of a hierarchical model (--model hierarchical): mlp, or conv (NVAE's "
        "top-down conv hierarchy on images, --inference residual; each group an h x w x c "
        "map, --latent-dims its flat size h*w*c)",
        metavar="NAME",
        shown="mlp",
    )),
    ("scales", "int | None", _setting(
        None,
        check.optional_positive_int,
        "resolutions of the conv hierarchy (--architecture conv): the image halved 1 .. N "
        "times, so height and width must be multiples of 2**N",
        metavar="N",
        shown="2",
    )),
    ("groups_per_scale", "int | None", _setting(
        None,
        check.optional_positive_int,
        "latent groups at each resolution of the conv hierarchy (--architecture conv)",
        metavar="N",
        shown="2",
    )),
    ("channels", "int | None", _setting(
        None,
        check.optional_positive_int,
        "feature channels of the conv hierarchy's networks (--architecture conv; not the "
        "image's channels)",
        metavar="N",
        shown="16",
    )),
    *[(name, typ, field) for name, (typ, field) in _component_fields().items()],
    ("hidden_units", "list | None", _setting(
        None,
        check.optional_units,
        "layer sizes of the encoder body and (reversed) of the decoder body, for bodies "
        "that take hidden_units (short for giving it in --encoder-options and "
        "--decoder-options)",
        metavar="N",
        nargs="+",
        shown="the body's own",
    )),
    ("beta", "float | None", _setting(
        None,
        check.optional(check.number(0.0, True)),
        "KL weight (beta-VAE when > 1), for objectives that take beta (short for "
        "--objective-options '{\"beta\": B}')",
        metavar="B",
        shown="the objective's own",
    )),
    ("learning_rate", float, _setting(1e-3, check.number(0.0, False), "Adam learning rate", metavar="LR")),
    ("num_samples", int, _setting(
        100, check.positive_int, "importance samples K of the test log-likelihood estimate", metavar="K"
    )),
    ("seed", int, _setting(0, check.seed, "seed of weights, training noise and shuffling", metavar="S")),
    ("binarize", bool, _setting(
        False, check.boolean, "dynamically binarize the training data every epoch (and the test data once)"
    )),
    ("init_output_bias", bool, _setting(
        False, check.boolean,
        "start the likelihood head's bias at the training data's mean (bernoulli: the logit of "
        "each feature's mean; continuous_bernoulli: the logit whose mean it is; gaussian: the loc; the count heads: "
        "the log-mean), as Burda et al.'s IWAE code does; see VAE.initialize_output_bias"
    )),
    ("standardize", bool, _setting(
        False,
        check.boolean,
        "standardize each feature with the training split's mean and standard deviation "
        "inside the model (a Normalization layer saved in model.keras and the export), "
        "which then takes and returns data in their own units; real-valued likelihoods only",
    )),
    ("drop_columns", "list | None", _setting(
        None,
        check.optional_names,
        "columns of a CSV / TSV file to leave out by name (e.g. an ID or a column with "
        "cells that are not numbers); evaluate leaves out the same",
        metavar="NAME",
        nargs="+",
        shown="none",
    )),
    ("condition_column", "str | None", _setting(
        None,
        check.optional_string,
        "condition the model on this: a column of a CSV / TSV file (left out of the "
        "features), an array of an .npz file, or 'label' for a data set's labels (an image "
        "folder's class sub-folders); sample with keras-vae sample --condition",
        metavar="NAME",
        shown="none: no condition",
    )),
    ("condition_type", "str | None", _setting(
        None,
        check.optional_string,
        "the condition component: one_hot (integer class labels) or vector (real values)",
        metavar="NAME",
        shown="one_hot for integer labels, else vector",
    )),
    ("export", bool, _setting(
        True, check.boolean, "write the TF Serving SavedModel to serving/ (--no-export skips it)"
    )),
    ("limit", "int | None", _setting(
        None, check.optional_positive_int, "use at most N examples of each split", metavar="N", shown="all"
    )),
    ("tensorboard", "str | None", _setting(
        None,
        check.optional_string,
        "also write TensorBoard logs to DIR (keras.callbacks.TensorBoard)",
        metavar="DIR",
        shown="none",
    )),
]


class _TrainSettingsMethods:
    """Everything ``keras-vae train`` does, with its defaults.

    The defaults train an MLP VAE on the bundled 4,000-digit MNIST sample in under a
    minute on two CPU cores.

    Example:
        >>> from keras_vae.cli import TrainSettings
        >>> s = TrainSettings.from_dict({"epochs": 3, "likelihood": {"name": "gaussian",
        ...                              "scale": "shared"}})
        >>> s.epochs, s.likelihood, s.likelihood_options
        (3, 'gaussian', {'scale': 'shared'})
    """

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict, source: str = "settings", flags: bool = False):
        """Validate ``values`` (keys may use - or _) and fill in the defaults.

        A component given as a mapping (``{"name": ..., **options}``, or a
        ``VAE.get_config()`` entry) becomes its name and ``<kind>_options``.

        Args:
            values: the settings.
            source: where they come from, for error messages.
            flags: the values are command-line flags: errors name ``--flag``.

        Raises:
            UsageError: unknown key (the message lists the valid ones) or bad value.
        """
        if not isinstance(values, dict):
            raise UsageError(
                f"{source}: expected a mapping of settings (key: value), got {type(values).__name__}."
            )
        fields = {f.name: f for f in dataclasses.fields(cls)}
        clean: dict = {}
        for raw_key, value in values.items():
            key = str(raw_key).replace("-", "_")
            where = ("--" + key.replace("_", "-")) if flags else f"{source}: {key}"
            if key not in fields:
                raise UsageError(
                    f"{source}: unknown setting {raw_key!r}. Valid settings: {', '.join(fields)}."
                )
            if key in COMPONENT_KINDS and isinstance(value, dict):
                from keras_vae.cli.components import spec_from_mapping

                try:
                    value, options = spec_from_mapping(key, value)
                except ValueError as exc:
                    raise UsageError(f"{where}: {exc}") from None
                clean[f"{key}_options"] = {**options, **clean.get(f"{key}_options", {})}
            try:
                checked = fields[key].metadata["check"](value)
            except ValueError as exc:
                raise UsageError(f"{where} {exc}.") from None
            if key.endswith("_options") and key in clean:
                checked = {**clean[key], **checked}
            clean[key] = checked
        return cls(**clean)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def components(self) -> dict[str, tuple[str, dict]]:
        """``{kind: (name, options)}`` in data-path order."""
        return {kind: (getattr(self, kind), dict(getattr(self, f"{kind}_options"))) for kind in COMPONENT_KINDS}


TrainSettings = dataclasses.make_dataclass(
    "TrainSettings", _FIELDS, bases=(_TrainSettingsMethods,), namespace={"__module__": __name__}
)
TrainSettings.__doc__ = _TrainSettingsMethods.__doc__


def load_config_file(path: str) -> dict:
    """Read a JSON or YAML settings file (YAML needs PyYAML)."""
    if not os.path.isfile(path):
        raise UsageError(f"config file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    is_yaml = path.lower().endswith((".yaml", ".yml"))
    data: Any = None
    if not is_yaml:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if path.lower().endswith(".json"):
                raise UsageError(f"config file {path!r} is not valid JSON: {exc}.") from None
            is_yaml = True  # unknown extension: try YAML next
    if is_yaml:
        try:
            import yaml
        except ImportError:
            raise UsageError(
                f"reading the YAML config {path!r} needs PyYAML: `pip install "
                "keras-vae[yaml]` (or `pip install pyyaml`), or use a .json config."
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            detail = " ".join(str(exc).split())
            raise UsageError(f"config file {path!r} is not valid YAML: {detail}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(
            f"config file {path!r} must hold a mapping of settings (key: value), "
            f"got {type(data).__name__}."
        )
    return data


def resolve_train_settings(args, check_components: bool = True) -> TrainSettings:
    """Defaults < ``--config`` file < flags given on the command line.

    With ``check_components`` (the default) the library is loaded, every component
    name is looked up in the registry (plugins included), ``--hidden-units`` and
    ``--beta`` are folded into the options of the components that take them, and
    each component is built once from its options, so that a bad name or option is a
    usage error naming its flag before any data is read.
    """
    values: dict = {}
    source = "command line"
    if getattr(args, "config", None):
        from_file = load_config_file(args.config)
        source = f"config file {args.config!r}"
        values = TrainSettings.from_dict(from_file, source).to_dict()
        given_in_file = {str(k).replace("-", "_") for k in from_file}
        values = {k: v for k, v in values.items() if k in given_in_file or k.endswith("_options")}
    flags = {key: getattr(args, key) for key in TrainSettings.keys() if hasattr(args, key)}
    from_flags = TrainSettings.from_dict(flags, "command line", flags=True)
    for key in flags:
        value = getattr(from_flags, key)
        if key.endswith("_options"):
            value = {**values.get(key, {}), **value}
        values[key] = value
    settings = TrainSettings.from_dict(values, source)
    if check_components:
        from keras_vae.cli.components import resolve_components

        settings = resolve_components(settings, flag_keys=set(flags), source=source)
    return settings

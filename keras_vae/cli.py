"""The ``keras-vae`` command line: train, evaluate, sample, list components.

Run ``keras-vae --help`` (or ``python -m keras_vae --help``) for the commands and
``keras-vae <command> --help`` for their options.

Training settings come from one place, :class:`TrainSettings`: its defaults, then a
JSON or YAML file given with ``--config``, then the flags given on the command line
(a flag always wins over the file). The resolved settings are written to the run
folder's ``config.json``, which is itself a valid ``--config`` file.

Errors are reported as one line, ``keras-vae: error: ...``, with exit status 2 for
usage errors (bad flags, bad config files) and 1 for failures while running (a
missing data set or model file, data the model cannot use). ``--debug`` shows the
full traceback instead.

Example:
    >>> from keras_vae.cli import main
    >>> main(["train", "--epochs", "1", "--output", "runs/try"])  # doctest: +SKIP
    0
"""
from __future__ import annotations

import os

# Keep TensorFlow's C++ start-up chatter out of the terminal (a user's own setting
# wins). This only takes effect when TensorFlow has not been imported yet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Sequence  # noqa: E402

import numpy as np  # noqa: E402

PROG = "keras-vae"
ENCODERS = ("mlp", "conv")
DECODERS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
_INT32_MAX = 2**31 - 1


class _UsageError(Exception):
    """Bad command line or config file: exit status 2."""


# ------------------------------------------------------------------ validators
def _integer(value: Any) -> int | None:
    """``value`` as an int if it is one (or an integral float / digit string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    return None


def _positive_int(value: Any) -> int:
    number = _integer(value)
    if number is None or number < 1:
        raise ValueError(f"must be an integer >= 1, got {value!r}")
    return number


def _optional_positive_int(value: Any) -> int | None:
    return None if value is None else _positive_int(value)


def _seed(value: Any) -> int:
    number = _integer(value)
    if number is None or not 0 <= number <= _INT32_MAX:
        raise ValueError(f"must be an integer in [0, 2**31 - 1], got {value!r}")
    return number


def _float(minimum: float, inclusive: bool) -> Callable[[Any], float]:
    relation = ">=" if inclusive else ">"

    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"must be a number {relation} {minimum:g}, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        ok = math.isfinite(number) and (number >= minimum if inclusive else number > minimum)
        if not ok:
            raise ValueError(f"must be a number {relation} {minimum:g}, got {value!r}")
        return number

    return check


def _choice(choices: Sequence[str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}; got {value!r}")
        return value.lower()

    return check


def _string(value: Any) -> str:
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return os.fspath(value)


def _optional_string(value: Any) -> str | None:
    return None if value is None else _string(value)


def _units(value: Any) -> list[int]:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"must be a non-empty list of integers >= 1, got {value!r}")
    try:
        return [_positive_int(v) for v in value]
    except ValueError:
        raise ValueError(f"must be a non-empty list of integers >= 1, got {value!r}") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise ValueError(f"must be true or false, got {value!r}")


# -------------------------------------------------------------------- settings
def _setting(default: Any, check: Callable[[Any], Any], help: str, **extra: Any):
    """A TrainSettings field: default, validator and help text in one place."""
    factory = (lambda: list(default)) if isinstance(default, list) else None
    metadata = {"check": check, "help": help, **extra}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class TrainSettings:
    """Everything ``keras-vae train`` does, with its defaults.

    Each field is also a flag (``batch_size`` -> ``--batch-size``) and a key of the
    ``--config`` file (``batch_size`` or ``batch-size``). The defaults train an MLP
    VAE on the bundled 4,000-digit MNIST sample in under a minute on two CPU cores.
    """

    dataset: str = _setting(
        "sample",
        _string,
        "data set name (mnist, fashion_mnist, sample) or path (.npz, .npy, image "
        "folder); 'sample' is a small MNIST subset bundled with keras_vae (offline)",
    )
    output: str | None = _setting(
        None, _optional_string, "run folder", metavar="DIR", shown="runs/<timestamp>"
    )
    epochs: int = _setting(30, _positive_int, "training epochs", metavar="N")
    batch_size: int = _setting(100, _positive_int, "examples per training step", metavar="N")
    latent_dim: int = _setting(
        16, _positive_int, "size of the latent code z (2 also draws manifold.png)", metavar="N"
    )
    encoder: str = _setting("mlp", _choice(ENCODERS), "encoder body", choices=ENCODERS)
    decoder: str = _setting("mlp", _choice(DECODERS), "decoder body", choices=DECODERS)
    hidden_units: list = _setting(
        [400],
        _units,
        "dense layer sizes of the MLP encoder and decoder (conv: of the dense layers "
        "after the convolutions)",
        metavar="N",
        nargs="+",
    )
    likelihood: str = _setting(
        "bernoulli",
        _choice(LIKELIHOODS),
        "p(x|z): bernoulli for data in [0, 1], gaussian for real values",
        choices=LIKELIHOODS,
    )
    beta: float = _setting(1.0, _float(0.0, True), "KL weight (beta-VAE when > 1)", metavar="B")
    learning_rate: float = _setting(
        1e-3, _float(0.0, False), "Adam learning rate", metavar="LR"
    )
    num_samples: int = _setting(
        100,
        _positive_int,
        "importance samples K of the test log-likelihood estimate",
        metavar="K",
    )
    seed: int = _setting(0, _seed, "seed of weights, training noise and shuffling", metavar="S")
    binarize: bool = _setting(
        False,
        _boolean,
        "dynamically binarize the training data every epoch (and the test data once)",
    )
    export: bool = _setting(
        True, _boolean, "write the TF Serving SavedModel to serving/ (--no-export skips it)"
    )
    limit: int | None = _setting(
        None, _optional_positive_int, "use at most N examples of each split", metavar="N",
        shown="all",
    )

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict, source: str = "settings") -> "TrainSettings":
        """Validate ``values`` (keys may use - or _) and fill in the defaults.

        Raises:
            _UsageError: unknown key (the message lists the valid ones) or bad value.
        """
        if not isinstance(values, dict):
            raise _UsageError(
                f"{source}: expected a mapping of settings (key: value), got "
                f"{type(values).__name__}."
            )
        fields = {f.name: f for f in dataclasses.fields(cls)}
        clean = {}
        for raw_key, value in values.items():
            key = str(raw_key).replace("-", "_")
            if key not in fields:
                raise _UsageError(
                    f"{source}: unknown setting {raw_key!r}. Valid settings: "
                    f"{', '.join(fields)}."
                )
            try:
                clean[key] = fields[key].metadata["check"](value)
            except ValueError as exc:
                raise _UsageError(f"{source}: {key} {exc}.") from None
        return cls(**clean)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_config_file(path: str) -> dict:
    """Read a JSON or YAML settings file (YAML needs PyYAML)."""
    if not os.path.isfile(path):
        raise _UsageError(f"config file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    is_yaml = path.lower().endswith((".yaml", ".yml"))
    if not is_yaml:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if path.lower().endswith(".json"):
                raise _UsageError(f"config file {path!r} is not valid JSON: {exc}.") from None
            is_yaml = True  # unknown extension: try YAML next
    if is_yaml:
        try:
            import yaml
        except ImportError:
            raise _UsageError(
                f"reading the YAML config {path!r} needs PyYAML: `pip install "
                "keras-vae[yaml]` (or `pip install pyyaml`), or use a .json config."
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            detail = " ".join(str(exc).split())
            raise _UsageError(f"config file {path!r} is not valid YAML: {detail}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _UsageError(
            f"config file {path!r} must hold a mapping of settings (key: value), "
            f"got {type(data).__name__}."
        )
    return data


def resolve_train_settings(args: argparse.Namespace) -> TrainSettings:
    """Defaults < ``--config`` file < flags given on the command line."""
    values: dict = {}
    if getattr(args, "config", None):
        from_file = load_config_file(args.config)
        TrainSettings.from_dict(from_file, f"config file {args.config!r}")  # check the file alone
        values.update({str(k).replace("-", "_"): v for k, v in from_file.items()})
    flags = {key: getattr(args, key) for key in TrainSettings.keys() if hasattr(args, key)}
    values.update(flags)
    return TrainSettings.from_dict(values, "command line")


# --------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and lets main() pick the status."""

    def error(self, message: str):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _argparse_type(check: Callable[[Any], Any], name: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


_TRAIN_EPILOG = """\
settings can also come from a JSON or YAML file (--config); flags given on the
command line override the file. Keys are the flag names with _ or -, e.g.:

  # vae.yaml
  dataset: mnist
  epochs: 20
  latent_dim: 32
  hidden_units: [512, 256]
  binarize: true

the run folder gets model.keras, serving/ (TF Serving SavedModel), samples.png,
reconstructions.png, latent.png, curves.png, kl.png (manifold.png for a 2-D
latent space), history.csv, metrics.json and config.json (reusable as --config).

examples:
  keras-vae train                                  # bundled MNIST sample, offline
  keras-vae train mnist --epochs 20 --binarize --output runs/mnist
  keras-vae train --config vae.yaml --epochs 3     # the file, but 3 epochs
  keras-vae train data.npz --likelihood gaussian --latent-dim 8
"""

_MAIN_EPILOG = """\
examples:
  keras-vae train --output runs/first               # train on the bundled sample
  keras-vae evaluate runs/first/model.keras sample  # ELBO, log-likelihood, bits/dim
  keras-vae sample runs/first/model.keras -n 64 -o grid.png
  keras-vae components                              # built-in and plugin components

run 'keras-vae <command> --help' for the options of a command.
"""


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=79)


def build_parser() -> argparse.ArgumentParser:
    from keras_vae.version import __version__

    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="Train, evaluate and sample variational autoencoders (keras_vae).",
        epilog=_MAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--debug", action="store_true", default=False, help="show full tracebacks on errors"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="show full tracebacks on errors",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # -- train
    train = commands.add_parser(
        "train",
        parents=[common],
        help="train a VAE and write a run folder",
        description=_wrap(
            "Train a VAE on a data set (the train split; the test split is the "
            "validation data) and write the model, its serving export, figures and "
            "metrics to a run folder."
        ),
        epilog=_TRAIN_EPILOG,
        formatter_class=formatter,
    )
    fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
    train.add_argument(
        "dataset",
        nargs="?",
        default=argparse.SUPPRESS,
        metavar="DATASET|PATH",
        help=f"{fields['dataset'].metadata['help']} (default: sample)",
    )
    train.add_argument(
        "--config", metavar="FILE", help="JSON or YAML file of settings (keys as below)"
    )
    for name, field in fields.items():
        if name in ("dataset", "binarize", "export"):
            continue
        meta = field.metadata
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        shown = meta.get("shown", " ".join(map(str, default)) if isinstance(default, list) else default)
        kwargs = dict(
            default=argparse.SUPPRESS,
            help=f"{meta['help']} (default: {shown})",
            type=_argparse_type(meta["check"] if name != "hidden_units" else _positive_int, name),
        )
        for key in ("metavar", "nargs", "choices"):
            if key in meta:
                kwargs[key] = meta[key]
        if "choices" in meta:
            kwargs["type"] = str.lower
        train.add_argument("--" + name.replace("_", "-"), dest=name, **kwargs)
    train.add_argument(
        "--binarize",
        dest="binarize",
        action="store_true",
        default=argparse.SUPPRESS,
        help=f"{fields['binarize'].metadata['help']} (default: off)",
    )
    train.add_argument(
        "--no-export",
        dest="export",
        action="store_false",
        default=argparse.SUPPRESS,
        help="skip the TF Serving export (serving/)",
    )
    train.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved settings as JSON and exit without training",
    )

    # -- evaluate
    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="score a saved model on a data set",
        description=_wrap(
            "Report the ELBO, an importance-sampled log-likelihood estimate, bits per "
            "dimension and the number of active latent units of a saved model on a "
            "data set."
        ),
        epilog="examples:\n  keras-vae evaluate runs/first/model.keras sample\n"
        "  keras-vae evaluate model.keras mnist --num-samples 1000 --json",
        formatter_class=formatter,
    )
    evaluate.add_argument("model", metavar="MODEL", help="a .keras file saved by keras_vae")
    evaluate.add_argument(
        "data", metavar="DATA", help="data set name (mnist, fashion_mnist, sample) or path"
    )
    evaluate.add_argument(
        "--split", choices=("train", "test"), default="test", help="split to score (default: test)"
    )
    evaluate.add_argument(
        "--num-samples", type=_argparse_type(_positive_int, "num_samples"), default=100,
        metavar="K", help="importance samples per example (default: 100)",
    )
    evaluate.add_argument(
        "--limit", type=_argparse_type(_positive_int, "limit"), default=None, metavar="N",
        help="score at most N examples (default: all)",
    )
    evaluate.add_argument(
        "--batch-size", type=_argparse_type(_positive_int, "batch_size"), default=100,
        metavar="N", help="examples per batch (default: 100)",
    )
    evaluate.add_argument(
        "--binarize", action="store_true",
        help="binarize the data once (seeded) before scoring, as for a model trained "
        "with --binarize",
    )
    evaluate.add_argument(
        "--seed", type=_argparse_type(_seed, "seed"), default=0, metavar="S",
        help="seed of the Monte Carlo estimates and of --binarize (default: 0)",
    )
    evaluate.add_argument("--json", action="store_true", help="print the results as JSON")

    # -- sample
    sample = commands.add_parser(
        "sample",
        parents=[common],
        help="draw samples from a saved model into an image grid",
        description=_wrap(
            "Decode z ~ p(z) with a saved model and save the grid of samples (the mean "
            "of p(x|z)) as a PNG, or the raw array with a .npy output."
        ),
        epilog="examples:\n  keras-vae sample runs/first/model.keras -n 64 -o grid.png\n"
        "  keras-vae sample model.keras -n 1000 -o samples.npy --seed 3",
        formatter_class=formatter,
    )
    sample.add_argument("model", metavar="MODEL", help="a .keras file saved by keras_vae")
    sample.add_argument(
        "-n", "--num", dest="n", type=_argparse_type(_positive_int, "n"), default=64,
        metavar="N", help="number of samples (default: 64)",
    )
    sample.add_argument(
        "-o", "--output", default="samples.png", metavar="FILE",
        help="output .png grid, or .npy for the array (default: samples.png)",
    )
    sample.add_argument(
        "--seed", type=_argparse_type(_seed, "seed"), default=0, metavar="S",
        help="sampling seed (default: 0)",
    )

    # -- components
    components = commands.add_parser(
        "components",
        parents=[common],
        help="list built-in and plugin components",
        description=_wrap(
            "List the registered components of each kind (encoder, decoder, posterior, "
            "likelihood, prior, objective), built-in and from installed plugins."
        ),
        formatter_class=formatter,
    )
    components.add_argument("--json", action="store_true", help="print the list as JSON")
    return parser


# -------------------------------------------------------------------- helpers
def _say(*lines: str) -> None:
    print(*lines, sep="\n", flush=True)


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _load_splits(dataset: str, limit: int | None, seed: int):
    """Train and test arrays; a path without a separate test split gets a 10% holdout."""
    from keras_vae import datasets

    x_train, y_train = datasets.load_dataset(dataset, split="train")
    x_test, y_test = datasets.load_dataset(dataset, split="test")
    note = None
    if x_train.shape == x_test.shape and np.array_equal(x_train, x_test):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(x_train))
        n_test = max(1, len(x_train) // 10)
        if len(x_train) - n_test < 1:
            raise ValueError(f"{dataset!r} holds {len(x_train)} example(s): too few to train on.")
        test_idx, train_idx = order[:n_test], order[n_test:]
        x_test, x_train = x_train[test_idx], x_train[train_idx]
        if y_train is not None:
            y_test, y_train = y_train[test_idx], y_train[train_idx]
        note = f"{dataset!r} has no separate test split: holding out {n_test} examples for testing."
    if limit is not None:
        x_train, x_test = x_train[:limit], x_test[:limit]
        y_train = None if y_train is None else y_train[:limit]
        y_test = None if y_test is None else y_test[:limit]
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    return (x_train, y_train), (x_test, y_test), note


def _run_dir(output: str | None) -> str:
    if output:
        return output
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join("runs", stamp)
    suffix = 1
    while os.path.exists(path):
        path = os.path.join("runs", f"{stamp}-{suffix}")
        suffix += 1
    return path


def _build_vae(s: TrainSettings, input_shape):
    import keras_vae as kv

    if s.encoder == "conv":
        encoder = kv.encoders.ConvEncoder(hidden_units=s.hidden_units)
    else:
        encoder = kv.encoders.MLPEncoder(s.hidden_units)
    if s.decoder == "conv":
        decoder = kv.decoders.ConvDecoder()
    else:
        decoder = kv.decoders.MLPDecoder(list(reversed(s.hidden_units)))
    return kv.VAE(
        encoder=encoder,
        decoder=decoder,
        latent_dim=s.latent_dim,
        input_shape=input_shape,
        likelihood=s.likelihood,
        beta=s.beta,
        seed=s.seed,
    )


def _elbo_mean(vae, x: np.ndarray, batch_size: int, seed: int) -> float:
    total = 0.0
    for i in range(0, len(x), batch_size):
        batch = x[i : i + batch_size]
        total += float(np.sum(np.asarray(vae.elbo(batch, seed=seed + i))))
    return total / len(x)


def _active_units(vae, x) -> int:
    result = vae.active_units(x)
    if isinstance(result, dict):
        for key in ("active_units", "count", "num_active", "active"):
            if key in result:
                result = result[key]
                break
    if isinstance(result, (tuple, list)) and result and np.ndim(result[0]) == 0:
        result = result[0]
    array = np.asarray(result)
    if array.ndim == 0:
        return int(array)
    return int(np.count_nonzero(array))  # a per-dimension mask


def _score(vae, x: np.ndarray, num_samples: int, batch_size: int, seed: int) -> dict:
    """ELBO, log-likelihood estimate, bits/dim, active units and KL per dimension of
    ``x`` (nats), through the model's public methods."""
    dims = int(np.prod(x.shape[1:]))
    elbo = _elbo_mean(vae, x, batch_size, seed)
    ll = np.asarray(vae.log_likelihood(x, num_samples=num_samples, batch_size=batch_size, seed=seed))
    ll_mean = float(np.mean(ll))
    return {
        "num_examples": int(len(x)),
        "elbo": elbo,
        "log_likelihood": ll_mean,
        "log_likelihood_num_samples": int(num_samples),
        "bits_per_dim": -ll_mean / (dims * math.log(2.0)),
        "active_units": _active_units(vae, x),
        "latent_dim": int(vae.latent_dim),
        "kl_per_dimension": [float(v) for v in np.asarray(vae.kl_per_dimension(x)).reshape(-1)],
    }


def _table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


# ------------------------------------------------------------------- commands
def _cmd_train(args: argparse.Namespace) -> int:
    settings = resolve_train_settings(args)
    if args.print_config:
        _say(json.dumps(settings.to_dict(), indent=2))
        return 0
    s = settings
    started = time.perf_counter()

    import keras

    import keras_vae as kv
    from keras_vae import datasets

    (x_train, y_train), (x_test, y_test), note = _load_splits(s.dataset, s.limit, s.seed)
    if note:
        _say(note)
    keras.utils.set_random_seed(s.seed)
    vae = _build_vae(s, x_train.shape[1:])
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=s.learning_rate))
    if s.binarize:  # both calls reject data outside [0, 1]
        train_data = datasets.dynamic_binarization(
            x_train, batch_size=s.batch_size, shuffle=True, seed=s.seed
        )
        x_eval = datasets.binarize(x_test, seed=s.seed)
        fit_kwargs = {"shuffle": False}  # the pipeline shuffles every epoch itself
    else:
        vae.check_data(x_train, "the training data")
        vae.check_data(x_test, "the test data")
        train_data, x_eval = x_train, x_test
        fit_kwargs = {"batch_size": s.batch_size, "shuffle": True}

    # Only now, with settings, data and model known to be usable, make the folder.
    run = _run_dir(s.output)
    os.makedirs(run, exist_ok=True)
    path = lambda name: os.path.join(run, name)  # noqa: E731
    config = s.to_dict() | {"output": run}
    with open(path("config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)

    _say(
        f"Training a {s.encoder}/{s.decoder} VAE (latent_dim={s.latent_dim}, "
        f"{s.likelihood} likelihood) on {s.dataset!r}: {len(x_train)} training and "
        f"{len(x_test)} test examples of shape {tuple(x_train.shape[1:])}, {s.epochs} epoch(s)."
    )
    history = vae.fit(
        train_data,
        epochs=s.epochs,
        validation_data=(x_eval,),
        callbacks=[keras.callbacks.CSVLogger(path("history.csv"))],
        **fit_kwargs,
    )
    train_time = time.perf_counter() - started
    vae.save(path("model.keras"))

    # Scores first, written at once: a later step that fails (export, pictures)
    # must not lose them. metrics.json is rewritten as each step finishes.
    failures: list[str] = []
    _say("Evaluating on the test split ...")
    test = vae.evaluate(x_eval, batch_size=s.batch_size, return_dict=True, verbose=0)
    scores = _score(vae, x_eval, s.num_samples, s.batch_size, s.seed)
    kl = np.asarray(scores.pop("kl_per_dimension"))
    metrics = {
        "dataset": s.dataset,
        "num_train": int(len(x_train)),
        "num_test": int(len(x_eval)),
        "test_elbo": _finite(test["elbo"]),
        "test_reconstruction_loss": _finite(test["reconstruction_loss"]),
        "test_kl": _finite(test["kl"]),
        "test_log_likelihood": _finite(scores["log_likelihood"]),
        "log_likelihood_num_samples": scores["log_likelihood_num_samples"],
        "test_bits_per_dim": _finite(scores["bits_per_dim"]),
        "active_units": scores["active_units"],
        "latent_dim": s.latent_dim,
        "kl_per_dimension": [float(v) for v in kl.reshape(-1)],
        "final_train": {k: _finite(v[-1]) for k, v in history.history.items()},
        "train_time_s": round(train_time, 3),
        "wall_time_s": None,
        "serving_export": None,
        "failed_steps": failures,
        "versions": {
            "keras_vae": kv.__version__,
            "keras": keras.__version__,
            "tensorflow": __import__("tensorflow").__version__,
        },
        "config": config,
    }

    def write_metrics() -> None:
        metrics["wall_time_s"] = round(time.perf_counter() - started, 3)
        with open(path("metrics.json"), "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2)

    write_metrics()

    def attempt(step: str, action: Callable[[], Any]) -> Any:
        """Run one step after training; a failure is reported, recorded and skipped."""
        try:
            return action()
        except Exception as exc:  # the model and metrics are saved: go on
            message = f"{step} failed: {type(exc).__name__}: {_one_line(exc)}"
            failures.append(message)
            print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
            return None

    serving = None
    if not s.export:
        export_note = "skipped (--no-export)"
    else:
        serving = attempt("the serving export (serving/)", lambda: vae.export(path("serving")))
        export_note = serving if serving is not None else "FAILED (see the error above)"
    metrics["serving_export"] = serving
    write_metrics()

    figures = {}

    def figure(name: str, draw: Callable[[], Any]) -> None:
        if attempt(f"the picture {name}", draw) is not None:
            figures[name] = path(name)

    try:
        from keras_vae import plotting
    except ImportError as exc:  # pragma: no cover - matplotlib is an install requirement
        plotting = None
        attempt("the pictures", lambda: (_ for _ in ()).throw(exc))
    if plotting is not None:
        figure("samples.png", lambda: plotting.sample_grid(vae, n=64, seed=s.seed, path=path("samples.png")))
        figure(
            "reconstructions.png",
            lambda: plotting.reconstruction_grid(vae, x_eval, n=32, ncols=8, path=path("reconstructions.png")),
        )
        figure(
            "latent.png",
            lambda: plotting.latent_scatter(
                vae, x_eval[:2000], None if y_test is None else y_test[:2000], path=path("latent.png")
            ),
        )
        figure("curves.png", lambda: plotting.training_curves(history, path=path("curves.png")))
        figure("kl.png", lambda: plotting.kl_per_dimension_plot(kl, path=path("kl.png")))
        if s.latent_dim == 2 and plotting.as_images(x_eval[:1]) is not None:
            figure("manifold.png", lambda: plotting.manifold(vae, n=20, path=path("manifold.png")))
    write_metrics()
    wall = metrics["wall_time_s"]
    exit_code = 1 if failures else 0

    listing = [
        ("model.keras", "trained model (keras_vae.load_model)"),
        ("serving/", f"TF Serving SavedModel: {export_note}"),
    ] + [(name, "figure") for name in figures] + [
        ("history.csv", "per-epoch training and validation metrics"),
        ("metrics.json", "test metrics, wall time and settings"),
        ("config.json", "resolved settings (reusable with --config)"),
    ]
    _say(
        "",
        f"Run folder: {run}",
        _table(listing),
        "",
        f"Test ELBO {metrics['test_elbo']:.2f} nats | log-likelihood (K={s.num_samples}) "
        f"{scores['log_likelihood']:.2f} nats | {scores['bits_per_dim']:.4f} bits/dim | "
        f"active units {scores['active_units']}/{s.latent_dim} | {wall:.1f} s",
    )
    if failures:
        print(
            f"{PROG}: error: {len(failures)} step(s) after training failed ({'; '.join(failures)}); "
            f"the model and metrics are saved in {run}",
            file=sys.stderr,
        )
    return exit_code


def _load_vae(path: str):
    import keras_vae as kv

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r} (expected a .keras file).")
    vae = kv.load_model(path, compile=False)
    if not hasattr(vae, "sample") or not hasattr(vae, "latent_dim"):
        raise ValueError(f"{path!r} holds a {type(vae).__name__}, not a keras_vae VAE.")
    return vae


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from keras_vae import datasets

    vae = _load_vae(args.model)
    x, _ = datasets.load_dataset(args.data, split=args.split)
    if args.limit is not None:
        x = x[: args.limit]
    x = np.asarray(x, np.float32)
    if args.binarize:
        x = datasets.binarize(x, seed=args.seed)
    vae.check_data(x, "DATA")
    scores = _score(vae, x, args.num_samples, args.batch_size, args.seed)
    scores = {"model": args.model, "data": args.data, "split": args.split} | scores
    if args.json:
        _say(json.dumps({k: (_finite(v) if isinstance(v, float) else v) for k, v in scores.items()}, indent=2))
        return 0
    _say(
        f"{args.model} on {args.data!r} ({args.split} split, {scores['num_examples']} examples)",
        _table(
            [
                ("ELBO", f"{scores['elbo']:.3f} nats"),
                ("log-likelihood", f"{scores['log_likelihood']:.3f} nats (K={args.num_samples})"),
                ("bits/dim", f"{scores['bits_per_dim']:.4f}"),
                ("active units", f"{scores['active_units']} / {scores['latent_dim']}"),
            ]
        ),
    )
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    vae = _load_vae(args.model)
    out = args.output
    directory = os.path.dirname(out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    if out.lower().endswith(".npy"):
        np.save(out, np.asarray(vae.sample(args.n, seed=args.seed)))
    else:
        from keras_vae import plotting

        plotting.sample_grid(vae, n=args.n, seed=args.seed, path=out)
    _say(f"Wrote {args.n} samples to {out}")
    return 0


def _cmd_components(args: argparse.Namespace) -> int:
    import keras_vae as kv
    from keras_vae import registry

    listing = kv.list_components()
    table = {}
    for kind, names in listing.items():
        entries = []
        for name in names:
            cls = registry.get_class(kind, name)
            package = cls.__module__.split(".")[0]
            entries.append(
                {
                    "name": name,
                    "class": f"{cls.__module__}.{cls.__qualname__}",
                    "source": "built-in" if package == "keras_vae" else f"plugin ({package})",
                }
            )
        table[kind] = entries
    if args.json:
        _say(json.dumps(table, indent=2))
        return 0
    width = max(len(kind) for kind in table) + 1
    for kind, entries in table.items():
        shown = ", ".join(
            e["name"] + ("" if e["source"] == "built-in" else f" [{e['source']}]") for e in entries
        )
        _say(f"{(kind + ':').ljust(width)}  {shown or '(none)'}")
    return 0


_COMMANDS = {
    "train": _cmd_train,
    "evaluate": _cmd_evaluate,
    "sample": _cmd_sample,
    "components": _cmd_components,
}


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    if hasattr(exc, "message") and isinstance(getattr(exc, "message"), str):  # tf OpError
        text = exc.message
    text = " ".join(text.split()) or type(exc).__name__
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``keras-vae`` command line and return its exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when a command fails, 2 for usage errors (argparse's own
        exits, e.g. ``--help``, return their status too).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        debug = bool(getattr(args, "debug", False))
        if args.command is None:
            parser.print_help()
            return 2
        return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except _UsageError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        if not _is_expected(exc):
            # An unexpected failure: still one line, but say how to see more.
            print(
                f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)} (run with --debug "
                "for the traceback)",
                file=sys.stderr,
            )
            return 1
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _is_expected(exc: BaseException) -> bool:
    if isinstance(exc, (ValueError, OSError, ImportError, KeyError)):
        return True
    try:
        import tensorflow as tf

        return isinstance(exc, tf.errors.OpError)
    except ImportError:  # pragma: no cover
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

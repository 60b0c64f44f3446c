"""The ``keras-vae`` argument parser, built from :class:`TrainSettings` (no TensorFlow)."""
from __future__ import annotations

import argparse
import dataclasses
import textwrap
from typing import Any, Callable

from keras_vae.cli import validators as check
from keras_vae.cli.errors import UsageError
from keras_vae.cli.settings import COMPONENT_KINDS, TrainSettings

PROG = "keras-vae"
# Output formats of `keras-vae sample -o FILE`, by extension.
SAMPLE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".npy": "npy"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and lets main() pick the status."""

    def error(self, message: str):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _argparse_type(check_value: Callable[[Any], Any], name: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return check_value(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _positive(name: str) -> Callable[[str], int]:
    return _argparse_type(check.positive_int, name)


_SEED = _argparse_type(check.seed, "seed")


_TRAIN_EPILOG = """\
components: --encoder, --decoder, --posterior, --prior, --likelihood and --objective
take any registered name, built-in or from an installed plugin, and
--<kind>-options takes that component's options as a JSON object, e.g.
  --likelihood gaussian --likelihood-options '{"scale": "per_feature"}'
'keras-vae components' lists every name with its options and defaults.

settings can also come from a JSON or YAML file (--config); flags given on the
command line override the file. Keys are the flag names with _ or -, e.g.:

  # vae.yaml
  dataset: mnist
  epochs: 20
  latent_dim: 32
  likelihood: gaussian
  likelihood_options: {scale: shared}     # or: likelihood: {name: gaussian, scale: shared}
  hidden_units: [512, 256]

the run folder gets model.keras, serving/ (TF Serving SavedModel), pictures
(image data: samples.png, reconstructions.png, manifold.png for a 2-D latent
space, samples_by_class.png for a model conditioned on labels; other data: features.png, reconstructions.png, samples.png as per-feature
plots), latent.png, curves.png, kl.png, history.csv, metrics.json (written as
soon as the test scores exist), config.json (reusable as --config) and, for a
file without a test split, split.json (the held-out rows evaluate scores). With
--standardize the statistics live inside model.keras. A run folder that is not empty is refused
unless --overwrite (start again) or --resume (continue it) is given.

examples:
  keras-vae train --output runs/demo                 # bundled MNIST sample, offline
  keras-vae train mnist --epochs 20 --binarize --output runs/mnist
  keras-vae train --config vae.yaml --epochs 3       # the file, but 3 epochs
  keras-vae train table.csv --standardize --likelihood gaussian --latent-dim 2
  keras-vae train --resume runs/mnist                # continue an interrupted run
  keras-vae train mnist --condition-column label --latent-dim 2 --output runs/digits
                                                     # p(x | label); then sample --condition 7
  keras-vae train cells.csv --condition-column batch --likelihood negative_binomial
"""

_MAIN_EPILOG = """\
examples:
  keras-vae train --output runs/demo                 # train on the bundled sample
  keras-vae evaluate runs/demo/model.keras sample    # ELBO, log-likelihood, bits/dim
  keras-vae evaluate runs/demo/model.keras sample --method ais --limit 100
  keras-vae gaps runs/demo/model.keras sample --limit 100 --plot runs/demo/gaps.png
  keras-vae sample runs/demo/model.keras -n 64 -o runs/demo/grid.png
  keras-vae export runs/demo/model.keras runs/serving/vae --version 3
  keras-vae score runs/table/model.keras table.csv -o scores.csv   # anomaly scores
  keras-vae components                               # built-in and plugin components

run 'keras-vae <command> --help' for the options of a command.
"""


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=79)


def _subcommand(commands, common, formatter, name: str, help: str, description: str, epilog: str | None = None):
    """A sub-command with the options every command takes (``common``: --debug)."""
    return commands.add_parser(
        name,
        parents=[common],
        help=help,
        description=_wrap(description),
        epilog=epilog,
        formatter_class=formatter,
    )


def _add_train(commands, common, formatter) -> None:
    train = _subcommand(
        commands, common, formatter, "train", "train a VAE and write a run folder",
        "Train a VAE on a data set (the train split; the test split, or a 10% "
        "holdout when there is none, is the validation data) and write the model, "
        "its serving export, pictures and metrics to a run folder.",
        epilog=_TRAIN_EPILOG,
    )
    fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
    train.add_argument(
        "dataset",
        nargs="?",
        default=argparse.SUPPRESS,
        metavar="DATASET|PATH",
        help=f"{fields['dataset'].metadata['help']} (default: sample)",
    )
    train.add_argument("--config", metavar="FILE", help="JSON or YAML file of settings (keys as below)")
    switches = {
        "binarize": ("--binarize", "store_true", "(default: off)"),
        "standardize": ("--standardize", "store_true", "(default: off)"),
        "init_output_bias": ("--init-output-bias", "store_true", "(default: off)"),
        "export": ("--no-export", "store_false", ""),
    }
    for name, field in fields.items():
        meta = field.metadata
        if name == "dataset":
            continue
        if name in switches:
            flag, action, note = switches[name]
            help_text = "skip the TF Serving export (serving/)" if name == "export" else f"{meta['help']} {note}"
            train.add_argument(flag, dest=name, action=action, default=argparse.SUPPRESS, help=help_text)
            continue
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        shown = meta.get("shown", " ".join(map(str, default)) if isinstance(default, list) else default)
        kwargs = dict(
            default=argparse.SUPPRESS,
            help=f"{meta['help']} (default: {shown})",
            # A list setting's flag takes its items one by one.
            type=_argparse_type({"hidden_units": check.positive_int, "drop_columns": check.string}.get(name, meta["check"]), name),
        )
        for key in ("metavar", "nargs"):
            if key in meta:
                kwargs[key] = meta[key]
        train.add_argument("--" + name.replace("_", "-"), dest=name, **kwargs)
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="train into an output folder that already holds a run, replacing that run's files",
    )
    train.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the interrupted run in the folder RUN from its last finished epoch "
        "(its settings come from RUN/config.json; --epochs may raise the total)",
    )
    train.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved settings as JSON and exit without training",
    )


def _command(commands, common, formatter, name: str, help: str, description: str, examples: list[str]):
    """A sub-command whose first argument is a saved model."""
    epilog = "examples:\n" + "\n".join(f"  keras-vae {name} {e}" for e in examples)
    command = _subcommand(commands, common, formatter, name, help, description, epilog)
    command.add_argument("model", metavar="MODEL", help="a .keras file saved by keras_vae")
    return command


def _add_data_options(command, use: str) -> None:
    """DATA and --split: the data a command reads (``use``: what it does with the split)."""
    command.add_argument("data", metavar="DATA", help="data set name (mnist, fashion_mnist, sample) or path")
    command.add_argument(
        "--split", choices=("train", "test", "all"), default="test",
        help=f"split to {use}: for a file without one, test = the rows train held out "
             "(split.json beside MODEL), train = the others, all = every row (default: test)",
    )


def _add_binarize_and_seed(command, binarize_when: str, seed_help: str) -> None:
    """--binarize (``binarize_when``: when it happens) and --seed (help ``seed_help``)."""
    command.add_argument(
        "--binarize", action="store_true",
        help=f"binarize the data once (seeded){binarize_when}, as for a model trained with --binarize",
    )
    command.add_argument("--seed", type=_SEED, default=0, metavar="S", help=seed_help)


AIS_DEFAULTS = {"num_steps": 500, "num_chains": 16, "anneal_from": "prior"}


def _add_ais_options(command, given_only: bool = False) -> None:
    """--num-steps, --num-chains, --anneal-from: settings of AIS (kv.evaluation.ais_log_likelihood).

    ``given_only``: leave them ``None`` unless given, so a command where AIS is one
    choice (``evaluate --method``) can refuse them without it (``ais_settings``)."""
    default = (lambda key: None) if given_only else AIS_DEFAULTS.get
    command.add_argument(
        "--num-steps", type=_positive("num_steps"), default=default("num_steps"), metavar="T",
        help="AIS annealing steps (default: 500; hundreds to thousands for an image model)",
    )
    command.add_argument(
        "--num-chains", type=_positive("num_chains"), default=default("num_chains"), metavar="C",
        help="AIS chains per example (default: 16)",
    )
    command.add_argument(
        "--anneal-from", choices=("prior", "q"), default=default("anneal_from"),
        help="AIS starts at the prior p(z) or at the encoder's q(z|x) (default: prior)",
    )


def _add_gaps(commands, common, formatter) -> None:
    gaps = _command(
        commands, common, formatter, "gaps", "split the inference gap of a saved model (AIS)",
        "Report log p(x) (AIS), the ELBO of the encoder's q(z|x) and the ELBO of a q of "
        "the same family optimized per example, and the gaps between them in nats per "
        "example (Cremer et al. 2018): the approximation gap (the posterior family is "
        "too narrow) and the amortization gap (the encoder misses the best q). Costly: "
        "use --limit. A model trained with --condition-column is given each row's "
        "condition from DATA (log p(x | c) and the ELBOs given c).",
        ["runs/demo/model.keras sample --limit 100",
         "model.keras mnist --limit 200 --num-steps 1000 --json gaps.json --plot cost.png"],
    )
    _add_data_options(gaps, "use")
    gaps.add_argument(
        "--limit", type=_positive("limit"), default=100, metavar="N",
        help="use the first N examples (default: 100)",
    )
    _add_ais_options(gaps)
    gaps.add_argument(
        "--optimize-steps", type=_positive("optimize_steps"), default=3000, metavar="N",
        help="the most Adam steps of the per-example q; each stops earlier once its ELBO "
        "stops rising, and examples still rising at N are counted and warned about "
        "(default: 3000)",
    )
    _add_binarize_and_seed(gaps, "", "seed of the estimates (default: 0)")
    gaps.add_argument("--json", default=None, metavar="FILE", help="also write the gaps table as JSON to FILE")
    gaps.add_argument(
        "--plot", default=None, metavar="FILE",
        help="also draw the log p(x) estimates against their cost (importance sampling "
        "and AIS at several settings) to FILE (e.g. .png)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``keras-vae`` command (fast: imports no TensorFlow)."""
    from keras_vae.version import __version__

    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="Train, evaluate, sample and export variational autoencoders (keras_vae).",
        epilog=_MAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help="show full tracebacks on errors")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_train(commands, common, formatter)

    evaluate = _command(
        commands, common, formatter, "evaluate", "score a saved model on a data set",
        "Report the ELBO, a log-likelihood estimate (importance-sampled, or AIS with "
        "--method ais), bits per dimension (for a discrete likelihood) and the number "
        "of active latent units of a saved model on a "
        "data set. A progress bar on stderr follows long work. For a file without a "
        "test split, --split test (the default) scores the rows train held out "
        "(split.json), and says which. A model trained with --standardize takes the "
        "data in their own units; a model trained with --condition-column is given each "
        "row's condition from DATA (log p(x | c)).",
        ["runs/demo/model.keras sample", "model.keras mnist --num-samples 1000 --json",
         "model.keras mnist --method ais --num-steps 1000 --limit 500"],
    )
    _add_data_options(evaluate, "score")
    evaluate.add_argument(
        "--num-samples", type=_positive("num_samples"), default=100, metavar="K",
        help="importance samples per example (default: 100)",
    )
    evaluate.add_argument(
        "--method", choices=("iwae", "ais"), default="iwae",
        help="log-likelihood estimator: importance sampling with K samples, or annealed "
        "importance sampling (slower, tighter when q is poor) (default: iwae)",
    )
    _add_ais_options(evaluate, given_only=True)
    evaluate.add_argument(
        "--limit", type=_positive("limit"), default=None, metavar="N", help="score at most N examples (default: all)"
    )
    evaluate.add_argument(
        "--batch-size", type=_positive("batch_size"), default=100, metavar="N",
        help="examples per batch (default: 100)",
    )
    _add_binarize_and_seed(
        evaluate, " before scoring", "seed of the Monte Carlo estimates and of --binarize (default: 0)"
    )
    evaluate.add_argument("--json", action="store_true", help="print the results as JSON")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_gaps(commands, common, formatter)

    score = _command(
        commands, common, formatter, "score", "write log p(x) per row of a data set (anomaly scores)",
        "Write the importance-sampled log p(x) of every row of DATA to a CSV (row, "
        "log_px; rows counted from 1), with the same K draws for every row, as the "
        "exported score signature: a row scores the same alone or in a batch. Lower "
        "is more anomalous; choose a threshold on scores of normal rows "
        "(keras_vae.evaluation.anomaly_threshold). A model trained with "
        "--condition-column is given each row's condition from DATA (log p(x | c)).",
        ["runs/table/model.keras measurements.csv -o scores.csv",
         "runs/table/model.keras measurements.csv --split test --num-samples 256"],
    )
    score.add_argument("data", metavar="DATA", help="data set name (mnist, fashion_mnist, sample) or path")
    score.add_argument(
        "--split", choices=("train", "test", "all"), default="all",
        help="rows to score: all, or for a file without a test split the rows train held "
             "out (test) or trained on (train) (default: all)",
    )
    score.add_argument("-o", "--output", default=None, metavar="FILE",
                       help="the CSV to write (default: scores.csv beside MODEL)")
    score.add_argument(
        "--num-samples", type=_positive("num_samples"), default=64, metavar="K",
        help="importance samples per row, shared by every row (default: 64, as the served score)",
    )
    score.add_argument(
        "--batch-size", type=_positive("batch_size"), default=256, metavar="N",
        help="rows per pass (memory only; the scores do not depend on it) (default: 256)",
    )

    sample = _command(
        commands, common, formatter, "sample", "draw samples from a saved model",
        "Decode z ~ p(z) with a saved model and write the samples (the mean of "
        "p(x|z)): a picture for .png / .jpg / .jpeg (a grid for images, per-feature "
        "plots otherwise) or the array for .npy (in the data's own units when the "
        "model was trained with --standardize).",
        ["runs/demo/model.keras -n 64 -o runs/demo/grid.png", "model.keras -n 1000 -o samples.npy --seed 3",
         "runs/digits/model.keras --condition 7 -o sevens.png   # a model trained with --condition-column label"],
    )
    sample.add_argument(
        "-n", "--num", dest="n", type=_positive("n"), default=64, metavar="N",
        help="number of samples (default: 64)",
    )
    sample.add_argument(
        "-o", "--output", default=None, metavar="FILE",
        help=f"output file: {', '.join(SAMPLE_FORMATS)} (default: sampled.png beside MODEL)",
    )
    sample.add_argument("--seed", type=_SEED, default=0, metavar="S", help="sampling seed (default: 0)")
    sample.add_argument(
        "--condition", default=None, metavar="VALUE",
        help="the condition of every sample, for a conditioned model (train "
             "--condition-column): a label (or a class name of the run's condition.json) "
             "for a one-hot condition, comma-separated numbers for a vector one",
    )

    export = _command(
        commands, common, formatter, "export", "write a saved model as a TF Serving SavedModel",
        "Write a saved model to BASE/<version>/ as a SavedModel with the encode, "
        "decode, reconstruct, sample and score signatures (TF Serving serves the "
        "highest version under BASE).",
        ["runs/demo/model.keras runs/serving/vae",
         "runs/demo/model.keras runs/serving/vae --version 3 --overwrite"],
    )
    export.add_argument("base", metavar="BASE", help="the model's base folder (TF Serving's model_base_path)")
    export.add_argument(
        "--version", type=_positive("version"), default=None, metavar="N",
        help="version number (default: one more than the highest under BASE)",
    )
    export.add_argument("--overwrite", action="store_true", help="replace an existing version N")
    export.add_argument(
        "--format", choices=("tf_saved_model", "litert", "onnx"), default="tf_saved_model",
        help="tf_saved_model (TF Serving, every signature), or litert / onnx (the "
             "deterministic encode and decode parts: BASE/encode.tflite and BASE/decode.tflite, or .onnx) "
             "(default: tf_saved_model)",
    )
    export.add_argument(
        "--score-samples", type=_positive("score_samples"), default=64, metavar="K",
        help="importance samples of the SavedModel's score signature (default: 64)",
    )

    dis = _command(
        commands, common, formatter, "disentanglement", "disentanglement metrics of a saved model",
        "Compute the disentanglement metrics (MIG, DCI, SAP, the FactorVAE and beta-VAE "
        "scores, modularity; disentanglement_lib's definitions, scikit-learn needed) of a "
        "saved model on dSprites-like data, print the table and draw a latent traversal "
        "(one row per latent, sorted by KL).",
        ["model.keras --data dsprites", "model.keras --data dsprites_small --metrics mig,sap --num-train 2000"],
    )
    dis.add_argument("--data", choices=("dsprites", "dsprites_small"), default="dsprites",
                     help="ground-truth data (default: dsprites, 64 x 64)")
    dis.add_argument("--metrics", default="mig,dci,sap,factor_vae_score,beta_vae_score,modularity",
                     help="comma-separated metrics (default: all)")
    dis.add_argument("--num-train", type=_positive("num_train"), default=10000, metavar="N",
                     help="points per metric (default: 10000)")
    dis.add_argument("--num-test", type=_positive("num_test"), default=5000, metavar="N",
                     help="evaluation points (default: 5000)")
    dis.add_argument("--seed", type=_SEED, default=0, metavar="S", help="random seed (default: 0)")
    dis.add_argument("--json", default=None, metavar="FILE", help="also write the scores as JSON")
    dis.add_argument("--traversal", default=None, metavar="FILE",
                     help="traversal picture (default: traversal.png beside MODEL; 'none': no picture)")

    components = _subcommand(
        commands, common, formatter, "components", "list components (built-in and plugin) with their options",
        "List the registered components of each kind (encoder, decoder, posterior, "
        "prior, likelihood, objective), built-in and from installed plugins, with "
        "the options each takes and their defaults (give them with "
        "--<kind>-options to train).",
    )
    components.add_argument(
        "kind", nargs="?", choices=COMPONENT_KINDS, metavar="KIND", help="list one kind only"
    )
    components.add_argument("--json", action="store_true", help="print the list as JSON")
    return parser

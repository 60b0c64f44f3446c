"""``keras-vae train``: data, model, fit (resumable), then scores, export and pictures."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
import warnings
from typing import Any, Callable

from keras_vae.cli.families import after_training_hook, arguments_hook
from keras_vae.cli.errors import UsageError, one_line
from keras_vae.cli.output import relay_warnings, say, table
from keras_vae.cli.parser import PROG
from keras_vae.cli.run_folder import BACKUP_DIR, check_output, clear_run, new_run_dir
from keras_vae.cli.settings import TrainSettings, load_config_file, resolve_train_settings


# ------------------------------------------------------------------ settings
def _resume_settings(args: argparse.Namespace) -> TrainSettings:
    """The settings of the run being resumed (its config.json); only --epochs may change."""
    run = args.resume
    config = os.path.join(run, "config.json")
    if not os.path.isfile(config):
        raise UsageError(f"--resume {run!r}: no run there (no config.json); give the folder of an earlier run.")
    given = [k for k in TrainSettings.keys() if hasattr(args, k) and k != "epochs"]
    if given or getattr(args, "config", None) or args.overwrite:
        extra = ["--" + k.replace("_", "-") for k in given] + (["--config"] if args.config else [])
        extra += ["--overwrite"] if args.overwrite else []
        raise UsageError(
            f"--resume takes the run's settings from {config}; only --epochs may be given with it "
            f"(got {', '.join(extra)})."
        )
    values = load_config_file(config)
    if hasattr(args, "epochs"):
        values["epochs"] = args.epochs
    values["output"] = run
    namespace = argparse.Namespace(config=None, **{k: v for k, v in values.items()})
    return resolve_train_settings(namespace)


# ---------------------------------------------------------------------- data
def _load_splits(dataset: str, limit: int | None, seed: int, normalize: bool = True, drop_columns=None,
                 condition_column: str | None = None):
    """``(x_train, y_train), (x_test, y_test), note, holdout, classes``: a path without
    a separate test split gets a 10% holdout (chosen by ``seed``). With
    ``condition_column`` the y are the conditions (``keras_vae.cli.conditioning``)
    and ``classes`` their class names (or None)."""
    import numpy as np

    from keras_vae import datasets

    from keras_vae.cli import conditioning
    from keras_vae.cli.splits import holdout_rows

    classes = None
    if condition_column is not None and os.path.splitext(dataset)[1].lower() in datasets.TABULAR_EXTENSIONS:
        conditioning.read_condition(dataset, condition_column, "train", None, None)  # the column is there
        drop_columns = [*(drop_columns or []), condition_column]  # not a feature
    extra = {"drop_columns": drop_columns} if drop_columns else {}
    if extra and os.path.splitext(dataset)[1].lower() not in datasets.TABULAR_EXTENSIONS:
        raise ValueError(f"--drop-columns applies to CSV / TSV files, not {dataset!r}.")
    with relay_warnings():  # columns left out, levels that look rescaled: said once
        x_train, y_train = datasets.load_dataset(dataset, split="train", normalize=normalize, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same file again: already said
        x_test, y_test = datasets.load_dataset(dataset, split="test", normalize=normalize, **extra)
    if condition_column is not None:
        y_train, classes = conditioning.read_condition(dataset, condition_column, "train", y_train, len(x_train))
        y_test, _ = conditioning.read_condition(dataset, condition_column, "test", y_test, len(x_test))
    note = holdout = None
    if x_train.shape == x_test.shape and np.array_equal(x_train, x_test):
        num_rows = len(x_train)
        test_idx, train_idx = holdout_rows(num_rows, seed)
        if len(train_idx) < 1:
            raise ValueError(f"{dataset!r} holds {len(x_train)} example(s): too few to train on.")
        x_test, x_train = x_train[test_idx], x_train[train_idx]
        if y_train is not None:
            y_test, y_train = y_train[test_idx], y_train[train_idx]
        note = (f"{dataset!r} has no separate test split: holding out {len(test_idx)} examples for "
                f"testing ({len(test_idx)} of {num_rows} rows, seed {seed}; recorded in split.json, "
                "which evaluate scores by default).")
        holdout = (num_rows, test_idx if limit is None else test_idx[:limit])
    if limit is not None:
        x_train, x_test = x_train[:limit], x_test[:limit]
        y_train = None if y_train is None else y_train[:limit]
        y_test = None if y_test is None else y_test[:limit]
    return (np.asarray(x_train, np.float32), y_train), (np.asarray(x_test, np.float32), y_test), note, holdout, classes


def _columns(dataset: str, drop_columns=None) -> list[str] | None:
    """Feature names of a table file, else ``None``."""
    from keras_vae import datasets

    if os.path.splitext(dataset)[1].lower() in datasets.TABULAR_EXTENSIONS and os.path.isfile(dataset):
        return datasets.read_table(dataset, drop_columns=drop_columns).columns
    return None


# ------------------------------------------------------------------- command
def run(args: argparse.Namespace) -> int:
    resume = getattr(args, "resume", None)
    settings = _resume_settings(args) if resume else resolve_train_settings(args)
    if args.print_config:
        say(json.dumps(settings.to_dict(), indent=2))
        return 0
    s = settings
    run_dir = resume or s.output or new_run_dir()
    # TF_CONFIG (keras_vae.distribute): only the chief writes the run folder; another
    # worker writes to a scratch folder of its own, started afresh unless resuming.
    from keras_vae import distribute

    try:  # a TF_CONFIG that names no task of its cluster is a usage error (exit 2)
        chief = distribute.is_chief()
    except ValueError as exc:
        raise UsageError(f"TF_CONFIG: {exc}") from None
    if not chief:
        run_dir = distribute.worker_folder(run_dir)
    if not resume and chief:
        check_output(run_dir, args.overwrite)
    elif os.path.isfile(os.path.join(run_dir, "model.keras")) and not os.path.isdir(
        os.path.join(run_dir, BACKUP_DIR)
    ):
        raise UsageError(
            f"--resume {run_dir!r}: that run finished (model.keras is there and no checkpoint "
            f"in {BACKUP_DIR}/); to train further start a new run, e.g. --output {run_dir}-more."
        )
    started = time.perf_counter()

    from keras_vae.cli._startup import load_library
    from keras_vae.cli.components import model_arguments, model_class

    kv = load_library()
    strategy = distribute.strategy_from_env()  # several tasks in TF_CONFIG: made first
    import keras
    import numpy as np

    from keras_vae import datasets
    from keras_vae.datasets.binarization import _as_probabilities

    from keras_vae.cli import levels  # integer-valued likelihoods: raw levels, scaled encoder input

    s = levels.with_encoder_scaling(s)
    (x_train, y_train), (x_test, y_test), note, holdout, classes = _load_splits(
        s.dataset, s.limit, s.seed, normalize=not levels.integer_valued(s.likelihood),
        drop_columns=s.drop_columns, condition_column=s.condition_column,
    )
    from keras_vae.cli import conditioning

    c_train = c_test = spec = None
    if s.condition_column is not None:  # the labels are the condition: an input of the model
        if arguments_hook(s.model, model_class(s)) is not None:
            raise UsageError(f"--condition-column applies to --model vae, not --model {s.model}.")
        spec = conditioning.condition_spec(s.condition_type, y_train, y_test, s.condition_column)
        c_train, c_test = (conditioning.as_model_input(c, spec) for c in (y_train, y_test))
        s = dataclasses.replace(s, condition_type=spec["name"])
    elif s.condition_type is not None:
        raise UsageError("--condition-type needs --condition-column (where the condition is in the data).")
    if note:
        say(note)
    table_file = os.path.splitext(s.dataset)[1].lower() in datasets.TABULAR_EXTENSIONS
    columns = _columns(s.dataset, [*(s.drop_columns or []), *([s.condition_column] if table_file and spec else [])])
    path = lambda name: os.path.join(run_dir, name)  # noqa: E731
    # --standardize: the model owns the statistics (a Normalization layer adapted on
    # the training split, saved in model.keras and the export), so the data stay raw.
    standardizer = None
    continuous = levels.real_valued(s.likelihood)
    if s.standardize and not continuous:
        raise UsageError(
            f"--standardize maps each feature to mean 0 and standard deviation 1, which the "
            f"likelihood {s.likelihood!r} cannot take (it needs integer levels, counts or values "
            "in a bounded range): drop --standardize for it, or use a real-valued likelihood "
            "such as --likelihood gaussian."
        )

    keras.utils.set_random_seed(s.seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        condition = {} if spec is None else {"condition": spec}
        vae = model_class(s)(**model_arguments(s, x_train.shape[1:]), **condition)
        vae.compile(optimizer=keras.optimizers.Adam(learning_rate=s.learning_rate))
    if c_train is not None:  # labels out of range, NaN, shape: refused before any file is written
        vae.check_condition(c_train, len(x_train), f"--condition-column {s.condition_column!r} (train split)")
        vae.check_condition(c_test, len(x_test), f"--condition-column {s.condition_column!r} (test split)")
    if s.binarize:  # both reject data outside [0, 1]
        _as_probabilities(x_train)
        x_eval = datasets.binarize(x_test, seed=s.seed)
    else:
        given = (lambda x, c: x) if c_train is None else (lambda x, c: {"x": x, "condition": c})  # noqa: E731
        vae.check_data(given(x_train, c_train), "the training data")
        vae.check_data(given(x_test, c_test), "the test data")
        x_eval = x_test
    if s.init_output_bias and not resume:  # a resumed run's weights come from its checkpoint
        try:
            vae.initialize_output_bias(x_train)  # binarized data: the mean of the probabilities
        except TypeError as exc:
            raise UsageError(f"--init-output-bias: {exc}") from None
    if s.standardize:
        vae.adapt(x_train)  # the training split's statistics, in the model
    # Only for real-valued likelihoods: integer, count and bounded data keep their units.
    report = None if s.standardize or not continuous else datasets.standardization_report(x_train, columns)
    if report:  # the model takes these data, but they will train badly
        print(
            f"{PROG}: warning: {report}; a likelihood with a fixed or shared scale (e.g. "
            "gaussian) trains badly on such data: add --standardize",
            file=sys.stderr,
        )

    # Only now, with settings, data and model known to be usable, touch the folder.
    if args.overwrite or (not chief and not resume):
        clear_run(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    config = s.to_dict() | {"output": run_dir}
    if not resume:
        with open(path("config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
        if holdout is not None:  # which rows evaluate scores by default
            from keras_vae.cli.splits import write_split

            write_split(run_dir, s.dataset, holdout[0], s.seed, holdout[1], s.limit)
        if spec is not None:
            conditioning.write_record(run_dir, s.condition_column, spec, classes)

    if c_train is None:
        train_data, epoch_counter = datasets.epoch_pipeline(
            x_train, batch_size=s.batch_size, seed=s.seed, shuffle=True, binarize=s.binarize
        )
        validation = (x_eval,)
    else:
        train_data, epoch_counter = conditioning.pipeline(x_train, c_train, s.batch_size, s.seed, s.binarize)
        validation = ({"x": x_eval, "condition": c_test},)
    callbacks = [
        epoch_counter,
        keras.callbacks.BackupAndRestore(path(BACKUP_DIR)),
        keras.callbacks.CSVLogger(path("history.csv"), append=bool(resume)),
    ]
    if s.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=s.tensorboard))
    names = "/".join(name for name, _ in s.components().values())
    described = f"a VAE ({names}, latent_dim={_latent_size(vae, s)})"
    if arguments_hook(s.model, type(vae)) is not None:  # a family that reads the settings itself
        described = f"a {type(vae).__name__} (--model {s.model})"
    if spec is not None:
        described += f" conditioned on {s.condition_column!r} ({conditioning.describe(vae).split(':')[0]})"
    say(
        f"{'Resuming' if resume else 'Training'} {described} on "
        f"{s.dataset!r}: {len(x_train)} training and {len(x_test)} test examples of shape "
        f"{tuple(x_train.shape[1:])}, {s.epochs} epoch(s), run folder {run_dir}."
    )
    try:
        vae.fit(
            train_data,
            epochs=s.epochs,
            validation_data=validation,
            validation_batch_size=s.batch_size,
            callbacks=callbacks,
            shuffle=False,  # the pipeline orders each epoch itself, from (seed, epoch)
        )
    except KeyboardInterrupt:
        print(f"{PROG}: training interrupted; continue it with: keras-vae train --resume {run_dir}",
              file=sys.stderr)
        raise
    train_time = time.perf_counter() - started
    vae.save(path("model.keras"))
    own = after_training_hook(s.model, vae)
    if own is not None:  # a family with its own scores and pictures (e.g. the VQ-VAE's prior)
        return own(settings=s, run_dir=run_dir, config=config, x_train=x_train, x_eval=x_eval,
                   started=started, train_time=train_time)
    return _after_training(vae, s, run_dir, config, x_train, x_eval, y_test, standardizer, columns,
                           started, train_time, kv, keras, c_test)


def _history_rows(csv_path: str) -> list[dict]:
    import csv

    if not os.path.isfile(csv_path):
        return []
    with open(csv_path, newline="") as f:
        return list(csv.DictReader(f))


def _after_training(vae, s, run_dir, config, x_train, x_eval, y_test, standardizer, columns,
                    started, train_time, kv, keras, c_eval=None) -> int:
    """Scores (written at once), export and pictures; a failing step is reported and
    recorded in metrics.json without losing what was computed before it."""
    import numpy as np

    from keras_vae.cli import levels
    from keras_vae.cli.scoring import finite, score

    path = lambda name: os.path.join(run_dir, name)  # noqa: E731
    failures: list[str] = []
    say("Evaluating on the test split ...")
    inputs = x_eval if c_eval is None else {"x": x_eval, "condition": c_eval}
    test = vae.evaluate(inputs, batch_size=s.batch_size, return_dict=True, verbose=0)
    scores = score(vae, x_eval, s.num_samples, s.batch_size, s.seed, progress=False, condition=c_eval)
    history = _history_rows(path("history.csv"))
    last = history[-1] if history else {}
    metrics: dict[str, Any] = {
        "dataset": s.dataset,
        "num_train": int(len(x_train)),
        "num_test": int(len(x_eval)),
        **{f"test_{k}": finite(v) for k, v in test.items() if k != "loss"},
        "test_log_likelihood": finite(scores["log_likelihood"]),
        "log_likelihood_num_samples": scores["log_likelihood_num_samples"],
        "test_bits_per_dim": finite(scores["bits_per_dim"]),
        "active_units": scores["active_units"],
        "latent_dim": _latent_size(vae, s),
        "kl_per_dimension": scores["kl_per_dimension"],
        "final_train": {k: finite(v) for k, v in last.items() if k != "epoch" and not k.startswith("val_")},
        "epochs_run": len(history),
        "train_time_s": round(train_time, 3),
        "wall_time_s": None,
        "serving_export": None,
        "pictures": {},
        "failed_steps": failures,
        "versions": {
            "keras_vae": kv.__version__,
            "keras": keras.__version__,
            "tensorflow": sys.modules["tensorflow"].__version__,
        },
        "config": config,
    }

    def write_metrics() -> None:
        metrics["wall_time_s"] = round(time.perf_counter() - started, 3)
        with open(path("metrics.json"), "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2)

    write_metrics()
    bad = [name for name in ("elbo", "log_likelihood") if not math.isfinite(float(scores[name]))]
    if bad:  # never report a non-finite score as a success
        failures.append(f"test scores: {', '.join(bad)} not finite")
        print(
            f"{PROG}: error: the test {' and '.join(bad)} {'is' if len(bad) == 1 else 'are'} not finite "
            f"(ELBO {scores['elbo']}); the test data may lie outside what the likelihood "
            f"{s.likelihood!r} takes, or the model diverged. The run folder is {run_dir}.",
            file=sys.stderr,
        )

    def attempt(step: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # the model and metrics are saved: report and go on
            message = f"{step}: {type(exc).__name__}: {one_line(exc)}"
            failures.append(message)
            print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
            return None

    if not s.export:
        export_note = "skipped (--no-export)"
    else:
        serving = attempt("serving export", lambda: vae.export(path("serving")))
        metrics["serving_export"] = serving
        export_note = serving if serving is not None else "FAILED (see the error above)"
    write_metrics()

    from keras_vae.cli import pictures as drawing

    pictures = attempt("pictures", lambda: drawing.draw(vae, s, run_dir, x_eval, y_test, standardizer, columns,
                                                        attempt, c_eval))
    metrics["pictures"] = pictures or {}
    write_metrics()

    listing = [
        ("model.keras", "trained model (keras_vae.load_model)"),
        ("serving/", f"TF Serving SavedModel: {export_note}"),
    ] + [(name, what) for name, what in (pictures or {}).items()] + [
        ("history.csv", "per-epoch training and validation metrics"),
        ("metrics.json", "test metrics, wall time and settings"),
        ("config.json", "resolved settings (reusable with --config)"),
    ]
    say(
        "",
        f"Run folder: {run_dir}",
        table(listing),
        "",
        # The ELBO metrics.json holds (test_elbo, from vae.evaluate), labelled as such.
        f"Test ELBO {float(test.get('elbo', scores['elbo'])):.2f} nats (test_elbo in metrics.json) | "
        f"log-likelihood (K={s.num_samples}) "
        f"{scores['log_likelihood']:.2f} nats | bits/dim {levels.bits_text(vae, scores['bits_per_dim'])} | "
        f"active units {scores['active_units']}/{_latent_size(vae, s)} | {metrics['wall_time_s']:.1f} s",
    )
    if failures:
        steps = ", ".join(f.split(":")[0] for f in failures)
        print(
            f"{PROG}: error: after training, these steps failed: {steps} (details above and in "
            f"metrics.json); the model and metrics are saved in {run_dir}",
            file=sys.stderr,
        )
        return 1
    return 0


def _latent_size(vae, s) -> int:
    """The model's latent size (a hierarchical model's: all groups), else --latent-dim."""
    return int(getattr(vae, "latent_dim", s.latent_dim))

"""``keras-vae train --model vqvae``: the VQ-VAE's arguments from the settings, and
what follows its training (the prior over codes, scores, export, pictures)."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable

from keras_vae.cli.errors import UsageError, one_line
from keras_vae.cli.output import say, table
from keras_vae.cli.parser import PROG

# Settings of a VAE's parts a VQ-VAE does not have (their command-line defaults).
_NOT_APPLICABLE = {"posterior": "diagonal_gaussian", "prior": "standard_normal", "objective": "elbo"}


def arguments(settings, input_shape) -> dict:
    """``kv.VQVAE``'s keyword arguments: the bodies (the default ``mlp`` bodies become
    ``conv``: a VQ-VAE's latent is a grid), the likelihood, ``embedding_dim`` from
    ``--latent-dim``, the shape and the seed."""
    for kind, default in _NOT_APPLICABLE.items():
        if getattr(settings, kind) != default or getattr(settings, f"{kind}_options"):
            raise UsageError(
                f"--{kind} does not apply to --model vqvae: its latent is a grid of code indices "
                "(a quantizer, and a PixelCNN prior over codes fitted after training)."
            )

    from keras_vae.cli.hierarchical import refuse_flags

    refuse_flags(settings, "vqvae")
    if getattr(settings, "standardize", False):
        raise UsageError(
            "--standardize does not apply to --model vqvae yet: the run exports the model, and a "
            "VQ-VAE's SavedModel does not carry its standardization yet. Scale the data yourself "
            "(keras_vae.datasets.Standardizer), use kv.VQVAE(standardize=True) from Python, or "
            "use --model vae."
        )

    def body(kind: str) -> Any:
        name, options = getattr(settings, kind), dict(getattr(settings, f"{kind}_options"))
        if name == "mlp":
            return "conv"
        return {"name": name, **options}

    return {
        "encoder": body("encoder"),
        "decoder": body("decoder"),
        "likelihood": {"name": settings.likelihood, **settings.likelihood_options},
        "embedding_dim": settings.latent_dim,
        "input_shape": tuple(input_shape),
        "seed": settings.seed,
    }


def after_training(vq, settings, run_dir: str, config: dict, x_train, x_eval, started: float,
                   train_time: float) -> int:
    """Fit the prior over codes, score the test split, save, export and draw."""
    import numpy as np

    from keras_vae import plotting

    s = settings
    path = lambda name: os.path.join(run_dir, name)  # noqa: E731
    failures: list[str] = []
    say("Evaluating on the test split ...")
    test = vq.evaluate(x_eval, batch_size=s.batch_size, return_dict=True, verbose=0)
    say(f"Fitting the PixelCNN prior over codes ({s.epochs} epoch(s)) ...")
    prior_history = vq.fit_prior(x_train, epochs=s.epochs, batch_size=s.batch_size, verbose=0).history
    vq.save(path("model.keras"))  # now with the prior
    stats = vq.code_statistics(x_eval)
    bits = vq.prior_bits_per_code(x_eval)
    metrics: dict[str, Any] = {
        "dataset": s.dataset,
        "num_train": int(len(x_train)),
        "num_test": int(len(x_eval)),
        **{f"test_{k}": float(v) for k, v in test.items() if k != "loss"},
        "test_prior_bits_per_code": bits,
        "test_unigram_bits_per_code": stats["unigram_bits"],
        "log2_num_embeddings": stats["uniform_bits"],
        "test_perplexity_whole_split": stats["perplexity"],
        "test_codes_in_use_whole_split": stats["codes_in_use"],
        "prior_train_bits_per_code": [float(v) for v in prior_history["bits_per_code"]],
        "num_embeddings": vq.num_embeddings,
        "grid_shape": list(vq.grid_shape),
        "train_time_s": round(train_time, 3),
        "serving_export": None,
        "pictures": {},
        "failed_steps": failures,
        "config": config,
    }

    def write_metrics() -> None:
        metrics["wall_time_s"] = round(time.perf_counter() - started, 3)
        with open(path("metrics.json"), "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2)

    def attempt(step: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # the model and metrics are saved: report and go on
            failures.append(f"{step}: {type(exc).__name__}: {one_line(exc)}")
            print(f"{PROG}: error: {failures[-1]}", file=sys.stderr, flush=True)
            return None

    write_metrics()
    if s.export:
        metrics["serving_export"] = attempt("serving export", lambda: vq.export(path("serving")))
    drawn: dict[str, str] = {}

    def picture(name: str, what: str, draw: Callable[[], Any]) -> None:
        if attempt(f"picture {name}", draw) is not None:
            drawn[name] = what

    if plotting.looks_like_images(x_eval[:64]):
        picture("samples.png", "codes from the PixelCNN prior, decoded",
                lambda: plotting.sample_grid(np.asarray(vq.sample(64, seed=s.seed)), path=path("samples.png")))
        picture("reconstructions.png", "test images and their reconstructions",
                lambda: plotting.reconstruction_grid(vq, x_eval, n=32, ncols=8, path=path("reconstructions.png")))
    picture("codebook.png", "codebook usage on the test split",
            lambda: plotting.codebook_usage(stats["counts"], path=path("codebook.png")))
    picture("curves.png", "training curves",
            lambda: plotting.training_curves(path("history.csv"), path=path("curves.png")))
    metrics["pictures"] = drawn
    write_metrics()
    say(
        "",
        f"Run folder: {run_dir}",
        table([("model.keras", "trained VQ-VAE with its prior (keras_vae.load_model)"),
               ("serving/", f"TF Serving SavedModel: {metrics['serving_export'] or 'skipped or FAILED'}"),
               *drawn.items(),
               ("history.csv", "per-epoch training and validation metrics"),
               ("metrics.json", "test metrics, wall time and settings"),
               ("config.json", "resolved settings (reusable with --config)")]),
        "",
        f"Test reconstruction {test['reconstruction_loss']:.2f} nats | perplexity {stats['perplexity']:.1f} | "
        f"codes in use {stats['codes_in_use']:.0%} of {vq.num_embeddings} | prior {bits:.3f} bits/code "
        f"(unigram {stats['unigram_bits']:.3f}, log2 K {stats['uniform_bits']:.3f}) | {metrics['wall_time_s']:.1f} s",
    )
    if failures:
        print(f"{PROG}: error: after training, these steps failed: "
              f"{', '.join(f.split(':')[0] for f in failures)}; the model is saved in {run_dir}", file=sys.stderr)
        return 1
    return 0

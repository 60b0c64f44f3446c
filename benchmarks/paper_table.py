"""The papers' tables, reproduced at the budget we can afford.

Burda, Grosse & Salakhutdinov (2015), "Importance Weighted Autoencoders", Table 1,
one stochastic layer: 784-200-200-50 tanh on dynamically binarized MNIST, VAE and
IWAE trained with k = 1, 5, 50 samples, test NLL estimated with K = 5000 importance
samples. Trained by the paper for 3,280 epochs (Adam, lr 1e-3 * 10^(-i/7) for 3^i
epochs, i = 0..7, epsilon 1e-4, batch 20).

Tomczak & Welling (2018), "VAE with a VampPrior", Table 2 (dynamic MNIST, one
stochastic layer): standard normal, mixture of Gaussians and VampPrior priors. The
paper uses its own architecture (gated 300-300 MLPs, 40 latents, 500 pseudo-inputs,
KL warm-up, early stopping); here the priors are swapped into the Burda model above,
so those rows compare priors with each other, not with the paper's digits exactly.

Burda et al. Table 1, two stochastic layers (rows ``h2_*``): kv.HierarchicalVAE's
defaults, 784-200-200-(100) | 100-100-100-(50) bottom-up, 50-100-100-(100) |
100-200-200-784 top-down, tanh. Sønderby et al. (2016) Table 1's Ladder VAE
(``ladder_k1``): the paper's five-layer model with batch normalization and KL warm-up
reached 81.74; ours is the same two-layer model with the ladder's inference
(``--warmup N`` applies KL warm-up to it). Each row also records the test ELBO after
every epoch; the table is followed by these learning curves and the epoch where each
two-layer row reaches its one-layer row (two-layer models start slower).

Conditioning (row ``cond_vae_k1``): the one-layer Burda model given the label as a
one-hot condition, trained on the same batches as ``vae_k1`` (the same shuffles and
binarizations, each image with its label) and scored by -log p(x | y) on the same
test images. The reference is the label-conditioned IWAE (k = 1) of the TF2
reproduction nbip/IWAE after the full schedule, 82.32 nats (86.35 without the label
there); with both rows run, the table is followed by the paired difference.

Every row trains with a checkpoint each ``--checkpoint-every`` epochs (Keras
``BackupAndRestore``) and records its result in ``<out>/results.json``: a killed run
started again with the same arguments continues where it stopped and skips finished
rows; a row whose training finished (``model.keras`` and ``trained.json`` written) but
whose scoring was cut short is loaded and scored without training again. Prints the
table (paper vs. ours) at the end.

``--lr-scale S`` multiplies every learning rate of the paper's schedule by S and keeps
its stage lengths: at a batch B larger than the paper's 20 an epoch makes B/20 times
fewer updates, and S = sqrt(B / 20) (5 at batch 500) is the usual square-root rule for
Adam. A scaled run is a different result (its own results.json key) and the table says so.

Usage::

    python benchmarks/paper_table.py --epochs 2 --num-samples 1000 --limit 1000   # CPU smoke
    python benchmarks/paper_table.py --epochs 50 --batch-size 100                 # a GPU hour
    python benchmarks/paper_table.py --schedule paper                             # the paper's 3,280 epochs
    python benchmarks/paper_table.py --schedule paper --batch-size 500 --lr-scale 5 --steps-per-execution 30
    python benchmarks/paper_table.py --rows vae_k1 h2_vae_k1 iwae_k5 h2_iwae_k5 ladder_k1 \
        --epochs 3 --batch-size 100 --limit 1000 --num-samples 1000              # hierarchical rows, ~5 min CPU
    python benchmarks/paper_table.py --rows vae_k1 cond_vae_k1 --epochs 1 --limit 500 --num-samples 200
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import time

from _common import (  # noqa: E402  (sets sys.path)
    LABEL_CONDITION,
    NBIP_IWAE_K1,
    burda_vae,
    data_path,
    heldout_log_likelihood,
    machine_line,
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets, evaluation  # noqa: E402

# Test NLL in nats (lower is better), as printed in the papers.
ROWS = {
    "vae_k1": ({"objective": {"name": "elbo", "num_samples": 1}}, "Burda T1 VAE k=1", 86.76),
    "vae_k5": ({"objective": {"name": "elbo", "num_samples": 5}}, "Burda T1 VAE k=5", 86.47),
    "vae_k50": ({"objective": {"name": "elbo", "num_samples": 50}}, "Burda T1 VAE k=50", 86.35),
    "iwae_k1": ({"objective": {"name": "iwae", "num_samples": 1}}, "Burda T1 IWAE k=1", 86.76),
    "iwae_k5": ({"objective": {"name": "iwae", "num_samples": 5}}, "Burda T1 IWAE k=5", 85.54),
    "iwae_k50": ({"objective": {"name": "iwae", "num_samples": 50}}, "Burda T1 IWAE k=50", 84.78),
    # Two stochastic layers (Burda et al. Table 1): kv.HierarchicalVAE's defaults,
    # 784-200-200-(100) | 100-100-100-(50), bottom-up inference.
    "h2_vae_k1": ({"hierarchical": {}, "objective": {"name": "elbo", "num_samples": 1}}, "Burda T1 2L VAE k=1", 85.33),
    "h2_vae_k5": ({"hierarchical": {}, "objective": {"name": "elbo", "num_samples": 5}}, "Burda T1 2L VAE k=5", 85.01),
    "h2_vae_k50": ({"hierarchical": {}, "objective": {"name": "elbo", "num_samples": 50}}, "Burda T1 2L VAE k=50", 84.78),
    "h2_iwae_k1": ({"hierarchical": {}, "objective": {"name": "iwae", "num_samples": 1}}, "Burda T1 2L IWAE k=1", 85.33),
    "h2_iwae_k5": ({"hierarchical": {}, "objective": {"name": "iwae", "num_samples": 5}}, "Burda T1 2L IWAE k=5", 83.89),
    "h2_iwae_k50": ({"hierarchical": {}, "objective": {"name": "iwae", "num_samples": 50}}, "Burda T1 2L IWAE k=50", 82.90),
    # Sønderby et al. (2016) Table 1: the Ladder VAE with five stochastic layers (and
    # batch normalization, KL warm-up); ours is the two-layer Burda model with the
    # ladder's inference, so the row compares inference schemes at equal size.
    "ladder_k1": ({"hierarchical": {"inference": "ladder"}, "objective": {"name": "elbo", "num_samples": 1}},
                  "Sonderby T1 LVAE 5L", 81.74),
    # Without warm-up the ladder collapses in short budgets (KL ~ 0; docs/hierarchical.md,
    # benchmarks/ladder_collapse.py): free bits per group (2 nats) keep it out of collapse.
    "ladder_fb_k1": ({"hierarchical": {"inference": "ladder"},
                      "objective": {"name": "elbo", "num_samples": 1, "free_bits": 2.0, "free_bits_mode": "per_group"}},
                     "Sonderby T1 LVAE 5L", 81.74),
    # The label as a one-hot condition: -log p(x | y) (nbip/IWAE's label-conditioned IWAE k=1).
    "cond_vae_k1": ({"condition": LABEL_CONDITION, "objective": {"name": "elbo", "num_samples": 1}},
                    "nbip IWAE|y k=1", NBIP_IWAE_K1["label_conditioned"]),
    "prior_standard": ({"prior": "standard_normal"}, "T&W T2 standard prior", 88.56),
    "prior_mixture": ({"prior": {"name": "mixture", "num_components": 500}}, "T&W T2 MoG prior", 86.55),
    "prior_vamp": (
        {"prior": {"name": "vamp", "num_pseudo_inputs": 500, "input_range": [0.0, 1.0]}},
        "T&W T2 VampPrior", 85.57,
    ),
}
PAPER_EPOCHS = 3280


def paper_learning_rate(epoch: int) -> float:
    """Burda et al.: 1e-3 * 10^(-i/7) during the 3^i epochs of stage i (i = 0..7)."""
    start = 0
    for i in range(8):
        if epoch < start + 3**i:
            return 1e-3 * 10 ** (-i / 7)
        start += 3**i
    return 1e-3 * 10 ** (-7 / 7)


def scaled_learning_rate(scale: float = 1.0):
    """The paper's schedule with every learning rate times ``scale``: the same stage
    lengths, for a batch larger than the paper's 20, which makes ``batch / 20`` times
    fewer updates per epoch (``--lr-scale``; 1 is the paper's own)."""
    if not scale > 0:
        raise ValueError(f"the learning-rate scale must be > 0, got {scale!r}")
    return lambda epoch: scale * paper_learning_rate(epoch)


def stage_ends() -> set[int]:
    """The last epoch (0-based) of each of the paper's eight stages."""
    ends, total = set(), 0
    for i in range(8):
        total += 3**i
        ends.add(total - 1)
    return ends


class StageCurve(keras.callbacks.Callback):
    """Appends the test ELBO (first 1,000 test images) at the chosen epochs to a curve
    file, with the training seconds spent since the previous record of this process
    (``train_seconds``: the epochs' own time, not this evaluation's nor a pause between
    sittings), so a run resumed over several sittings still adds up its training time."""

    def __init__(self, path: pathlib.Path, x_test, every: set[int], condition=None):
        super().__init__()
        self.path, self.x_test, self.every = path, x_test[:1000], every
        self.given = {} if condition is None else {"condition": condition[:1000]}
        self.spent, self.started = 0.0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.started is not None:
            self.spent += time.perf_counter() - self.started
        if epoch not in self.every:
            return
        elbo = float(np.mean(self.model.elbo(self.x_test, seed=0, **self.given).numpy()))
        record = {"epoch": epoch + 1, "test_elbo": elbo, "train_loss": float((logs or {}).get("loss", math.nan)),
                  "time": time.time(), "train_seconds": round(self.spent, 3)}
        self.spent = 0.0
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def _train_row(name, args, x_train, x_test, out: pathlib.Path, c_train, c_test, epochs: int):
    """Builds and trains one row (resuming from its checkpoint); ``(model, seconds)``."""
    components = dict(ROWS[name][0])
    keras.utils.set_random_seed(args.seed)
    hierarchical = components.pop("hierarchical", None)
    if hierarchical is None:
        vae = burda_vae(args.seed, **components)
    else:
        vae = kv.HierarchicalVAE(input_shape=(28, 28, 1), seed=args.seed, **hierarchical, **components)
    if args.output_bias == "data-mean":
        # The head's bias at the logit of each pixel's training mean, as Burda et
        # al.'s released code (yburda/iwae) starts it.
        vae.initialize_output_bias(x_train)
    vae.compile(
        optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-4),
        steps_per_execution=args.steps_per_execution,
    )
    callbacks = [
        keras.callbacks.BackupAndRestore(
            str(out / name / "backup"),
            save_freq="epoch" if args.checkpoint_every == 1 else args.checkpoint_every
            * math.ceil(len(x_train) / args.batch_size),
            delete_checkpoint=False,
        )
    ]
    (out / name).mkdir(parents=True, exist_ok=True)
    if args.schedule == "paper":
        callbacks.append(keras.callbacks.LearningRateScheduler(scaled_learning_rate(args.lr_scale)))
        callbacks.append(StageCurve(out / name / "curve.jsonl", x_test, stage_ends(), c_test))
    callbacks.append(StageCurve(out / name / "epochs.jsonl", x_test,
                                set(range(args.curve_every - 1, epochs, args.curve_every)), c_test))
    if args.warmup and (name.startswith("prior_") or name.startswith("ladder")):
        callbacks.append(kv.callbacks.KLWarmup(args.warmup))
    # A conditioned row gets the same x batches as the others, each image with its label.
    train = datasets.dynamic_binarization(x_train, batch_size=args.batch_size, seed=args.seed, condition=c_train)
    start = time.perf_counter()
    vae.fit(train, epochs=epochs, verbose=2 if args.verbose else 0, shuffle=False, callbacks=callbacks)
    return vae, time.perf_counter() - start


def run_row(name, args, x_train, x_test, out: pathlib.Path, y_train=None, y_test=None) -> dict:
    """Trains and scores one row; a conditioned row takes the labels ``y_train`` /
    ``y_test`` as its condition. A row whose training finished in an earlier sitting
    (``trained.json`` beside its ``model.keras``) is loaded and only scored."""
    conditioned = "condition" in ROWS[name][0]
    c_train, c_test = (y_train, y_test) if conditioned else (None, None)
    given = {} if c_test is None else {"condition": c_test}
    epochs = PAPER_EPOCHS if args.schedule == "paper" else args.epochs
    curve_path = out / name / "epochs.jsonl"
    trained, saved = out / name / "trained.json", out / name / "model.keras"
    key = _key(name, args, len(x_test))
    if trained.exists() and saved.exists():
        record = json.loads(trained.read_text())
        if record.get("key", key) != key:  # (a record without a key predates keys: trusted)
            raise SystemExit(f"{saved} was trained as {record['key']}, not {key}: give another --out "
                             "for other settings (its checkpoints would be resumed too).")
        vae = kv.saving.load_model(saved)
        train_time = record["train_seconds"]
    else:
        vae, train_time = _train_row(name, args, x_train, x_test, out, c_train, c_test, epochs)
        vae.save(saved)
        trained.write_text(json.dumps({"key": key, "epochs": epochs, "train_seconds": round(train_time, 1)}))

    start = time.perf_counter()
    elbo = float(np.mean(np.concatenate([
        vae.elbo(x_test[i : i + 1000], seed=i, **{k: v[i : i + 1000] for k, v in given.items()}).numpy()
        for i in range(0, len(x_test), 1000)
    ])))
    log_px = heldout_log_likelihood(vae, x_test, c_test, num_samples=args.num_samples, seed=args.seed)
    np.save(_log_px_path(out, name, args, len(x_test)), log_px)  # per image: the paired comparison
    result = {
        "nll": float(-log_px.mean()),
        "stderr": float(log_px.std(ddof=1) / math.sqrt(len(log_px))),
        "test_elbo": elbo,
        "active_units": _active_units(vae, x_test, c_test),
        "curve": [elbo for _, elbo in read_curve(curve_path)],
        "epochs": epochs,
        "train_seconds": round(train_time, 1),  # this sitting's
        # every sitting's, replayed epochs included (records written by this version on)
        "train_seconds_all_sittings": round(sum(
            json.loads(line).get("train_seconds", 0.0) for line in curve_path.read_text().splitlines()), 1),
        "eval_seconds": round(time.perf_counter() - start, 1),
    }
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def read_curve(*paths: pathlib.Path) -> list[tuple[int, float]]:
    """(epoch, test ELBO) from curve files, merged, in epoch order. A resumed run
    repeats the epochs since its last checkpoint: the later record of an epoch wins."""
    by_epoch = {}
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                by_epoch[record["epoch"]] = record["test_elbo"]
    return sorted(by_epoch.items())


def _result_in_folder(folder: pathlib.Path, name: str, schedule: str, n_test: int) -> dict | None:
    """The one result of row ``name`` on ``schedule`` and ``n_test`` images in another run
    folder's results.json (whatever its other settings), or None if there is not exactly one."""
    path = folder / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    found = [(key, r) for key, r in results.items()
             if key.startswith(f"{name}/{schedule}/") and key.split("/")[5] == str(n_test)]
    if len(found) != 1:
        return None
    key, result = found[0]
    return {**result, "num_samples": int(key.split("/")[4])}


def plot_curves(args, results, out: pathlib.Path, n_test: int, path: pathlib.Path) -> None:
    """The test ELBO of each row against epochs (log scale), the paper's NLL as a line
    (the ELBO is a lower bound on -NLL) and our final -NLL as a point; readable while a
    run is still going (it reads the rows' curve files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    papers_drawn = set()
    for folder, tag in [(out, "")] + [(pathlib.Path(d), f" ({pathlib.Path(d).name})")
                                      for d in getattr(args, "plot_with", None) or []]:
        for name in args.rows:
            curve = read_curve(folder / name / "curve.jsonl", folder / name / "epochs.jsonl")
            if not curve:
                continue
            epochs, elbo = zip(*curve)
            line, = ax.plot(epochs, elbo, linestyle="-" if not tag else "--",
                            label=f"{name}{tag}: test ELBO (1,000 images)")
            _, label, paper = ROWS[name]
            if name not in papers_drawn:
                papers_drawn.add(name)
                ax.axhline(-paper, color=line.get_color(), linestyle=":", label=f"{label}: -NLL {-paper:.2f}")
            result = (results.get(_key(name, args, n_test)) if not tag
                      else _result_in_folder(folder, name, args.schedule, n_test))
            if result:
                k = result.get("num_samples", args.num_samples)
                ax.plot([result["epochs"]], [-result["nll"]], "o", color=line.get_color(),
                        label=f"{name}{tag}: -NLL {-result['nll']:.2f} (K={k}, {n_test} images)")
    if args.schedule == "paper":
        for end in sorted(stage_ends())[:-1]:
            ax.axvline(end + 1, color="0.85", linewidth=0.8, zorder=0)
    ax.set_xscale("log")
    ax.set_xlabel("epoch (grey: the schedule's learning-rate stages)")
    ax.set_ylabel("nats per image")
    ax.set_ylim(bottom=max(ax.get_ylim()[0], -150))
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"learning curves: {path}")


def _active_units(vae, x, condition=None) -> int:
    if isinstance(vae, kv.HierarchicalVAE):
        return int(vae.active_units(x)["active_units"])
    return int(evaluation.active_units(vae, x, condition=condition))


def _key(name, args, n_test) -> str:
    """What a result depends on: a run with other settings does not reuse it. (The
    seed only when it is not 0, and the condition only for a conditioned row, so that
    the keys of earlier results stay valid.)"""
    warmup = f"/warmup{args.warmup}" if args.warmup and (name.startswith("prior_") or name.startswith("ladder")) else ""
    condition = ROWS[name][0].get("condition")
    given = "" if condition is None else "/condition=" + json.dumps(condition, sort_keys=True).replace(" ", "")
    seed = f"/seed{args.seed}" if args.seed else ""
    lr_scale = getattr(args, "lr_scale", 1.0)
    scale = f"/lr{lr_scale:g}" if lr_scale != 1.0 else ""
    bias = "/bias-mean" if getattr(args, "output_bias", "zeros") == "data-mean" else ""
    return (f"{name}/{args.schedule}/{args.epochs}/{args.batch_size}/{args.num_samples}/{n_test}"
            f"{warmup}{given}{seed}{scale}{bias}")


def _log_px_path(out: pathlib.Path, name: str, args, n_test: int) -> pathlib.Path:
    """Where a row's per-image log p(x) (or log p(x | y)) is kept, named by its key."""
    folder = out / "log_px"
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in _key(name, args, n_test))
    return folder / f"{safe}.npy"


def _print_condition_gain(args, results, out: pathlib.Path, n_test: int) -> None:
    """-log p(x) - (-log p(x | y)) over the same test images, paired (the rows share
    their per-image spread), when both vae_k1 and cond_vae_k1 were run."""
    if not {"vae_k1", "cond_vae_k1"} <= set(args.rows):
        return
    plain, given = (_log_px_path(out, name, args, n_test) for name in ("vae_k1", "cond_vae_k1"))
    if not (plain.exists() and given.exists()):
        return
    gain = np.load(given) - np.load(plain)
    print(f"conditioning on the label lowers the NLL by {gain.mean():.2f} +- "
          f"{gain.std(ddof=1) / math.sqrt(len(gain)):.2f} nats (paired, {len(gain)} test images; "
          f"nbip/IWAE k=1, full schedule: {NBIP_IWAE_K1['unconditioned']:.2f} -> "
          f"{NBIP_IWAE_K1['label_conditioned']:.2f})")


def _print_curves(args, results, n_test) -> None:
    """Test ELBO (first 1,000 test images) after each epoch, per row, and the first
    epoch where each two-layer row is at or above its one-layer row (same objective)."""
    rows = [name for name in args.rows if "curve" in results.get(_key(name, args, n_test), {})]
    if not rows:
        return
    print()
    print(f"learning curves: -test ELBO (nats) every {args.curve_every} epoch(s)")
    for name in rows:
        curve = results[_key(name, args, n_test)]["curve"]
        print(f"{name:16} " + " ".join(f"{-v:7.2f}" for v in curve))
    for name in rows:
        if not name.startswith("h2_"):
            continue
        one = name[3:]
        if one not in rows:
            continue
        a, b = results[_key(name, args, n_test)]["curve"], results[_key(one, args, n_test)]["curve"]
        crossed = [(i + 1) * args.curve_every for i, (two, single) in enumerate(zip(a, b)) if two >= single]
        where = f"from epoch {crossed[0]}" if crossed else f"not within {min(len(a), len(b))} epochs"
        print(f"{name} reaches {one}'s test ELBO: {where}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--epochs", type=int, default=2, help="epochs per row (fixed lr 1e-3)")
    parser.add_argument("--schedule", choices=("fixed", "paper"), default="fixed",
                        help="'paper': Burda's 3,280-epoch learning-rate schedule (ignores --epochs)")
    parser.add_argument("--batch-size", type=int, default=20, help="20 in Burda et al.")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--num-samples", type=int, default=5000, help="K of the test NLL estimate")
    parser.add_argument("--limit", type=int, default=None, help="evaluate on the first N test images")
    parser.add_argument("--warmup", type=int, default=0,
                        help="KL warm-up epochs for the prior rows (Tomczak & Welling: 100)")
    parser.add_argument("--curve-every", type=int, default=1,
                        help="epochs between the test-ELBO points of the learning curve")
    parser.add_argument("--checkpoint-every", type=int, default=1, help="epochs between checkpoints")
    parser.add_argument("--out", default="runs/paper_table", help="checkpoints and results.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr-scale", type=float, default=1.0,
                        help="multiply the paper's learning rates (its stage lengths stay): a batch larger "
                             "than the paper's 20 makes fewer updates per epoch")
    parser.add_argument("--output-bias", choices=("zeros", "data-mean"), default="zeros",
                        help="the output layer's starting bias: Keras' zeros, or the logit of the training "
                             "images' mean pixel as Burda et al.'s released code sets it")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="also draw the rows' learning curves to this picture")
    parser.add_argument("--plot-with", nargs="+", default=None, metavar="DIR",
                        help="with --plot: also draw the same rows from these other run folders "
                             "(dashed; e.g. a run with --output-bias data-mean)")
    parser.add_argument("--plot-only", action="store_true",
                        help="draw --plot from the curves written so far (e.g. by a run still going) and stop")
    args = parser.parse_args(argv)
    if args.plot_only and not args.plot:
        parser.error("--plot-only needs --plot PNG")
    if args.plot_with and not args.plot:
        parser.error("--plot-with needs --plot PNG")
    for folder in args.plot_with or []:
        if not pathlib.Path(folder).is_dir():
            parser.error(f"--plot-with: {folder} is not a run folder")
    if not args.lr_scale > 0:
        parser.error("--lr-scale must be > 0")
    if args.lr_scale != 1.0 and args.schedule != "paper":
        parser.error("--lr-scale scales the paper's schedule: give --schedule paper")

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    path = data_path(args.data)
    x_train, y_train = datasets.load_mnist("train", path=path)
    x_test, y_test = datasets.load_mnist("test", path=path)
    x_test, y_test = datasets.binarize(x_test[: args.limit], seed=args.seed), y_test[: args.limit]  # binarized once

    if args.plot_only:
        plot_curves(args, results, out, len(x_test), pathlib.Path(args.plot))
        return 0
    print(machine_line())
    budget = "the paper's schedule" if args.schedule == "paper" else f"{args.epochs} epochs at lr 1e-3"
    if args.lr_scale != 1.0:
        budget += f" at {args.lr_scale:g}x its learning rates"
    print(f"budget: {budget}, batch {args.batch_size}; test NLL with K={args.num_samples} "
          f"on {len(x_test)} test images", flush=True)
    for name in args.rows:
        key = _key(name, args, len(x_test))
        if key in results:
            print(f"{name}: done earlier, {json.dumps(results[key])}")
            continue
        results[key] = run_row(name, args, x_train, x_test, out, y_train, y_test)
        results_file.write_text(json.dumps(results, indent=1))

    print()
    print(f"{'row':16} {'paper (nats)':>22} {'ours (nats)':>16} {'test ELBO':>10} {'AU':>4} {'epochs':>7} {'train s':>8}")
    for name in args.rows:
        r = results[_key(name, args, len(x_test))]
        _, label, paper = ROWS[name]
        print(f"{name:16} {label + ' ' + format(paper, '.2f'):>22} {r['nll']:9.2f} +-{r['stderr']:4.2f} "
              f"{-r['test_elbo']:10.2f} {r['active_units']:4d} {r['epochs']:7d} {r['train_seconds']:8.0f}")
    print("(NLL = -log p(x), -log p(x | y) for cond_*; the papers trained for 3,280 epochs; see the "
          "docstring for what differs)")
    _print_condition_gain(args, results, out, len(x_test))
    _print_curves(args, results, len(x_test))
    if args.plot:
        plot_curves(args, results, out, len(x_test), pathlib.Path(args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Semi-supervised MNIST with 100 labels: M2 beside a classifier of the 100 labels alone (issue 25).

Kingma, Rezende, Mohamed & Welling (2014), Table 1, N = 100 labels: NN 25.80 %,
M2 11.97 +- 1.71 %, M1+M2 3.33 +- 0.14 % test error. Here:

- data: MNIST, statically binarized (seed 0); 10 labels per class drawn with
  ``--seed`` from the training set, the other training images unlabelled (label -1),
  of which ``--unlabeled`` are used (all 59,900 by default is the paper's setting);
- M2: ``kv.SemiSupervisedVAE`` with 784-500-50 / 50-500-784 MLPs, Bernoulli, a
  784-500-10 classifier q(y | x), ``alpha`` on the labelled classification loss; the
  100 labelled images are repeated ``--label-repeats`` times in the training set so
  that each batch holds some (Kingma et al. draw a labelled and an unlabelled
  minibatch per step); ``alpha`` per copy is by default 0.1 N / repeats, so that a
  labelled image's classification loss weighs 0.1 N per epoch against 1 for each
  unlabelled ELBO. That is 100 (the number of labels) times Kingma et al.'s weight:
  their J^alpha adds 0.1 N times the *mean* over the labelled examples
  (nips14-ssl, learn_yz_x_ss.py: ``beta = alpha * n_tot / n_labeled``, alpha 0.1,
  each example once per pass), 0.1 N / 100 per labelled image; ``--alpha`` set to
  that (0.1 N / (100 * repeats)) trains a worse classifier at these budgets (see
  docs/conditioning.md);
- the K copies of an example share their posterior noise (``shared_noise``;
  ``--independent-noise`` draws them independently, as before issue 25's fix);
- the baseline: the same classifier body (Flatten, Dense(500, relu), Dense(10)),
  trained on the 100 labels alone with the same optimizer, batch size and number
  of steps as M2;
- test error on the ``--limit`` first test images.

    python benchmarks/semi_supervised.py --epochs 6 --unlabeled 10000 --curve  # a few minutes on 2 cores
    python benchmarks/semi_supervised.py --epochs 40 --unlabeled 59900 --curve # ~30 min: M2 19.02 %, labels alone 29.03 %
"""
from __future__ import annotations

import argparse
import sys
import time

from _common import data_path, machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets  # noqa: E402

PAPER = (("NN, 100 labels (paper)", "25.80"), ("M2 (paper)", "11.97 +- 1.71"), ("M1+M2 (paper)", "3.33 +- 0.14"))


def split_labels(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` labelled examples of each class."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in range(10)])


def classifier_body(units: int) -> keras.Sequential:
    """The classifier of M2 (``SemiSupervisedVAE.classifier``), alone."""
    return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dense(10)])


def labels_only_error(x, y, x_test, y_test, steps: int, batch_size: int, hidden: int, learning_rate: float,
                      seed: int) -> tuple[float, float]:
    """(test error %, training seconds) of :func:`classifier_body` trained on the
    labelled examples alone for ``steps`` batches drawn with replacement (M2's
    number of steps): the baseline. The batches are gathered as they are needed (a
    long budget's draws, materialized at once, took 8 GB at 40 epochs)."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    baseline = classifier_body(hidden)
    baseline.compile(optimizer=keras.optimizers.Adam(learning_rate),
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    draw = np.random.default_rng(seed).integers(0, len(x), steps * batch_size)
    images, labels = tf.constant(x, tf.float32), tf.constant(y)
    batches = tf.data.Dataset.from_tensor_slices(draw).batch(batch_size).map(
        lambda i: (tf.gather(images, i), tf.gather(labels, i))).prefetch(2)
    start = time.perf_counter()
    baseline.fit(batches, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    return 100.0 * float(np.mean(np.argmax(baseline.predict(x_test, verbose=0), -1) != y_test)), seconds


def generative_error(m2, x: np.ndarray, y: np.ndarray, samples: int = 8) -> float:
    """Test error % of the generative model's own classifier, argmax_y of ELBO(x, y)
    (an 8-sample estimate): what the unlabelled term pulls q(y | x) toward."""
    k = m2.num_classes
    classes = np.repeat(np.arange(k), len(x))
    terms = m2.terms(np.tile(x, (k, 1, 1, 1)), num_samples=samples, seed=0, condition=classes)
    elbo = np.mean(terms.log_px + terms.log_pz - terms.log_qz, axis=0).reshape(k, len(x))
    return 100.0 * float(np.mean(np.argmax(elbo, axis=0) != y))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--per-class", type=int, default=10, help="labels per class")
    parser.add_argument("--unlabeled", type=int, default=59900, help="unlabelled training images used")
    parser.add_argument("--label-repeats", type=int, default=20)
    parser.add_argument("--alpha", type=float, default=None,
                        help="weight of a labelled copy's classification loss (default: the paper's 0.1 N, "
                             "spread over the --label-repeats copies: 0.1 N / repeats)")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--latent-dim", type=int, default=50)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--limit", type=int, default=10000, help="test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--independent-noise", action="store_true",
                        help="draw z independently for each class of an example (shared_noise=False, the "
                             "behaviour before issue 25's fix) instead of with shared noise")
    parser.add_argument("--curve", action="store_true",
                        help="print M2's test error after every epoch, and its generative model's")
    args = parser.parse_args(argv)
    path = data_path(args.data)
    x, y = datasets.load_mnist("train", path=path)
    x_test, y_test = datasets.load_mnist("test", path=path)
    x, x_test = datasets.binarize(x, seed=0), datasets.binarize(x_test[: args.limit], seed=1)
    y_test = y_test[: args.limit]
    labeled = split_labels(y, args.per_class, args.seed)
    rest = np.setdiff1d(np.arange(len(x)), labeled)
    rest = np.random.default_rng(args.seed).permutation(rest)[: args.unlabeled]
    x_train = np.concatenate([x[rest]] + [x[labeled]] * args.label_repeats)
    y_train = np.concatenate([np.full(len(rest), -1)] + [y[labeled]] * args.label_repeats)
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    # 0.1 N per labelled image per epoch (label_repeats copies); Kingma et al.'s is
    # 0.1 N / (number of labels): see the module docstring.
    alpha = 0.1 * (len(rest) + len(labeled)) / args.label_repeats if args.alpha is None else args.alpha
    print(machine_line())
    print(f"{len(labeled)} labels ({args.per_class} per class, x{args.label_repeats} in each epoch), "
          f"{len(rest)} unlabelled; {args.epochs} epochs = {steps} steps of batch {args.batch_size}, "
          f"Adam {args.learning_rate:g}, alpha {alpha:g}, latent {args.latent_dim}, "
          f"{'independent' if args.independent_noise else 'shared'} noise over the classes; test error on {len(x_test)} test images")

    keras.utils.set_random_seed(args.seed)
    m2 = kv.SemiSupervisedVAE(kv.encoders.MLPEncoder([args.hidden]), kv.decoders.MLPDecoder([args.hidden]),
                              latent_dim=args.latent_dim, num_classes=10, input_shape=(28, 28, 1),
                              classifier_units=[args.hidden], alpha=alpha, likelihood="bernoulli",
                              shared_noise=not args.independent_noise,
                              seed=args.seed)
    m2.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    start = time.perf_counter()
    callbacks = []
    if args.curve:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(
            f"epoch {epoch + 1}: M2 test error {100.0 * np.mean(m2.classify(x_test).argmax(-1) != y_test):.2f} %, "
            f"its generative model's argmax_y ELBO(x, y) {generative_error(m2, x_test[:1000], y_test[:1000]):.1f} % "
            f"(first 1000 test images)", flush=True)))
    m2.fit({"x": x_train, "condition": y_train}, batch_size=args.batch_size, epochs=args.epochs, verbose=2,
           callbacks=callbacks)
    m2_seconds = time.perf_counter() - start
    m2_error = 100.0 * np.mean(m2.classify(x_test).argmax(-1) != y_test)

    baseline_error, baseline_seconds = labels_only_error(
        x[labeled], y[labeled], x_test, y_test, steps, args.batch_size, args.hidden, args.learning_rate, args.seed)

    print(f"{'model':32} {'test error %':>14} {'train s':>8}")
    print(f"{f'classifier, {len(labeled)} labels alone':32} {baseline_error:14.2f} {baseline_seconds:8.0f}")
    print(f"{'M2 (kv.SemiSupervisedVAE)':32} {m2_error:14.2f} {m2_seconds:8.0f}")
    for name, figure in PAPER:
        print(f"{name:32} {figure:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

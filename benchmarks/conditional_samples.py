"""Are conditional samples what they are asked to be? (issue 25)

Trains a label-conditioned VAE on MNIST (784-400-2 MLP, one-hot condition joined to the
encoder's features and to z, Bernoulli likelihood), draws ``--per-label`` samples for
each label, and classifies them with an independently trained classifier (an MLP on
the real training images). Prints the classifier's test accuracy, the per-label and
overall accuracy on the samples, and the budget.

Why a 2-D latent: with 8-16 latents a plain CVAE puts part of the digit's identity in
z, so a sample's class depends on where z falls; with 2 latents the label carries the
class and z the style.

    python benchmarks/conditional_samples.py                      # 5 epochs, CPU minutes
    python benchmarks/conditional_samples.py --epochs 20 --latent-dim 2
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


def classifier(x, y, x_test, y_test, epochs: int):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=0)
    return model, model.evaluate(x_test, y_test, verbose=0)[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--per-label", type=int, default=200)
    parser.add_argument("--limit", type=int, default=None,
                        help="training images used by the CVAE and the judging classifier (default: all 60,000)")
    args = parser.parse_args(argv)
    path = data_path(args.data)
    x, y = datasets.load_mnist("train", path=path)
    x, y = x[: args.limit], y[: args.limit]
    x_test, y_test = datasets.load_mnist("test", path=path)
    print(machine_line())
    start = time.perf_counter()
    judge, judge_accuracy = classifier(x, y, x_test, y_test, epochs=2)
    keras.utils.set_random_seed(0)
    vae = kv.VAE(kv.encoders.MLPEncoder([400]), kv.decoders.MLPDecoder([400]), latent_dim=args.latent_dim,
                 input_shape=(28, 28, 1), condition={"name": "one_hot", "num_classes": 10}, seed=0)
    vae.compile(optimizer="adam")
    train = {"x": datasets.binarize(x, seed=0), "condition": y}
    vae.fit(train, batch_size=128, epochs=args.epochs, verbose=0)
    labels = np.repeat(np.arange(10), args.per_label)
    samples = vae.sample(len(labels), condition=labels, seed=0).numpy()
    predicted = np.argmax(judge.predict(samples, verbose=0), axis=1)
    per_label = [float(np.mean(predicted[labels == k] == k)) for k in range(10)]
    print(f"budget: {len(x)} training images; CVAE {args.epochs} epochs, latent {args.latent_dim}, batch 128; classifier 2 epochs "
          f"(test accuracy {judge_accuracy:.3f}); {args.per_label} samples per label; "
          f"{time.perf_counter() - start:.0f} s")
    print("label    " + " ".join(f"{k:5d}" for k in range(10)))
    print("accuracy " + " ".join(f"{a:5.2f}" for a in per_label))
    print(f"overall accuracy of the conditional samples: {np.mean(per_label):.3f} (bar: 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

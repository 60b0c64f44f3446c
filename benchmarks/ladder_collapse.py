"""Why the ladder row of paper_table.py collapsed (KL ~ 0) on MNIST: a short probe.

Trains Burda's two-layer model (HierarchicalVAE defaults) for ``--epochs`` epochs of
``--limit`` training images (Adam lr 1e-3, eps 1e-4, batch 100, dynamically binarized
MNIST, as paper_table.py) in several variants and prints kl_1 / kl_2 (training
batches) every ``--every`` steps and, after each epoch, the test ELBO and the KL per
group on the first 1,000 test images.

    python benchmarks/ladder_collapse.py --epochs 3 --every 300 \
        --variants ladder ladder_warmup ladder_free_bits residual
"""
from __future__ import annotations

import argparse
import time

from _common import data_path  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets  # noqa: E402


def broaden_prior(h, scale_bias: float = 3.0) -> None:
    """Start every top-down prior p(z_l | z_{l+1}) as a broad, parent-independent
    N(0, softplus(3)^2 ~ 3^2): the ladder's merge is then ~ the bottom-up Gaussian."""
    for head in h.p_heads:
        kernel, bias = head.projection.get_weights()
        size = bias.shape[0] // 2
        bias[:size], bias[size:] = 0.0, scale_bias
        head.projection.set_weights([np.zeros_like(kernel), bias])


VARIANTS = {
    "bottom_up": ({"inference": "bottom_up"}, None, 0),
    "ladder": ({"inference": "ladder"}, None, 0),
    "ladder_broad_prior": ({"inference": "ladder"}, broaden_prior, 0),
    "ladder_warmup": ({"inference": "ladder"}, None, 1),  # KLWarmup over the first epoch
    "ladder_free_bits": ({"inference": "ladder", "objective": {"name": "elbo", "free_bits": 2.0,
                                                               "free_bits_mode": "per_group"}}, None, 0),
    "residual": ({"inference": "residual"}, None, 0),
}


class Report(keras.callbacks.Callback):
    def __init__(self, every, test):
        super().__init__()
        self.every, self.test, self.step = every, test, 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            print(f"    step {self.step:5d}  loss {logs['loss']:8.2f}  kl_1 {logs['kl_1']:7.2f}  "
                  f"kl_2 {logs['kl_2']:7.2f}", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        kls = [round(float(np.sum(k)), 2) for k in self.model.kl_per_dimension(self.test)]
        elbo = float(np.mean(self.model.elbo(self.test, seed=0).numpy()))
        print(f"  epoch {epoch + 1}: test ELBO {elbo:.2f}, test KL per group {kls}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=60000)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    path = data_path(args.data)
    x_train, _ = datasets.load_mnist("train", path=path)
    x_test, _ = datasets.load_mnist("test", path=path)
    x_train = x_train[: args.limit]
    test = datasets.binarize(x_test[:1000], seed=0)
    for name in args.variants:
        kwargs, init, warmup_epochs = VARIANTS[name]
        keras.utils.set_random_seed(0)
        h = kv.HierarchicalVAE(input_shape=(28, 28, 1), seed=0, **kwargs)
        if init is not None:
            init(h)
        h.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-4))
        callbacks = [Report(args.every, test)]
        if warmup_epochs:
            callbacks.append(kv.callbacks.KLWarmup(warmup_epochs))
        print(f"{name}:", flush=True)
        start = time.perf_counter()
        h.fit(datasets.dynamic_binarization(x_train, batch_size=100, seed=0), epochs=args.epochs, verbose=0,
              callbacks=callbacks)
        print(f"  {name}: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()

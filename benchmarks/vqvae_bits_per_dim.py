"""Test bits/dim of a VQ-VAE (with its PixelCNN prior) and a VAE on 8-bit images, beside
the figures of van den Oord et al. (2017) on CIFAR-10: VQ-VAE 4.67 bits/dim, VAE 4.51.

Both models have the same 8-bit likelihood head (``--likelihood logistic_mixture`` or
``categorical``, scoring the raw levels 0..255), the same encoder and decoder bodies
(conv 32-64 with a 1/255 rescaling in front / transposed conv 64-32), optimizer, batch
size, training images and number of epochs; the VQ-VAE's prior over codes is then fitted
for ``--prior-epochs`` more epochs on the codes (the only extra budget, stated in the
table with each model's training seconds).

* VQ-VAE: ``bits/dim = (-log p(x | z_q(x)) - log p_prior(codes(x))) / (D ln 2)``
  (``vq.bits_per_dim``: its posterior over codes is a point mass, so this is its ELBO),
  printed with its two parts: reconstruction bits/dim and prior bits/dim
  (``prior_bits_per_code * positions / D``);
* VAE: the negative ELBO in bits/dim (the same kind of bound) and the importance-sampled
  ``vae.log_likelihood`` (K = ``--num-samples``), a tighter estimate.

Data: CIFAR-10 when its official python tarball ``cifar-10-python.tar.gz`` is in
``$KERAS_VAE_DATA`` (see ``keras_vae.datasets.cifar10``; nothing is downloaded), else 8-bit
Fashion-MNIST (``--dataset fashion-mnist``, or ``mnist``) from ``$KERAS_VAE_DATA`` /
``--data``. Our rows are measured on a small budget, not the paper's (its models trained
for far longer, on bigger networks): the table shows the accounting and the gap between
the two models, not a reproduction of the paper's figures.

    python benchmarks/vqvae_bits_per_dim.py                            # CIFAR-10 if present, else Fashion-MNIST
    python benchmarks/vqvae_bits_per_dim.py --dataset fashion-mnist --limit 10000 --epochs 3
"""
from __future__ import annotations

import argparse
import math
import sys
import time

from _common import machine_line  # noqa: E402  (sets sys.path)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae as kv  # noqa: E402
from keras_vae import datasets  # noqa: E402
from keras_vae.datasets.cifar10 import load_cifar10  # noqa: E402

PAPER = {"VQ-VAE": 4.67, "VAE": 4.51}  # van den Oord et al. 2017, section 4.1, CIFAR-10
LOADERS = {"mnist": datasets.load_mnist, "fashion-mnist": datasets.load_fashion_mnist}


def load(name: str, data: str | None, limit: int, test_limit: int):
    """``(dataset name, x_train, x_test)``: uint8 levels as float32, first N of each split."""
    if name in ("auto", "cifar10"):
        try:
            x_train, _ = load_cifar10("train", path=data, normalize=False)
            x_test, _ = load_cifar10("test", path=data, normalize=False)
            name = "cifar10"
        except datasets.DatasetNotFoundError as error:
            if name == "cifar10":
                raise
            looked = ", ".join(error.tried) or "$KERAS_VAE_DATA (not set)"
            print(f"CIFAR-10 not found, using 8-bit Fashion-MNIST (looked for {looked})")
            name, data = "fashion-mnist", None
    if name != "cifar10":
        x_train, _ = LOADERS[name]("train", path=data, normalize=False, download=False)
        x_test, _ = LOADERS[name]("test", path=data, normalize=False, download=False)
    x_train = x_train[:limit] if limit else x_train
    x_test = x_test[:test_limit] if test_limit else x_test
    return name, x_train.astype("float32"), x_test.astype("float32")


def likelihood(args):
    if args.likelihood == "logistic_mixture":
        return {"name": "logistic_mixture", "num_components": args.num_components}
    return "categorical"


def encoder_body(grid: bool, channels: int):
    """conv 32-64 (stride 2) on the levels rescaled to [0, 1]: grid-keeping for the VQ-VAE."""
    body = (kv.encoders.ConvGridEncoder(filters=[32, 64], channels=channels) if grid
            else kv.encoders.ConvEncoder(filters=[32, 64]))
    return keras.Sequential([keras.layers.Rescaling(1.0 / 255.0), body])


def train_vqvae(x_train, x_test, args) -> dict:
    keras.utils.set_random_seed(args.seed)
    vq = kv.VQVAE(encoder=encoder_body(True, args.embedding_dim), decoder={"name": "conv", "filters": [64, 32]},
                  num_embeddings=args.num_embeddings, embedding_dim=args.embedding_dim,
                  input_shape=x_train.shape[1:], likelihood=likelihood(args),
                  prior={"name": "pixelcnn", "filters": 64, "num_layers": 6},
                  dead_code_steps=args.dead_code_steps, seed=args.seed)
    vq.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    start = time.perf_counter()
    vq.fit(x_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    vq.fit_prior(x_train, epochs=args.prior_epochs, batch_size=args.batch_size, verbose=0)
    prior_s = time.perf_counter() - start
    dims, positions = math.prod(x_test.shape[1:]), math.prod(vq.grid_shape)
    nll = vq.evaluate(x_test, batch_size=args.batch_size, verbose=0, return_dict=True)["reconstruction_loss"]
    codes = vq.codes(x_test)
    stats = vq.code_statistics(codes=codes)
    return {
        "model": "VQ-VAE",
        "bits_per_dim": vq.bits_per_dim(x_test, batch_size=args.batch_size),
        "reconstruction": nll / (dims * math.log(2.0)),
        "prior": vq.prior_bits_per_code(codes=codes) * positions / dims,
        "uniform_prior": vq.bits_per_dim(x_test, prior="uniform", batch_size=args.batch_size),
        "detail": f"{vq.grid_shape[0]}x{vq.grid_shape[1]} codes, K={args.num_embeddings}, "
                  f"{stats['codes_in_use'] * args.num_embeddings:.0f} in use",
        "train_s": train_s,
        "extra_s": prior_s,
    }


def train_vae(x_train, x_test, args) -> dict:
    keras.utils.set_random_seed(args.seed)
    vae = kv.VAE(encoder=encoder_body(False, 0), decoder={"name": "conv", "filters": [64, 32]},
                 latent_dim=args.latent_dim, input_shape=x_train.shape[1:], likelihood=likelihood(args),
                 seed=args.seed)
    vae.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    start = time.perf_counter()
    vae.fit(x_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    train_s = time.perf_counter() - start
    dims = math.prod(x_test.shape[1:])
    scores = vae.evaluate(x_test, batch_size=args.batch_size, verbose=0, return_dict=True)
    start = time.perf_counter()
    chunk = max(1, 2**22 // (args.eval_batch * dims * vae.likelihood_layer.num_params))
    log_px = vae.log_likelihood(x_test, num_samples=args.num_samples, batch_size=args.eval_batch,
                                chunk_size=chunk, seed=0)
    return {
        "model": "VAE",
        "bits_per_dim": -scores["elbo"] / (dims * math.log(2.0)),
        "reconstruction": scores["reconstruction_loss"] / (dims * math.log(2.0)),
        "prior": scores["kl"] / (dims * math.log(2.0)),
        "iwae": float(np.mean(-log_px) / (dims * math.log(2.0))),
        "detail": f"latent {args.latent_dim}",
        "train_s": train_s,
        "extra_s": time.perf_counter() - start,
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("auto", "cifar10", "fashion-mnist", "mnist"), default="auto")
    parser.add_argument("--data", default=None, help="the data set's folder (default: $KERAS_VAE_DATA)")
    parser.add_argument("--limit", type=int, default=10000, help="training images (first N; 0: all)")
    parser.add_argument("--test-limit", type=int, default=1000, help="test images (first N; 0: all)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of both autoencoders")
    parser.add_argument("--prior-epochs", type=int, default=3, help="epochs of the VQ-VAE's PixelCNN prior")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--likelihood", choices=("logistic_mixture", "categorical"), default="logistic_mixture")
    parser.add_argument("--num-components", type=int, default=5)
    parser.add_argument("--num-embeddings", type=int, default=128)
    parser.add_argument("--embedding-dim", type=int, default=16)
    parser.add_argument("--dead-code-steps", type=int, default=100,
                        help="the VQ-VAE's restart threshold (training batches a code may go unused)")
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--num-samples", type=int, default=100, help="K of the VAE's importance-sampled log p(x)")
    parser.add_argument("--eval-batch", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    name, x_train, x_test = load(args.dataset, args.data, args.limit, args.test_limit)
    print(machine_line())
    rows = [train_vqvae(x_train, x_test, args), train_vae(x_train, x_test, args)]
    print(f"\n{name}, 8-bit, {args.likelihood} likelihood; {len(x_train)} training images, {args.epochs} epochs "
          f"of each autoencoder (batch {args.batch_size}, Adam {args.learning_rate}) + {args.prior_epochs} epochs "
          f"of the VQ-VAE's PixelCNN prior; test bits/dim on {len(x_test)} images (lower is better)\n")
    print("| model | data | test bits/dim | = reconstruction + prior/KL | other estimate | latents | train s "
          "| prior / IWAE s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        other = (f"uniform code prior {r['uniform_prior']:.3f}" if r["model"] == "VQ-VAE"
                 else f"IWAE K={args.num_samples}: {r['iwae']:.3f}")
        print(f"| {r['model']} (ours) | {name} | {r['bits_per_dim']:.3f} | {r['reconstruction']:.3f} + "
              f"{r['prior']:.3f} | {other} | {r['detail']} | {r['train_s']:.0f} | {r['extra_s']:.0f} |")
    for model, bits in PAPER.items():
        print(f"| {model} (van den Oord et al. 2017) | cifar10 | {bits:.2f} | | | | | |")
    print("command: python benchmarks/vqvae_bits_per_dim.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return rows


if __name__ == "__main__":
    main()

"""keras_vae against pythae at an equal budget, side by side.

Both libraries train the same models on the same data with the same budget and are
scored by the same estimator:

* a 784-400-20 MLP (ReLU), Bernoulli likelihood, diagonal Gaussian q(z|x);
* Adam, learning rate 1e-3, batch 128, 3 epochs over the 60,000 MNIST training
  images, binarized once with a fixed seed (``--binarization static``, the same
  array for both libraries) or afresh for every batch (``dynamic``, both libraries);
* test log-likelihood ``log (1/K) sum_k p(x, z_k) / q(z_k|x)``, K = 200, on the first
  1,000 test images binarized once (seed 0): pythae's ``model.get_nll`` and
  ``keras_vae.evaluation.log_likelihood``, the same estimator.

Models: ``vae`` (plain), ``vamp`` (VampPrior, 50 pseudo-inputs: pythae's default),
``iwae`` (IWAE k = 5), ``iaf`` (inverse autoregressive flow posterior: pythae's
default flow, two MADE blocks of three hidden layers of 128 units, unconditioned by
x; keras_vae's :class:`~keras_vae.posteriors.IAFPosterior` with the same flow sizes,
``context_size=0``).

pythae (PyTorch) is not a dependency of keras_vae: it runs in a subprocess with
another environment's Python (``--pythae-python``, e.g. a virtualenv made with
``python3 -m venv venv-pythae && venv-pythae/bin/pip install torch
pythae``); this file is that subprocess's program too (``--worker``) and imports
neither TensorFlow nor keras_vae there.

What separates the libraries at this budget is the layers' initialization, not the
objectives: Keras draws ``Dense`` kernels Glorot-uniform with zero biases, PyTorch's
``nn.Linear`` draws kernels and biases uniform in ``+-1/sqrt(fan_in)`` (half as
wide as Glorot for the 784- and 400-wide inputs, twice as wide for the 20 latents). ``--init torch`` re-draws keras_vae's ``Dense`` layers the PyTorch
way (:func:`torch_style_init`) and shows the difference that remains. The IWAE
estimator and gradient are the same in both (``-sum_k stop(w~_k) log w_k`` in
pythae, the gradient of ``logsumexp`` in keras_vae), as is the K = 200 estimate
(pythae's ``get_nll`` per image, 2 chunks of 100 samples).

Prints one row per model: test log p(x) of each library (mean +- standard error
over the test images), the difference, and each library's training time.

Usage::

    python benchmarks/pythae_compare.py --pythae-python venv-pythae/bin/python
    python benchmarks/pythae_compare.py --models iwae iaf --seeds 0 1
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

MODELS = ("vae", "vamp", "iwae", "iaf")
LATENT, HIDDEN = 20, 400
IWAE_SAMPLES = 5
VAMP_COMPONENTS = 50
IAF_BLOCKS, IAF_LAYERS, IAF_UNITS = 2, 3, 128


# ------------------------------------------------------------------ data (shared)
def prepare_data(path: str | None, limit: int, seed: int) -> dict:
    """MNIST probabilities in [0, 1] (train) and the binarized test images."""
    from keras_vae import datasets

    x_train, _ = datasets.load_mnist("train", path=path)
    x_test, _ = datasets.load_mnist("test", path=path)
    x_train = np.asarray(x_train, np.float32).reshape(-1, 28, 28, 1)
    if x_train.max() > 1:
        x_train = x_train / 255.0
    test = datasets.binarize(np.asarray(x_test)[:limit], seed=0).reshape(-1, 28, 28, 1)
    return {"train_probs": x_train.astype(np.float32), "test": test.astype(np.float32)}


def training_images(probs: np.ndarray, seed: int) -> np.ndarray:
    """The training set binarized once (the static protocol), the same for both."""
    rng = np.random.default_rng(1000 + seed)
    return (rng.random(probs.shape, dtype=np.float32) < probs).astype(np.float32)


# ---------------------------------------------------------------- keras_vae side
def keras_vae_model(name: str, seed: int):
    import keras_vae as kv

    common = dict(
        encoder=kv.encoders.MLPEncoder([HIDDEN]), decoder=kv.decoders.MLPDecoder([HIDDEN]),
        latent_dim=LATENT, input_shape=(28, 28, 1), likelihood="bernoulli", seed=seed,
    )
    if name == "vamp":
        return kv.VAE(prior=kv.priors.VampPrior(num_pseudo_inputs=VAMP_COMPONENTS, input_range=(0.0, 1.0)), **common)
    if name == "iwae":
        return kv.VAE(objective=kv.objectives.IWAE(num_samples=IWAE_SAMPLES), **common)
    if name == "iaf":
        posterior = kv.posteriors.IAFPosterior(
            num_flows=IAF_BLOCKS, hidden_units=[IAF_UNITS] * IAF_LAYERS, context_size=0)
        return kv.VAE(posterior=posterior, **common)
    return kv.VAE(**common)


def torch_style_init(vae, seed: int) -> None:
    """Re-draws every ``Dense`` kernel and bias of a built model the way PyTorch's
    ``nn.Linear`` (pythae's layers) initializes them: uniform in
    ``+-1/sqrt(fan_in)``. Keras' default is Glorot-uniform kernels and zero biases."""
    import keras

    generator = keras.random.SeedGenerator(seed)
    for layer in vae._flatten_layers():
        if isinstance(layer, keras.layers.Dense):
            bound = 1.0 / math.sqrt(layer.kernel.shape[0])
            layer.kernel.assign(keras.random.uniform(layer.kernel.shape, -bound, bound, seed=generator))
            if layer.bias is not None:
                layer.bias.assign(keras.random.uniform(layer.bias.shape, -bound, bound, seed=generator))


def run_keras_vae(name: str, data: dict, args, seed: int) -> dict:
    import keras

    from keras_vae import datasets, evaluation

    keras.utils.set_random_seed(seed)
    vae = keras_vae_model(name, seed)
    if args.init == "torch":
        torch_style_init(vae, seed)
    vae.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    start = time.perf_counter()
    if args.binarization == "dynamic":
        train = datasets.dynamic_binarization(data["train_probs"], batch_size=args.batch_size, seed=seed)
        vae.fit(train, epochs=args.epochs, verbose=0)
    else:
        vae.fit(training_images(data["train_probs"], seed), batch_size=args.batch_size,
                epochs=args.epochs, shuffle=True, verbose=0)
    train_time = time.perf_counter() - start
    ll = evaluation.log_likelihood(vae, data["test"], num_samples=args.num_samples, seed=seed)
    return {"log_px": ll.tolist(), "train_s": train_time}


# ------------------------------------------------------------------- pythae side
def run_pythae(name: str, npz: str, options: dict) -> dict:
    """Runs in the pythae environment (``--worker``): torch and pythae only."""
    import torch
    from pythae.models import IWAE, IWAEConfig, VAE, VAE_IAF, VAE_IAF_Config, VAEConfig, VAMP, VAMPConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig
    from pythae.data.datasets import BaseDataset, DatasetOutput

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, HIDDEN), torch.nn.ReLU())
            self.mean, self.log_var = torch.nn.Linear(HIDDEN, LATENT), torch.nn.Linear(HIDDEN, LATENT)

        def forward(self, x):
            h = self.body(x)
            return ModelOutput(embedding=self.mean(h), log_covariance=self.log_var(h))

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(LATENT, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 784), torch.nn.Sigmoid())

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z).reshape(-1, 1, 28, 28))

    class DynamicBinarization(BaseDataset):
        def __getitem__(self, index):
            return DatasetOutput(data=torch.bernoulli(self.data[index]), labels=self.labels[index])

    seed = options["seed"]
    torch.manual_seed(seed)
    arrays = np.load(npz)
    common = dict(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce")
    if name == "vamp":
        config, cls = VAMPConfig(number_components=VAMP_COMPONENTS, **common), VAMP
    elif name == "iwae":
        config, cls = IWAEConfig(number_samples=IWAE_SAMPLES, **common), IWAE
    elif name == "iaf":
        config = VAE_IAF_Config(n_made_blocks=IAF_BLOCKS, n_hidden_in_made=IAF_LAYERS, hidden_size=IAF_UNITS, **common)
        cls = VAE_IAF
    else:
        config, cls = VAEConfig(**common), VAE
    model = cls(config, encoder=Encoder(), decoder=Decoder())
    train = torch.from_numpy(arrays["train"]).permute(0, 3, 1, 2).contiguous()
    if options["binarization"] == "dynamic":
        train = DynamicBinarization(train, torch.zeros(len(train)))
    trainer = BaseTrainerConfig(
        output_dir=options["out_dir"], per_device_train_batch_size=options["batch_size"],
        num_epochs=options["epochs"], learning_rate=options["learning_rate"], optimizer_cls="Adam",
        seed=seed, no_cuda=True,
    )
    start = time.perf_counter()
    pipeline = TrainingPipeline(model=model, training_config=trainer)
    pipeline(train_data=train)
    train_time = time.perf_counter() - start
    model = pipeline.trainer.model.eval()  # the last weights, as keras_vae's
    test = torch.from_numpy(arrays["test"]).permute(0, 3, 1, 2).contiguous()
    torch.manual_seed(seed)
    values = []
    with torch.no_grad():
        for image in test:  # get_nll returns the mean; per image gives the standard error
            values.append(float(model.get_nll(image[None], n_samples=options["num_samples"], batch_size=100)))
    return {"log_px": values, "train_s": train_time, "torch": torch.__version__}


def call_pythae(python: str, name: str, npz: str, args, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as out_dir:
        options = dict(seed=seed, batch_size=args.batch_size, epochs=args.epochs, learning_rate=args.learning_rate,
                       num_samples=args.num_samples, binarization=args.binarization, out_dir=out_dir)
        result = pathlib.Path(out_dir) / "result.json"
        command = [python, __file__, "--worker", name, "--npz", npz, "--options", json.dumps(options),
                   "--result", str(result)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pythae run failed ({' '.join(command[:4])} ...):\n{done.stderr[-3000:]}")
        return json.loads(result.read_text())


# ------------------------------------------------------------------------ table
def summary(values) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--npz", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--options", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pythae-python", default=os.environ.get("PYTHAE_PYTHON", "venv-pythae/bin/python"),
                        help="a Python with torch and pythae installed")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--libraries", nargs="+", default=["pythae", "keras_vae"], choices=["pythae", "keras_vae"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--num-samples", type=int, default=200, help="K of the test log-likelihood")
    parser.add_argument("--limit", type=int, default=1000, help="test images")
    parser.add_argument("--binarization", default="static", choices=["static", "dynamic"])
    parser.add_argument("--init", default="keras", choices=["keras", "torch"],
                        help="keras_vae's layers as Keras draws them, or re-drawn as PyTorch's nn.Linear "
                             "(the cause of the gap at this budget: see the README's comparison)")
    parser.add_argument("--json", default=None, help="also write every per-run result here")
    args = parser.parse_args(argv)
    if args.worker:
        result = run_pythae(args.worker, args.npz, json.loads(args.options))
        pathlib.Path(args.result).write_text(json.dumps(result))
        return 0

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from _common import data_path, machine_line  # noqa: E402  (imports keras_vae)

    print(machine_line())
    data = prepare_data(data_path(args.data), args.limit, 0)
    print(f"protocol: 784-{HIDDEN}-{LATENT} MLP, Bernoulli, Adam {args.learning_rate:g}, batch {args.batch_size}, "
          f"{args.epochs} epochs on {len(data['train_probs'])} images ({args.binarization} binarization); "
          f"test log p(x), K = {args.num_samples}, first {len(data['test'])} test images binarized once; "
          f"keras_vae's initialization: {args.init}")
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            npz = os.path.join(tmp, f"data{seed}.npz")
            np.savez(npz, train=(data["train_probs"] if args.binarization == "dynamic"
                                 else training_images(data["train_probs"], seed)), test=data["test"])
            for name in args.models:
                for library in args.libraries:
                    if library == "pythae":
                        result = call_pythae(args.pythae_python, name, npz, args, seed)
                    else:
                        result = run_keras_vae(name, data, args, seed)
                    runs[(name, library, seed)] = result
                    mean, se = summary(result["log_px"])
                    print(f"  [{name} seed {seed}] {library:9s} log p(x) {mean:8.2f} +- {se:.2f}  "
                          f"(training {result['train_s']:.0f} s)", flush=True)
    print()
    print(f"{'model':6s} {'seed':>4s} {'pythae':>16s} {'keras_vae':>16s} {'ours - pythae':>14s}")
    for name in args.models:
        for seed in args.seeds:
            cells, means = [], {}
            for library in ("pythae", "keras_vae"):
                if (name, library, seed) in runs:
                    means[library], se = summary(runs[(name, library, seed)]["log_px"])
                    cells.append(f"{means[library]:8.2f} +- {se:.2f}")
                else:
                    cells.append("-")
            diff = f"{means['keras_vae'] - means['pythae']:+.2f}" if len(means) == 2 else "-"
            print(f"{name:6s} {seed:4d} {cells[0]:>16s} {cells[1]:>16s} {diff:>14s}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"|".join(map(str, k)): v for k, v in runs.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

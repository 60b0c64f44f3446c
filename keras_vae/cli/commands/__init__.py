"""One module per command; each ``run(args) -> exit status`` imports TensorFlow itself
when it needs it."""
from keras_vae.cli.commands import components, disentanglement, evaluate, export, gaps, sample, score, train

COMMANDS = {
    "train": train.run,
    "evaluate": evaluate.run,
    "gaps": gaps.run,
    "score": score.run,
    "sample": sample.run,
    "export": export.run,
    "components": components.run,
    "disentanglement": disentanglement.run,
}

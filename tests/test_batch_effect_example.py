"""examples/count_data/batch_effect.py at a tiny size: conditioning a negative-binomial
VAE on the batch removes the batch effect from z (a batch classifier on z is nearer
chance, and the batch silhouette lower, than for the same VAE without the condition)."""
import importlib.util
import os

import pytest

pytest.importorskip("sklearn")
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "examples", "count_data", "batch_effect.py")


@pytest.mark.xla  # the example as users run it (its thresholds were set on XLA's random stream)
def test_the_batch_conditioned_vae_mixes_the_batches_in_z():
    spec = importlib.util.spec_from_file_location("batch_effect", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.run(train=400, test=300, epochs=30, seed=0, verbose=False, batch_size=32)
    plain, conditioned = results["unconditioned"], results["conditioned"]
    assert plain["batch_accuracy"] > 0.9  # without the condition, z carries the batch
    assert abs(conditioned["batch_accuracy"] - 0.5) < abs(plain["batch_accuracy"] - 0.5) - 0.15
    assert conditioned["batch_silhouette"] < plain["batch_silhouette"] - 0.2
    assert conditioned["cell_type_accuracy"] > 0.8  # the cell types stay apart

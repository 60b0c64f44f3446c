"""The new families pass the same component checks plugin authors run, and a
third-party objective is one class and one decorator."""
import pytest
import tensorflow as tf

import keras_vae as kv
from keras_vae import testing


@pytest.mark.parametrize(
    "kind,spec",
    [
        ("posterior", "full_gaussian"),
        ("posterior", {"name": "iaf", "hidden_units": [6], "context_size": 2}),
        ("prior", "learned_gaussian"),
        ("prior", {"name": "mixture", "num_components": 3}),
        ("prior", {"name": "vamp", "num_pseudo_inputs": 3}),
        ("objective", {"name": "iwae", "num_samples": 3}),
        ("objective", {"name": "iwae", "num_samples": 2, "gradient": "dreg"}),
    ],
    ids=lambda v: v if isinstance(v, str) else v["name"] + "-" + "-".join(map(str, list(v.values())[1:])),
)
def test_family_component_passes_the_component_checks(kind, spec, tmp_path):
    testing.check_component(kind, spec, input_shape=(5,), tmp_path=tmp_path)


def test_a_third_party_objective_is_one_class_and_one_decorator(tmp_path):
    @kv.register("objective", "test_tight_elbo")
    class TightELBO(kv.objectives.Objective):
        """The mean of two one-sample ELBOs and the two-sample IWAE bound."""

        num_samples = 2
        metric_names = ("elbo", "gap")

        def __call__(self, terms):
            log_w = terms.log_weights()
            iwae = tf.reduce_logsumexp(log_w, axis=0) - tf.math.log(2.0)
            elbo = tf.reduce_mean(log_w, axis=0)
            return -iwae, {"elbo": elbo, "gap": iwae - elbo}

    vae = testing.check_component("objective", "test_tight_elbo", input_shape=(5,), tmp_path=tmp_path)
    assert set(vae.metrics_names) == {"loss", "elbo", "gap"}
    assert isinstance(kv.load_model(tmp_path / "check_save_load.keras").objective, TightELBO)

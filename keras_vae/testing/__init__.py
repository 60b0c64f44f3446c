"""Helpers for testing keras_vae components (yours or a plugin's)."""
from keras_vae.testing.checks import (
    assert_same_outputs,
    check_component,
    check_condition_layer,
    check_objective_values,
    check_prior_distribution,
    check_config_round_trip,
    check_elbo_loss,
    check_reparameterization,
    check_save_load,
    check_training_step,
    example_conditions,
    example_data,
    small_vae,
)

__all__ = [
    "assert_same_outputs",
    "check_component",
    "check_condition_layer",
    "check_objective_values",
    "check_prior_distribution",
    "check_config_round_trip",
    "check_elbo_loss",
    "check_reparameterization",
    "check_save_load",
    "check_training_step",
    "example_conditions",
    "example_data",
    "small_vae",
]

"""The component kinds the command line configures, in data-path order
(keras_vae.registry.KINDS, without importing the registry: `keras-vae --help` stays fast).

Its own module so that ``settings`` (which resolves components) and ``components``
(which reads settings' kinds) do not import each other."""

COMPONENT_KINDS = ("encoder", "decoder", "posterior", "prior", "likelihood", "objective")

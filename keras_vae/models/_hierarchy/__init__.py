"""The pieces of :class:`keras_vae.HierarchicalVAE` (``models/hierarchical.py``), one
concern per module: ``args`` (argument checks), ``chain`` (``GroupChain``, the
ancestral distribution over the concatenated groups), ``merge`` (the ladder's
precision weighting), ``residual`` (NVAE's residual normal posterior), ``networks``
(the prior chain and each inference scheme's chain), ``terms`` (the objective's terms
per group and the KL metrics), ``latent_paths`` (decoding / traversal at a group),
``diagnostics`` (KL per dimension and active units per group), ``gaps`` (inference
gaps) and ``runtime_export`` (LiteRT / ONNX parts)."""

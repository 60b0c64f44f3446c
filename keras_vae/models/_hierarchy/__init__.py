"""The pieces of :class:`keras_vae.HierarchicalVAE` (``models/hierarchical.py``), one
concern per module: ``args`` (argument checks), ``chain`` (``GroupChain``, the
ancestral distribution over the concatenated groups), ``merge`` (the ladder's
precision weighting), ``residual`` (NVAE's residual normal posterior), ``networks``
(the prior chain and each inference scheme's chain), ``terms`` (the objective's terms
per group and the KL metrics), ``latent_paths`` (decoding / traversal at a group),
``diagnostics`` (KL per dimension and active units per group) and ``gaps`` (the
inference-gaps hooks). Its exports are ``keras_vae/export/hierarchical.py`` (SavedModel)
and ``keras_vae/export/hierarchical_runtime.py`` (LiteRT / ONNX)."""

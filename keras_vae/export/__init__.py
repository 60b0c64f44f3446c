"""Export a trained VAE for serving.

``export_vae(vae, "models/vae")`` (also ``vae.export(...)``) writes a TF Serving
SavedModel to ``models/vae/<version>/``; see ``keras_vae.export.saved_model`` for the
signatures and the design decisions.

* ``saved_model.py``: the signatures and ``export_vae``.
* ``versions.py``: the ``<base>/<integer version>/`` layout.
* ``warmup.py``: TF Serving warm-up requests.

Example:
    >>> from keras_vae.export import export_vae, SIGNATURES
    >>> SIGNATURES
    ('encode', 'decode', 'reconstruct', 'sample', 'score')
"""
from keras_vae.export.saved_model import SIGNATURES, _score_seed, export_vae
from keras_vae.export.versions import _existing_versions, _resolve_target
from keras_vae.export.warmup import WARMUP_FILE, _serving_api_available

__all__ = ["SIGNATURES", "WARMUP_FILE", "export_vae"]

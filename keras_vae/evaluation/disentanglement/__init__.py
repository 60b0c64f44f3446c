"""Disentanglement metrics with disentanglement_lib's definitions, estimators and
defaults (Locatello et al., 2019; ``evaluation/metrics/`` of
google-research/disentanglement_lib), on ground-truth data
(:class:`keras_vae.datasets.GroundTruthData`). scikit-learn is needed here only:
``pip install 'keras-vae[disentanglement]'``.

| function | disentanglement_lib | scores |
| --- | --- | --- |
| :func:`mig` | ``mig`` | ``discrete_mig`` |
| :func:`dci` | ``dci`` | ``disentanglement``, ``completeness``, ``informativeness_train/test`` |
| :func:`sap` | ``sap_score`` | ``SAP_score`` |
| :func:`factor_vae_score` | ``factor_vae_score`` | ``train_accuracy``, ``eval_accuracy``, ``num_active_dims`` |
| :func:`beta_vae_score` | ``beta_vae_sklearn`` | ``train_accuracy``, ``eval_accuracy`` |
| :func:`modularity_explicitness` | ``modularity_explicitness`` | ``modularity_score``, ``explicitness_score_train/test`` |
| :func:`disentanglement_metrics` | all of them | ``{metric: {score: value}}`` |
| :class:`DisentanglementCallback` | | the metrics in ``fit``'s logs every N epochs |
"""
from keras_vae.evaluation.disentanglement.beta_vae import beta_vae_score
from keras_vae.evaluation.disentanglement.callback import DisentanglementCallback
from keras_vae.evaluation.disentanglement.dci_scores import completeness, dci, disentanglement
from keras_vae.evaluation.disentanglement.factor_vae import factor_vae_score
from keras_vae.evaluation.disentanglement.metrics import METRICS, disentanglement_metrics
from keras_vae.evaluation.disentanglement.mutual_information_gap import mig
from keras_vae.evaluation.disentanglement.modularity_score import modularity, modularity_explicitness
from keras_vae.evaluation.disentanglement.sap_score import sap

__all__ = [
    "DisentanglementCallback",
    "METRICS",
    "beta_vae_score",
    "completeness",
    "dci",
    "disentanglement",
    "disentanglement_metrics",
    "factor_vae_score",
    "mig",
    "modularity",
    "modularity_explicitness",
    "sap",
]

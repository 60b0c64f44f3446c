# coding=utf-8
# Copyright 2018 The DisentanglementLib Authors.  All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""disentanglement_lib's metric code, vendored to run beside keras_vae's.

Copied from google-research/disentanglement_lib at commit
86a644d4ed35c771560dc3360756363d35477357 (2020-08-27),
``disentanglement_lib/evaluation/metrics/{utils,mig,dci,sap_score,factor_vae,
beta_vae,modularity_explicitness}.py`` and ``data/ground_truth/dummy_data.py``.
Changes: the gin decorators and ``gin.REQUIRED`` defaults are replaced by explicit
arguments (the values of ``config/unsupervised_study_v1/metric_configs/*.gin``
where the study sets them: 20 histogram bins, prune threshold 0.05), logging and
the ``*_on_fixed_data`` variants are dropped, ``scipy.stats.entropy`` is imported
explicitly, and ``IdentityObservationsData`` uses ``randint(1, 11)`` (what
``random_integers(10)`` calls, removed from recent numpy). The computations are
untouched. Used by tests/test_disentangle_metrics.py and
benchmarks/disentanglement_reference.py only; not part of keras_vae.
"""
import numpy as np
import scipy.stats
import sklearn
import sklearn.metrics
from sklearn import ensemble, linear_model, preprocessing, svm


# ---------------------------------------------------------------- utils.py
def generate_batch_factor_code(ground_truth_data, representation_function, num_points, random_state, batch_size):
  representations = None
  factors = None
  i = 0
  while i < num_points:
    num_points_iter = min(num_points - i, batch_size)
    current_factors, current_observations = ground_truth_data.sample(num_points_iter, random_state)
    if i == 0:
      factors = current_factors
      representations = representation_function(current_observations)
    else:
      factors = np.vstack((factors, current_factors))
      representations = np.vstack((representations, representation_function(current_observations)))
    i += num_points_iter
  return np.transpose(representations), np.transpose(factors)


def obtain_representation(observations, representation_function, batch_size):
  representations = None
  num_points = observations.shape[0]
  i = 0
  while i < num_points:
    num_points_iter = min(num_points - i, batch_size)
    current_observations = observations[i:i + num_points_iter]
    if i == 0:
      representations = representation_function(current_observations)
    else:
      representations = np.vstack((representations, representation_function(current_observations)))
    i += num_points_iter
  return np.transpose(representations)


def discrete_mutual_info(mus, ys):
  num_codes = mus.shape[0]
  num_factors = ys.shape[0]
  m = np.zeros([num_codes, num_factors])
  for i in range(num_codes):
    for j in range(num_factors):
      m[i, j] = sklearn.metrics.mutual_info_score(ys[j, :], mus[i, :])
  return m


def discrete_entropy(ys):
  num_factors = ys.shape[0]
  h = np.zeros(num_factors)
  for j in range(num_factors):
    h[j] = sklearn.metrics.mutual_info_score(ys[j, :], ys[j, :])
  return h


def make_discretizer(target, num_bins=20):
  discretized = np.zeros_like(target)
  for i in range(target.shape[0]):
    discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
  return discretized


def normalize_data(data, mean=None, stddev=None):
  if mean is None:
    mean = np.mean(data, axis=1)
  if stddev is None:
    stddev = np.std(data, axis=1)
  return (data - mean[:, np.newaxis]) / stddev[:, np.newaxis], mean, stddev


# ------------------------------------------------------------------ mig.py
def compute_mig(ground_truth_data, representation_function, random_state, num_train, batch_size=16):
  mus_train, ys_train = generate_batch_factor_code(ground_truth_data, representation_function, num_train, random_state, batch_size)
  assert mus_train.shape[1] == num_train
  return _compute_mig(mus_train, ys_train)


def _compute_mig(mus_train, ys_train):
  score_dict = {}
  discretized_mus = make_discretizer(mus_train)
  m = discrete_mutual_info(discretized_mus, ys_train)
  entropy = discrete_entropy(ys_train)
  sorted_m = np.sort(m, axis=0)[::-1]
  score_dict["discrete_mig"] = np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], entropy[:]))
  return score_dict


# ------------------------------------------------------------------ dci.py
def compute_dci(ground_truth_data, representation_function, random_state, num_train, num_test, batch_size=16):
  mus_train, ys_train = generate_batch_factor_code(ground_truth_data, representation_function, num_train, random_state, batch_size)
  mus_test, ys_test = generate_batch_factor_code(ground_truth_data, representation_function, num_test, random_state, batch_size)
  return _compute_dci(mus_train, ys_train, mus_test, ys_test)


def _compute_dci(mus_train, ys_train, mus_test, ys_test):
  scores = {}
  importance_matrix, train_err, test_err = compute_importance_gbt(mus_train, ys_train, mus_test, ys_test)
  scores["informativeness_train"] = train_err
  scores["informativeness_test"] = test_err
  scores["disentanglement"] = disentanglement(importance_matrix)
  scores["completeness"] = completeness(importance_matrix)
  return scores


def compute_importance_gbt(x_train, y_train, x_test, y_test):
  num_factors = y_train.shape[0]
  num_codes = x_train.shape[0]
  importance_matrix = np.zeros(shape=[num_codes, num_factors], dtype=np.float64)
  train_loss = []
  test_loss = []
  for i in range(num_factors):
    model = ensemble.GradientBoostingClassifier()
    model.fit(x_train.T, y_train[i, :])
    importance_matrix[:, i] = np.abs(model.feature_importances_)
    train_loss.append(np.mean(model.predict(x_train.T) == y_train[i, :]))
    test_loss.append(np.mean(model.predict(x_test.T) == y_test[i, :]))
  return importance_matrix, np.mean(train_loss), np.mean(test_loss)


def disentanglement_per_code(importance_matrix):
  return 1. - scipy.stats.entropy(importance_matrix.T + 1e-11, base=importance_matrix.shape[1])


def disentanglement(importance_matrix):
  per_code = disentanglement_per_code(importance_matrix)
  if importance_matrix.sum() == 0.:
    importance_matrix = np.ones_like(importance_matrix)
  code_importance = importance_matrix.sum(axis=1) / importance_matrix.sum()
  return np.sum(per_code * code_importance)


def completeness_per_factor(importance_matrix):
  return 1. - scipy.stats.entropy(importance_matrix + 1e-11, base=importance_matrix.shape[0])


def completeness(importance_matrix):
  per_factor = completeness_per_factor(importance_matrix)
  if importance_matrix.sum() == 0.:
    importance_matrix = np.ones_like(importance_matrix)
  factor_importance = importance_matrix.sum(axis=0) / importance_matrix.sum()
  return np.sum(per_factor * factor_importance)


# ------------------------------------------------------------ sap_score.py
def compute_sap(ground_truth_data, representation_function, random_state, num_train, num_test, batch_size=16, continuous_factors=False):
  mus, ys = generate_batch_factor_code(ground_truth_data, representation_function, num_train, random_state, batch_size)
  mus_test, ys_test = generate_batch_factor_code(ground_truth_data, representation_function, num_test, random_state, batch_size)
  return _compute_sap(mus, ys, mus_test, ys_test, continuous_factors)


def _compute_sap(mus, ys, mus_test, ys_test, continuous_factors):
  score_matrix = compute_score_matrix(mus, ys, mus_test, ys_test, continuous_factors)
  scores_dict = {}
  scores_dict["SAP_score"] = compute_avg_diff_top_two(score_matrix)
  return scores_dict


def compute_score_matrix(mus, ys, mus_test, ys_test, continuous_factors):
  num_latents = mus.shape[0]
  num_factors = ys.shape[0]
  score_matrix = np.zeros([num_latents, num_factors])
  for i in range(num_latents):
    for j in range(num_factors):
      mu_i = mus[i, :]
      y_j = ys[j, :]
      if continuous_factors:
        cov_mu_i_y_j = np.cov(mu_i, y_j, ddof=1)
        cov_mu_y = cov_mu_i_y_j[0, 1]**2
        var_mu = cov_mu_i_y_j[0, 0]
        var_y = cov_mu_i_y_j[1, 1]
        if var_mu > 1e-12:
          score_matrix[i, j] = cov_mu_y * 1. / (var_mu * var_y)
        else:
          score_matrix[i, j] = 0.
      else:
        mu_i_test = mus_test[i, :]
        y_j_test = ys_test[j, :]
        classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
        classifier.fit(mu_i[:, np.newaxis], y_j)
        pred = classifier.predict(mu_i_test[:, np.newaxis])
        score_matrix[i, j] = np.mean(pred == y_j_test)
  return score_matrix


def compute_avg_diff_top_two(matrix):
  sorted_matrix = np.sort(matrix, axis=0)
  return np.mean(sorted_matrix[-1, :] - sorted_matrix[-2, :])


# ----------------------------------------------------------- factor_vae.py
def compute_factor_vae(ground_truth_data, representation_function, random_state, batch_size, num_train, num_eval,
                       num_variance_estimate, prune_threshold=0.05):
  global_variances = _compute_variances(ground_truth_data, representation_function, num_variance_estimate, random_state)
  active_dims = _prune_dims(global_variances, prune_threshold)
  scores_dict = {}
  if not active_dims.any():
    scores_dict["train_accuracy"] = 0.
    scores_dict["eval_accuracy"] = 0.
    scores_dict["num_active_dims"] = 0
    return scores_dict
  training_votes = _generate_training_batch_fvae(ground_truth_data, representation_function, batch_size, num_train,
                                                 random_state, global_variances, active_dims)
  classifier = np.argmax(training_votes, axis=0)
  other_index = np.arange(training_votes.shape[1])
  train_accuracy = np.sum(training_votes[classifier, other_index]) * 1. / np.sum(training_votes)
  eval_votes = _generate_training_batch_fvae(ground_truth_data, representation_function, batch_size, num_eval,
                                             random_state, global_variances, active_dims)
  eval_accuracy = np.sum(eval_votes[classifier, other_index]) * 1. / np.sum(eval_votes)
  scores_dict["train_accuracy"] = train_accuracy
  scores_dict["eval_accuracy"] = eval_accuracy
  scores_dict["num_active_dims"] = len(active_dims)
  return scores_dict


def _prune_dims(variances, threshold=0.):
  scale_z = np.sqrt(variances)
  return scale_z >= threshold


def _compute_variances(ground_truth_data, representation_function, batch_size, random_state, eval_batch_size=64):
  observations = ground_truth_data.sample_observations(batch_size, random_state)
  representations = obtain_representation(observations, representation_function, eval_batch_size)
  representations = np.transpose(representations)
  assert representations.shape[0] == batch_size
  return np.var(representations, axis=0, ddof=1)


def _generate_training_sample_fvae(ground_truth_data, representation_function, batch_size, random_state,
                                   global_variances, active_dims):
  factor_index = random_state.randint(ground_truth_data.num_factors)
  factors = ground_truth_data.sample_factors(batch_size, random_state)
  factors[:, factor_index] = factors[0, factor_index]
  observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
  representations = representation_function(observations)
  local_variances = np.var(representations, axis=0, ddof=1)
  argmin = np.argmin(local_variances[active_dims] / global_variances[active_dims])
  return factor_index, argmin


def _generate_training_batch_fvae(ground_truth_data, representation_function, batch_size, num_points, random_state,
                                  global_variances, active_dims):
  votes = np.zeros((ground_truth_data.num_factors, global_variances.shape[0]), dtype=np.int64)
  for _ in range(num_points):
    factor_index, argmin = _generate_training_sample_fvae(ground_truth_data, representation_function, batch_size,
                                                          random_state, global_variances, active_dims)
    votes[factor_index, argmin] += 1
  return votes


# ------------------------------------------------------------- beta_vae.py
def compute_beta_vae_sklearn(ground_truth_data, representation_function, random_state, batch_size, num_train, num_eval):
  train_points, train_labels = _generate_training_batch_bvae(ground_truth_data, representation_function, batch_size,
                                                             num_train, random_state)
  model = linear_model.LogisticRegression(random_state=random_state)
  model.fit(train_points, train_labels)
  train_accuracy = model.score(train_points, train_labels)
  train_accuracy = np.mean(model.predict(train_points) == train_labels)
  eval_points, eval_labels = _generate_training_batch_bvae(ground_truth_data, representation_function, batch_size,
                                                           num_eval, random_state)
  eval_accuracy = model.score(eval_points, eval_labels)
  scores_dict = {}
  scores_dict["train_accuracy"] = train_accuracy
  scores_dict["eval_accuracy"] = eval_accuracy
  return scores_dict


def _generate_training_batch_bvae(ground_truth_data, representation_function, batch_size, num_points, random_state):
  points = None
  labels = np.zeros(num_points, dtype=np.int64)
  for i in range(num_points):
    labels[i], feature_vector = _generate_training_sample_bvae(ground_truth_data, representation_function,
                                                               batch_size, random_state)
    if points is None:
      points = np.zeros((num_points, feature_vector.shape[0]))
    points[i, :] = feature_vector
  return points, labels


def _generate_training_sample_bvae(ground_truth_data, representation_function, batch_size, random_state):
  index = random_state.randint(ground_truth_data.num_factors)
  factors1 = ground_truth_data.sample_factors(batch_size, random_state)
  factors2 = ground_truth_data.sample_factors(batch_size, random_state)
  factors2[:, index] = factors1[:, index]
  observation1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
  observation2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
  representation1 = representation_function(observation1)
  representation2 = representation_function(observation2)
  feature_vector = np.mean(np.abs(representation1 - representation2), axis=0)
  return index, feature_vector


# ---------------------------------------------- modularity_explicitness.py
def compute_modularity_explicitness(ground_truth_data, representation_function, random_state, num_train, num_test,
                                    batch_size=16):
  scores = {}
  mus_train, ys_train = generate_batch_factor_code(ground_truth_data, representation_function, num_train, random_state, batch_size)
  mus_test, ys_test = generate_batch_factor_code(ground_truth_data, representation_function, num_test, random_state, batch_size)
  discretized_mus = make_discretizer(mus_train)
  mutual_information = discrete_mutual_info(discretized_mus, ys_train)
  scores["modularity_score"] = modularity(mutual_information)
  explicitness_score_train = np.zeros([ys_train.shape[0], 1])
  explicitness_score_test = np.zeros([ys_test.shape[0], 1])
  mus_train_norm, mean_mus, stddev_mus = normalize_data(mus_train)
  mus_test_norm, _, _ = normalize_data(mus_test, mean_mus, stddev_mus)
  for i in range(ys_train.shape[0]):
    explicitness_score_train[i], explicitness_score_test[i] = explicitness_per_factor(
        mus_train_norm, ys_train[i, :], mus_test_norm, ys_test[i, :])
  scores["explicitness_score_train"] = np.mean(explicitness_score_train)
  scores["explicitness_score_test"] = np.mean(explicitness_score_test)
  return scores


def explicitness_per_factor(mus_train, y_train, mus_test, y_test):
  x_train = np.transpose(mus_train)
  x_test = np.transpose(mus_test)
  clf = linear_model.LogisticRegression().fit(x_train, y_train)
  y_pred_train = clf.predict_proba(x_train)
  y_pred_test = clf.predict_proba(x_test)
  mlb = preprocessing.MultiLabelBinarizer()
  roc_train = sklearn.metrics.roc_auc_score(mlb.fit_transform(np.expand_dims(y_train, 1)), y_pred_train)
  roc_test = sklearn.metrics.roc_auc_score(mlb.fit_transform(np.expand_dims(y_test, 1)), y_pred_test)
  return roc_train, roc_test


def modularity(mutual_information):
  squared_mi = np.square(mutual_information)
  max_squared_mi = np.max(squared_mi, axis=1)
  numerator = np.sum(squared_mi, axis=1) - max_squared_mi
  denominator = max_squared_mi * (squared_mi.shape[1] - 1.)
  delta = numerator / denominator
  modularity_score = 1. - delta
  index = (max_squared_mi == 0.)
  modularity_score[index] = 0.
  return np.mean(modularity_score)


# ------------------------------------------- data/ground_truth/dummy_data.py
class IdentityObservationsData:
  """Data set where dummy factors are also the observations."""

  def __init__(self, num_factors=10):
    self._num_factors = num_factors  # keras_vae's tests also use fewer factors

  @property
  def num_factors(self):
    return self._num_factors

  @property
  def observation_shape(self):
    return self._num_factors

  @property
  def factors_num_values(self):
    return [1] * self._num_factors

  def sample_factors(self, num, random_state):
    return random_state.randint(1, 11, size=(num, self.num_factors))

  def sample_observations_from_factors(self, factors, random_state):
    return factors

  def sample(self, num, random_state):
    factors = self.sample_factors(num, random_state)
    return factors, self.sample_observations_from_factors(factors, random_state)

  def sample_observations(self, num, random_state):
    return self.sample(num, random_state)[1]

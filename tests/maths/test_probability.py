"""Tests for coursekit.maths.probability against scipy.stats, numpy.cov and scikit-learn's
mixture."""

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from coursekit.maths.probability import GaussianMixture, covariance, gaussian_log_prob

F64 = torch.float64
seeds = st.integers(0, 2**31 - 1)


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    """A random symmetric positive definite matrix with smallest eigenvalue at least 0.1."""
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.1 * np.eye(d)


def random_mixture(rng: np.random.Generator, k: int, d: int):
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(scale=3, size=(k, d))
    covs = np.stack([random_spd(rng, d) for _ in range(k)])
    return weights, means, covs


@settings(max_examples=25, deadline=None)
@given(seeds, st.integers(1, 5))
def test_gaussian_log_prob_matches_scipy_multivariate_normal(seed, d):
    rng = np.random.default_rng(seed)
    mean, cov, x = rng.normal(size=d), random_spd(rng, d), rng.normal(size=(7, d))
    expected = scipy.stats.multivariate_normal(mean, cov).logpdf(x)
    np.testing.assert_allclose(
        gaussian_log_prob(torch.tensor(x), torch.tensor(mean), torch.tensor(cov)).numpy(),
        expected,
        rtol=1e-9,
    )


def test_gaussian_log_prob_broadcasts_points_against_components():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(3, 2))
    covs = np.stack([random_spd(rng, 2) for _ in range(3)])
    x = rng.normal(size=(5, 2))
    out = gaussian_log_prob(
        torch.tensor(x)[:, None, :], torch.tensor(means), torch.tensor(covs)
    )  # (5, 3)
    expected = np.stack(
        [
            scipy.stats.multivariate_normal(m, c).logpdf(x)
            for m, c in zip(means, covs, strict=True)
        ],
        axis=1,
    )
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-9)


def test_gaussian_log_prob_rejects_non_positive_definite_cov():
    with pytest.raises(ValueError, match="cov must be symmetric positive definite"):
        gaussian_log_prob(torch.zeros(2), torch.zeros(2), torch.tensor([[1.0, 2.0], [2.0, 1.0]]))


def test_gaussian_log_prob_rejects_mismatched_shapes():
    with pytest.raises(
        ValueError, match="x and mean must end in d = 2, got shapes \\(3,\\) and \\(2,\\)"
    ):
        gaussian_log_prob(torch.zeros(3), torch.zeros(2), torch.eye(2))
    with pytest.raises(ValueError, match="cov must be square"):
        gaussian_log_prob(torch.zeros(2), torch.zeros(2), torch.ones(2, 3))


@settings(max_examples=25, deadline=None)
@given(seeds, st.integers(2, 20), st.integers(1, 4))
def test_covariance_matches_numpy_cov(seed, n, d):
    X = np.random.default_rng(seed).normal(size=(n, d))
    np.testing.assert_allclose(
        covariance(torch.tensor(X)).numpy(),
        np.cov(X, rowvar=False).reshape(d, d),
        rtol=1e-10,
        atol=1e-12,
    )


def test_covariance_rejects_single_row_or_vector():
    with pytest.raises(
        ValueError, match="X must be 2-D with at least two rows, got shape \\(1, 3\\)"
    ):
        covariance(torch.ones(1, 3))
    with pytest.raises(ValueError, match="got shape \\(3,\\)"):
        covariance(torch.ones(3))


def sklearn_mixture(weights, means, covs) -> SkGaussianMixture:
    """A scikit-learn mixture holding the given parameters, without fitting."""
    sk = SkGaussianMixture(len(weights), covariance_type="full")
    sk.weights_, sk.means_, sk.covariances_ = weights, means, covs
    sk.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(covs)).astype(float)
    return sk


@settings(max_examples=25, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(1, 3))
def test_mixture_log_prob_matches_sklearn_score_samples(seed, k, d):
    rng = np.random.default_rng(seed)
    weights, means, covs = random_mixture(rng, k, d)
    x = rng.normal(scale=3, size=(10, d))
    gm = GaussianMixture(torch.tensor(weights), torch.tensor(means), torch.tensor(covs))
    ours = gm.log_prob(torch.tensor(x))
    np.testing.assert_allclose(
        ours.numpy(), sklearn_mixture(weights, means, covs).score_samples(x), rtol=1e-8
    )


def test_mixture_responsibilities_match_sklearn_predict_proba():
    rng = np.random.default_rng(3)
    weights, means, covs = random_mixture(rng, 3, 2)
    x = rng.normal(scale=3, size=(20, 2))
    ours = GaussianMixture(weights, means, covs).responsibilities(torch.tensor(x))
    np.testing.assert_allclose(
        ours.numpy(), sklearn_mixture(weights, means, covs).predict_proba(x), atol=1e-10
    )


def test_mixture_samples_have_mixture_mean_and_covariance():
    rng = np.random.default_rng(1)
    weights, means, covs = random_mixture(rng, 3, 2)
    gm = GaussianMixture(torch.tensor(weights), torch.tensor(means), torch.tensor(covs))
    x = gm.sample(200_000, generator=torch.Generator().manual_seed(0)).numpy()
    mean = weights @ means  # law of total expectation
    second_moment = np.einsum("k,kij->ij", weights, covs + np.einsum("ki,kj->kij", means, means))
    cov = second_moment - np.outer(mean, mean)  # law of total variance
    np.testing.assert_allclose(x.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(x, rowvar=False), cov, rtol=0.03, atol=0.05)


def test_mixture_samples_pass_kolmogorov_smirnov_in_1d():
    gm = GaussianMixture(
        torch.tensor([0.3, 0.7]), torch.tensor([[-2.0], [1.0]]), torch.tensor([[[0.5]], [[2.0]]])
    )
    x = gm.sample(5000, generator=torch.Generator().manual_seed(0))[:, 0].numpy()

    def cdf(t):
        first, second = scipy.stats.norm.cdf(t, -2, 0.5**0.5), scipy.stats.norm.cdf(t, 1, 2**0.5)
        return 0.3 * first + 0.7 * second

    assert scipy.stats.kstest(x, cdf).pvalue > 0.01


def test_mixture_sample_is_reproducible_with_generator():
    gm = GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], torch.eye(2).repeat(2, 1, 1))
    a = gm.sample(10, generator=torch.Generator().manual_seed(7))
    b = gm.sample(10, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_mixture_promotes_parameters_to_one_dtype():
    gm = GaussianMixture([0.5, 0.5], torch.zeros(2, 2, dtype=F64), torch.eye(2).repeat(2, 1, 1))
    assert gm.weights.dtype == gm.covs.dtype == F64
    assert gm.sample(3).dtype == F64


def test_mixture_sample_rejects_nonpositive_n():
    gm = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        gm.sample(0)


def test_mixture_sample_labels_follow_weights():
    gm = GaussianMixture([0.2, 0.8], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    _, z = gm.sample(20_000, generator=torch.Generator().manual_seed(0), return_labels=True)
    assert scipy.stats.binomtest(int((z == 1).sum()), 20_000, 0.8).pvalue > 0.01


MEANS, COVS = [[0.0], [1.0]], [[[1.0]], [[1.0]]]  # two valid 1-D components


@pytest.mark.parametrize(
    "weights, means, covs, message",
    [
        ([0.5, 0.6], MEANS, COVS, "weights must be nonnegative and sum to 1"),
        ([1.5, -0.5], MEANS, COVS, "weights must be nonnegative and sum to 1"),
        ([0.5, 0.5], [[0.0], [1], [2]], COVS, "means must have shape \\(2, d\\), .*\\(3, 1\\)"),
        ([0.5, 0.5], MEANS, [[[1.0]]], "covs must have shape \\(2, 1, 1\\), got \\(1, 1, 1\\)"),
        ([0.5, 0.5], MEANS, [[[1.0]], [[-1.0]]], "covs must be symmetric positive definite"),
    ],
)
def test_mixture_rejects_bad_parameters(weights, means, covs, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(weights, means, covs)


def blobs(seed: int = 0, n: int = 600) -> torch.Tensor:
    truth = GaussianMixture(
        torch.tensor([0.5, 0.3, 0.2], dtype=F64),
        torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], dtype=F64),
        torch.tensor(
            [[[1.0, 0.3], [0.3, 0.5]], [[0.6, 0.0], [0.0, 1.5]], [[1.0, -0.4], [-0.4, 1.0]]],
            dtype=F64,
        ),
    )
    return truth.sample(n, generator=torch.Generator().manual_seed(seed))


def test_fit_log_likelihood_at_least_sklearns():
    X = blobs()
    ours = GaussianMixture.fit(X, 3, seed=0).log_prob(X).mean().item()
    sk = SkGaussianMixture(3, random_state=0, tol=1e-6).fit(X.numpy()).score(X.numpy())
    assert ours >= sk - 1e-4


def test_fit_recovers_sklearn_parameters_on_separated_clusters():
    X = blobs()
    ours = GaussianMixture.fit(X, 3, seed=1, tol=1e-10)
    sk = SkGaussianMixture(3, random_state=0, tol=1e-8, max_iter=500).fit(X.numpy())
    # Match the components up by their first coordinate.
    order, sk_order = ours.means[:, 0].argsort().numpy(), np.argsort(sk.means_[:, 0])
    np.testing.assert_allclose(ours.weights.numpy()[order], sk.weights_[sk_order], atol=1e-4)
    np.testing.assert_allclose(ours.means.numpy()[order], sk.means_[sk_order], atol=1e-3)
    np.testing.assert_allclose(ours.covs.numpy()[order], sk.covariances_[sk_order], atol=1e-3)


def test_fit_em_never_lowers_log_likelihood():
    history = GaussianMixture.fit(blobs(1), 4, seed=0, tol=0.0, max_iter=40).history
    assert all(b >= a - 1e-12 for a, b in zip(history, history[1:], strict=False))


def test_fit_history_ends_at_fitted_log_likelihood():
    X = blobs()
    gm = GaussianMixture.fit(X, 3, seed=0)
    assert gm.history[-1] == pytest.approx(gm.log_prob(X).mean().item(), rel=1e-12)


def test_fit_is_reproducible_with_seed():
    X = blobs()
    assert torch.equal(
        GaussianMixture.fit(X, 3, seed=5).means, GaussianMixture.fit(X, 3, seed=5).means
    )


def test_fit_rejects_bad_k_and_shape():
    with pytest.raises(ValueError, match="k must be an int in \\[1, n = 3\\], got 4"):
        GaussianMixture.fit(torch.randn(3, 2), 4)
    with pytest.raises(ValueError, match="X must be 2-D \\(n, d\\), got shape \\(5,\\)"):
        GaussianMixture.fit(torch.randn(5), 1)


# ---- malformed and edge-case input ------------------------------------------------------------

ASYMMETRIC = [[1.0, 5.0], [0.0, 1.0]]  # its lower triangle is the identity


def test_gaussian_log_prob_rejects_an_asymmetric_cov_instead_of_using_the_identity():
    with pytest.raises(ValueError, match="^cov must be symmetric"):
        gaussian_log_prob(torch.ones(2), torch.zeros(2), torch.tensor(ASYMMETRIC))


def test_mixture_rejects_an_asymmetric_cov_instead_of_using_the_identity():
    with pytest.raises(ValueError, match="^covs must be symmetric"):
        GaussianMixture([1.0], [[0.0, 0.0]], [ASYMMETRIC])


@pytest.mark.parametrize("x,mean,cov,name", [
    (torch.tensor([1.0, float("nan")]), torch.zeros(2), torch.eye(2), "x"),
    (torch.ones(2), torch.tensor([float("inf"), 0.0]), torch.eye(2), "mean"),
    (torch.ones(2), torch.zeros(2), torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), "cov"),
])  # fmt: skip
def test_gaussian_log_prob_rejects_nan_and_inf(x, mean, cov, name):
    with pytest.raises(ValueError, match=f"^{name} must be finite"):
        gaussian_log_prob(x, mean, cov)


@pytest.mark.parametrize("name", ["x", "mean", "cov"])
def test_gaussian_log_prob_rejects_complex_input(name):
    args = {"x": torch.ones(2), "mean": torch.zeros(2), "cov": torch.eye(2)}
    args[name] = args[name].to(torch.complex64)
    with pytest.raises(ValueError, match=f"^{name} must be real"):
        gaussian_log_prob(**args)


def test_gaussian_log_prob_rejects_a_zero_dimensional_gaussian():
    with pytest.raises(ValueError, match=r"^cov must be .* d >= 1, got shape \(0, 0\)"):
        gaussian_log_prob(torch.zeros(0), torch.zeros(0), torch.zeros(0, 0))


def test_gaussian_log_prob_of_no_points_is_empty():
    assert gaussian_log_prob(torch.zeros(0, 2), torch.zeros(2), torch.eye(2)).shape == (0,)


def test_covariance_rejects_complex_data_instead_of_a_negative_variance():
    X = np.array([[1j, 0.0], [-1j, 1.0], [0.0, 2.0]])
    assert np.cov(X, rowvar=False)[0, 0].real > 0  # yet X.T @ X / (n - 1) gives -1 there
    with pytest.raises(ValueError, match="^X must be real, got dtype torch.complex128"):
        covariance(X)


def test_covariance_rejects_nan():
    with pytest.raises(ValueError, match="^X must be finite"):
        covariance([[0.0, 1.0], [float("nan"), 2.0]])


def test_fit_with_max_iter_0_is_a_clear_error_not_an_unbound_local():
    with pytest.raises(ValueError, match="^max_iter must be a positive integer, got 0"):
        GaussianMixture.fit(torch.randn(10, 2), 2, max_iter=0)


@pytest.mark.parametrize("kwargs,name", [
    ({"k": True}, "k"), ({"k": 2.0}, "k"), ({"max_iter": True}, "max_iter"),
    ({"tol": float("nan")}, "tol"), ({"tol": -1.0}, "tol"), ({"reg_covar": -1e-6}, "reg_covar"),
    ({"reg_covar": float("inf")}, "reg_covar"), ({"seed": True}, "seed"), ({"seed": 0.5}, "seed"),
    ({"seed": 2**70}, "seed"), ({"generator": 3}, "generator"),
])  # fmt: skip
def test_fit_rejects_bad_options(kwargs, name):
    args = {"k": 2} | kwargs
    with pytest.raises((ValueError, TypeError), match=f"^{name} must be"):
        GaussianMixture.fit(torch.randn(10, 2), **args)


@pytest.mark.parametrize("X,message", [
    (torch.tensor([[0.0, float("nan")], [1.0, 1.0], [2.0, 0.0]]), "X must be finite"),
    (torch.ones(3, 2, dtype=torch.complex64), "X must be real"),
    (torch.zeros(3, 0), r"X must have at least one column, got shape \(3, 0\)"),
])  # fmt: skip
def test_fit_rejects_nan_complex_and_columnless_data(X, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        GaussianMixture.fit(X, 1)


@pytest.mark.parametrize("n", [True, 2.0, "3", None])
def test_mixture_sample_rejects_an_n_that_is_not_an_integer(n):
    gm = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="^n must be an integer"):
        gm.sample(n)


def test_mixture_sample_rejects_a_generator_that_is_not_one():
    gm = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(TypeError, match="^generator must be a torch.Generator or None, got int"):
        gm.sample(2, generator=0)
    with pytest.raises(ValueError, match="^return_labels must be True or False, got str"):
        gm.sample(2, return_labels="yes")


@pytest.mark.parametrize("method", ["log_prob", "responsibilities"])
@pytest.mark.parametrize("x,message", [
    (torch.tensor([float("nan")]), "x must be finite"),
    (torch.ones(1, dtype=torch.complex64), "x must be real"),
    ("abc", "x must be a tensor or array of numbers"),
])  # fmt: skip
def test_mixture_methods_reject_nan_complex_and_strings(method, x, message):
    gm = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match=f"^{message}"):
        getattr(gm, method)(x)


@pytest.mark.parametrize("weights,means,covs,message", [
    ([float("nan"), 1.0], MEANS, COVS, "weights must be finite"),
    ([0.5, 0.5], [[0.0], [float("inf")]], COVS, "means must be finite"),
    ([1.0], [[]], [[[]]], r"means must have d >= 1 columns, got shape \(1, 0\)"),
    ([1.0 + 0j], [[0.0]], [[[1.0]]], "weights must be real"),
])  # fmt: skip
def test_mixture_rejects_nan_inf_empty_and_complex_parameters(weights, means, covs, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        GaussianMixture(weights, means, covs)


def test_input_checks_leave_vmap_working():
    X = torch.randn(5, 4, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    cov = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=F64)
    density = torch.func.vmap(lambda m: gaussian_log_prob(X[0], m, cov))(X[:, 0])
    assert torch.allclose(density, torch.stack([gaussian_log_prob(X[0], m, cov) for m in X[:, 0]]))
    assert torch.allclose(torch.func.vmap(covariance)(X), torch.stack([covariance(x) for x in X]))
    gm = GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], torch.stack([cov, cov]))
    assert torch.allclose(torch.func.vmap(gm.log_prob)(X), torch.stack([gm.log_prob(x) for x in X]))

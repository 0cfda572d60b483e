"""Probability distributions of uncertain assumptions, as validated specs over scipy.stats.

Every distribution is sampled by inversion: a replication's uniform number ``u`` in (0, 1)
becomes ``dist.ppf(u)``. Inversion keeps draws monotone in ``u``, which is what makes common
random numbers and quasi-Monte Carlo designs work later.

The ``ci90: [lo, hi]`` shorthand means: **``lo`` is the 5th and ``hi`` the 95th percentile**
of the distribution. It is accepted by the two-parameter families where those two
percentiles fix the parameters: normal, lognormal, uniform, gamma and Weibull.

``truncate: [lo, hi]`` (optional, continuous families) restricts a distribution to
``[lo, hi]`` by inversion on the restricted range: ``ppf(F(lo) + u (F(hi) - F(lo)))``.

SciPy and NumPy are imported inside the methods that need them (a frozen law, a ``ppf``, a
draw, a gamma's ``ci90``), not by this module: validating a scenario whose distributions
need no SciPy check does not pay for importing ``scipy.stats`` (issue 18).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

from pydantic import Field, PrivateAttr, model_validator

from steppe.model.base import Strict

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Beta",
    "Choice",
    "Distribution",
    "DistributionBase",
    "Exponential",
    "Gamma",
    "Lognormal",
    "Normal",
    "Pert",
    "Sampler",
    "Triangular",
    "Uniform",
    "Weibull",
]

Z95 = 1.6448536269514722  # float(scipy.stats.norm.ppf(0.95)), pinned by tests/test_distributions.py
Pair = tuple[float, float]


class Sampler(NamedTuple):
    """How a family is drawn with a generator: ``loc + scale * rng.<method>(*args)``.

    Engines that draw durations during a run share this recipe: NumPy's generator (``sample``,
    in the reference engine) and Numba's implementation of the same methods (the compiled
    engine).
    """

    method: str
    args: tuple[float, ...]
    loc: float = 0.0
    scale: float = 1.0


class DistributionBase(Strict):
    """Common fields: where the numbers come from, and an optional truncation."""

    source: str | None = None
    why: str | None = None
    truncate: Pair | None = None
    _dist: Any = PrivateAttr(default=None)
    _kept: Pair | None = PrivateAttr(default=None)  # (F(lo), F(hi)) of ``truncate``

    def frozen(self) -> Any:
        """The scipy.stats frozen distribution (before truncation)."""
        raise NotImplementedError

    def _cached(self) -> Any:
        if self._dist is None:
            self._dist = self.frozen()
        return self._dist

    def kept(self) -> Pair:
        """``(F(lo), F(hi))`` of the untruncated law at the ``truncate`` bounds (``(0, 1)``
        without truncation); computed once."""
        if self.truncate is None:
            return (0.0, 1.0)
        if self._kept is None:
            dist = self._cached()
            lo, hi = self.truncate
            self._kept = float(dist.cdf(lo)), float(dist.cdf(hi))
        return self._kept

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Map uniform numbers in (0, 1) to draws, applying ``truncate`` if given."""
        import numpy as np

        if self.truncate is not None:
            lo, hi = self.truncate
            flo, fhi = self.kept()
            return np.asarray(np.clip(self._ppf(flo + u * (fhi - flo)), lo, hi), dtype=np.float64)
        return np.asarray(self._ppf(u), dtype=np.float64)

    def _ppf(self, u: np.ndarray) -> Any:
        """The inverse CDF of the untruncated law (families with a closed form override
        this: scipy's generic ``ppf`` spends most of its time checking arguments)."""
        return self._cached().ppf(u)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws using ``rng`` (fast; not by inversion).

        Used for quantities drawn anew during a run (durations); parameters are drawn by
        inversion with :meth:`ppf` instead, to keep common random numbers aligned.
        """
        import numpy as np

        if self.truncate is not None:
            return self.ppf(_open_uniform(rng, size))
        return np.asarray(self._draw(rng, size), dtype=np.float64)

    def sampler(self) -> Sampler:
        """The generator method and arguments that draw this family (same law as
        :meth:`frozen`, before truncation)."""
        raise NotImplementedError

    def _draw(self, rng: np.random.Generator, size: int) -> Any:
        """Draws with NumPy's generator methods (same law as :meth:`frozen`)."""
        sm = self.sampler()
        x = getattr(rng, sm.method)(*sm.args, size)
        return x if (sm.loc, sm.scale) == (0.0, 1.0) else sm.loc + sm.scale * x

    @model_validator(mode="after")
    def _check_truncate(self) -> DistributionBase:
        if self.truncate is not None and not isinstance(self, Choice):
            lo, hi = self.truncate
            if not lo < hi:
                raise ValueError(f"truncate must be [lo, hi] with lo < hi, found [{lo}, {hi}]")
            mass = self._closed_mass(lo, hi)
            if mass is None or not mass >= 1e-9:  # near the limit, SciPy's CDF decides
                dist = self.frozen()
                mass = float(dist.cdf(hi) - dist.cdf(lo))
            if not mass > 1e-12:
                raise ValueError(f"truncate [{lo}, {hi}] leaves no probability mass")
        return self

    def _closed_mass(self, lo: float, hi: float) -> float | None:
        """``F(hi) - F(lo)`` of the untruncated law with the ``math`` module, for the
        families with a closed-form CDF (``None`` for the others): checking a truncation
        then needs no SciPy. Only the check uses it; draws use SciPy's CDF (:meth:`kept`)."""
        return None


def _phi(z: float) -> float:
    """The standard normal CDF (accurate in both tails)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _open_uniform(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniforms in the open interval (0, 1)."""
    import numpy as np

    u = rng.random(size)
    return np.where(u == 0.0, 2.0**-54, u)


def _ci90(ci90: Pair | None, positive: bool = False) -> Pair:
    assert ci90 is not None
    lo, hi = ci90
    if not lo < hi:
        raise ValueError(f"ci90 must be [lo, hi] with lo < hi, found [{lo}, {hi}]")
    if positive and lo <= 0:
        raise ValueError(f"ci90 of this distribution needs 0 < lo, found lo = {lo}")
    return lo, hi


def _exactly_one(spec: Strict, *groups: tuple[str, ...]) -> None:
    given = [g for g in groups if all(getattr(spec, k) is not None for k in g)]
    keys = dict.fromkeys(k for g in groups for k in g)  # ordered, without repeats
    partial = [k for k in keys if getattr(spec, k) is not None]
    names = " or ".join("+".join(g) for g in groups)
    if len(given) != 1 or set(partial) != set(given[0]):
        found = ", ".join(partial) or "none"
        raise ValueError(f"give exactly one of {names} (found: {found})")


class Normal(DistributionBase):
    """Normal with ``mean`` and ``sd``, or ``ci90``."""

    dist: Literal["normal"]
    mean: float | None = None
    sd: Annotated[float, Field(gt=0)] | None = None
    ci90: Pair | None = None

    def params(self) -> Pair:
        if self.ci90 is not None:
            lo, hi = _ci90(self.ci90)
            return (lo + hi) / 2, (hi - lo) / (2 * Z95)
        assert self.mean is not None and self.sd is not None
        return self.mean, self.sd

    def frozen(self) -> Any:
        from scipy import stats

        mean, sd = self.params()
        return stats.norm(loc=mean, scale=sd)

    def _ppf(self, u: np.ndarray) -> Any:
        from scipy import special

        mean, sd = self.params()
        return mean + sd * special.ndtri(u)

    def sampler(self) -> Sampler:
        return Sampler("normal", self.params())

    def _closed_mass(self, lo: float, hi: float) -> float | None:
        mean, sd = self.params()
        return _phi((hi - mean) / sd) - _phi((lo - mean) / sd)

    @model_validator(mode="after")
    def _check(self) -> Normal:
        _exactly_one(self, ("mean", "sd"), ("ci90",))
        self.params()
        return self


class Lognormal(DistributionBase):
    """Lognormal: ``log X ~ Normal(mu, sigma)``; or ``median`` and ``sigma``; or ``ci90``."""

    dist: Literal["lognormal"]
    mu: float | None = None
    sigma: Annotated[float, Field(gt=0)] | None = None
    median: Annotated[float, Field(gt=0)] | None = None
    ci90: Pair | None = None

    def params(self) -> Pair:
        if self.ci90 is not None:
            lo, hi = _ci90(self.ci90, positive=True)
            return (math.log(lo) + math.log(hi)) / 2, math.log(hi / lo) / (2 * Z95)
        assert self.sigma is not None
        mu = self.mu if self.mu is not None else math.log(self.median or 1.0)
        return mu, self.sigma

    def frozen(self) -> Any:
        from scipy import stats

        mu, sigma = self.params()
        return stats.lognorm(s=sigma, scale=math.exp(mu))

    def _ppf(self, u: np.ndarray) -> Any:
        import numpy as np
        from scipy import special

        mu, sigma = self.params()
        return np.exp(mu + sigma * special.ndtri(u))

    def sampler(self) -> Sampler:
        return Sampler("lognormal", self.params())

    def _closed_mass(self, lo: float, hi: float) -> float | None:
        mu, sigma = self.params()

        def cdf(x: float) -> float:
            return _phi((math.log(x) - mu) / sigma) if x > 0 else 0.0

        return cdf(hi) - cdf(lo)

    @model_validator(mode="after")
    def _check(self) -> Lognormal:
        _exactly_one(self, ("mu", "sigma"), ("median", "sigma"), ("ci90",))
        self.params()
        return self


class Uniform(DistributionBase):
    """Uniform on ``[low, high]``, or with ``ci90`` (then ``low``/``high`` extend it by 5/90)."""

    dist: Literal["uniform"]
    low: float | None = None
    high: float | None = None
    ci90: Pair | None = None

    def params(self) -> Pair:
        if self.ci90 is not None:
            lo, hi = _ci90(self.ci90)
            pad = (hi - lo) * 0.05 / 0.90
            return lo - pad, hi + pad
        assert self.low is not None and self.high is not None
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high, found [{self.low}, {self.high}]")
        return self.low, self.high

    def frozen(self) -> Any:
        from scipy import stats

        low, high = self.params()
        return stats.uniform(loc=low, scale=high - low)

    def _ppf(self, u: np.ndarray) -> Any:
        low, high = self.params()
        return low + (high - low) * u

    def sampler(self) -> Sampler:
        return Sampler("uniform", self.params())

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        _exactly_one(self, ("low", "high"), ("ci90",))
        self.params()
        return self


class Triangular(DistributionBase):
    """Triangular with ``min`` ≤ ``mode`` ≤ ``max`` (``min < max``)."""

    dist: Literal["triangular"]
    min: float
    mode: float
    max: float

    def frozen(self) -> Any:
        from scipy import stats

        width = self.max - self.min
        return stats.triang(c=(self.mode - self.min) / width, loc=self.min, scale=width)

    def _ppf(self, u: np.ndarray) -> Any:
        # scipy.stats.triang's inverse CDF with the same arithmetic (same numbers)
        import numpy as np

        width = self.max - self.min
        c = (self.mode - self.min) / width
        return np.where(u < c, np.sqrt(c * u), 1 - np.sqrt((1 - c) * (1 - u))) * width + self.min

    def sampler(self) -> Sampler:
        return Sampler("triangular", (self.min, self.mode, self.max))

    @model_validator(mode="after")
    def _check(self) -> Triangular:
        if not (self.min <= self.mode <= self.max and self.min < self.max):
            raise ValueError(
                f"needs min <= mode <= max and min < max, found {self.min}, {self.mode}, {self.max}"
            )
        return self


class Pert(Triangular):
    """(Modified) PERT: a Beta on ``[min, max]`` with
    ``alpha = 1 + lambda (mode - min) / (max - min)`` and ``beta = 1 + lambda (max - mode) /
    (max - min)``; ``lambda`` is 4 unless given (Vose, *Risk Analysis*, 3rd ed., §9.1)."""

    dist: Literal["pert"]  # type: ignore[assignment]
    lambda_: Annotated[float, Field(gt=0, alias="lambda")] = 4.0

    def frozen(self) -> Any:
        from scipy import stats

        width = self.max - self.min
        a = 1 + self.lambda_ * (self.mode - self.min) / width
        b = 1 + self.lambda_ * (self.max - self.mode) / width
        return stats.beta(a, b, loc=self.min, scale=width)

    def _ppf(self, u: np.ndarray) -> Any:
        return self._cached().ppf(u)  # a Beta's: not the triangular closed form

    def sampler(self) -> Sampler:
        width = self.max - self.min
        a = 1 + self.lambda_ * (self.mode - self.min) / width
        b = 1 + self.lambda_ * (self.max - self.mode) / width
        return Sampler("beta", (a, b), self.min, width)


class Beta(DistributionBase):
    """Beta(``alpha``, ``beta``), scaled to ``[low, high]`` (default ``[0, 1]``)."""

    dist: Literal["beta"]
    alpha: Annotated[float, Field(gt=0)]
    beta: Annotated[float, Field(gt=0)]
    low: float = 0.0
    high: float = 1.0

    def frozen(self) -> Any:
        from scipy import stats

        return stats.beta(self.alpha, self.beta, loc=self.low, scale=self.high - self.low)

    def sampler(self) -> Sampler:
        return Sampler("beta", (self.alpha, self.beta), self.low, self.high - self.low)

    @model_validator(mode="after")
    def _check(self) -> Beta:
        if not self.low < self.high:
            raise ValueError(f"beta needs low < high, found [{self.low}, {self.high}]")
        return self


class Gamma(DistributionBase):
    """Gamma with ``shape`` and ``scale``, or ``ci90`` (shape solved numerically)."""

    dist: Literal["gamma"]
    shape: Annotated[float, Field(gt=0)] | None = None
    scale: Annotated[float, Field(gt=0)] | None = None
    ci90: Pair | None = None

    def params(self) -> Pair:
        if self.ci90 is not None:
            from scipy import optimize, stats

            lo, hi = _ci90(self.ci90, positive=True)
            ratio = hi / lo

            def gap(log_k: float) -> float:
                k = math.exp(log_k)
                low = float(stats.gamma.ppf(0.05, k))
                return (float(stats.gamma.ppf(0.95, k)) / low if low > 0 else math.inf) - ratio

            if not gap(-6.0) > 0 > gap(12.0):
                raise ValueError(f"no gamma distribution has ci90 [{lo}, {hi}]")
            k = math.exp(optimize.brentq(gap, -6.0, 12.0, xtol=1e-12))
            return k, lo / float(stats.gamma.ppf(0.05, k))
        assert self.shape is not None and self.scale is not None
        return self.shape, self.scale

    def frozen(self) -> Any:
        from scipy import stats

        k, theta = self.params()
        return stats.gamma(k, scale=theta)

    def sampler(self) -> Sampler:
        return Sampler("gamma", self.params())

    @model_validator(mode="after")
    def _check(self) -> Gamma:
        _exactly_one(self, ("shape", "scale"), ("ci90",))
        self.params()
        return self


class Weibull(DistributionBase):
    """Weibull with ``shape`` (k) and ``scale`` (lambda), or ``ci90`` (closed form)."""

    dist: Literal["weibull"]
    shape: Annotated[float, Field(gt=0)] | None = None
    scale: Annotated[float, Field(gt=0)] | None = None
    ci90: Pair | None = None

    def params(self) -> Pair:
        if self.ci90 is not None:
            lo, hi = _ci90(self.ci90, positive=True)
            # q_p = scale * (-log(1 - p)) ** (1 / k)
            k = math.log(math.log(20.0) / -math.log(0.95)) / math.log(hi / lo)
            return k, hi / math.log(20.0) ** (1 / k)
        assert self.shape is not None and self.scale is not None
        return self.shape, self.scale

    def frozen(self) -> Any:
        from scipy import stats

        k, lam = self.params()
        return stats.weibull_min(k, scale=lam)

    def sampler(self) -> Sampler:
        k, lam = self.params()
        return Sampler("weibull", (k,), 0.0, lam)

    @model_validator(mode="after")
    def _check(self) -> Weibull:
        _exactly_one(self, ("shape", "scale"), ("ci90",))
        self.params()
        return self


class Exponential(DistributionBase):
    """Exponential with ``rate`` (per year) or ``mean``."""

    dist: Literal["exponential"]
    rate: Annotated[float, Field(gt=0)] | None = None
    mean: Annotated[float, Field(gt=0)] | None = None

    def frozen(self) -> Any:
        from scipy import stats

        mean = self.mean if self.mean is not None else 1.0 / (self.rate or 1.0)
        return stats.expon(scale=mean)

    def sampler(self) -> Sampler:
        return Sampler(
            "exponential", (self.mean if self.mean is not None else 1.0 / (self.rate or 1.0),)
        )

    @model_validator(mode="after")
    def _check(self) -> Exponential:
        _exactly_one(self, ("rate",), ("mean",))
        return self


class Choice(DistributionBase):
    """A discrete choice among ``values`` with ``weights`` (equal if omitted)."""

    dist: Literal["choice"]
    values: Annotated[list[float], Field(min_length=1, max_length=10_000)]
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    def probabilities(self) -> np.ndarray:
        import numpy as np

        w = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights)
        return np.asarray(w / w.sum(), dtype=np.float64)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.ppf(_open_uniform(rng, size))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        import numpy as np

        cdf = np.cumsum(self.probabilities())
        cdf[-1] = 1.0
        idx = np.searchsorted(cdf, u, side="right")
        return np.asarray(self.values, dtype=np.float64)[np.minimum(idx, len(self.values) - 1)]

    @model_validator(mode="after")
    def _check(self) -> Choice:
        if self.truncate is not None:
            raise ValueError("truncate is not available for a discrete choice")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if not sum(self.weights) > 0:
                raise ValueError("weights must not all be zero")
        return self


Distribution = Annotated[
    Normal
    | Lognormal
    | Uniform
    | Triangular
    | Pert
    | Beta
    | Gamma
    | Weibull
    | Exponential
    | Choice,
    Field(discriminator="dist"),
]

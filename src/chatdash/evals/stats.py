"""The statistics of the test bed: how sure a scenario's mean is, whether a share of bad executions
stays under its limit, whether one run beats another, and how consistent a judge is.

A case is executed ``repeat`` times because models are not deterministic, and the repeats of one case
are not independent (a hard case stays hard). So the case is the unit: a mean is the mean over cases
of each case's mean, intervals come from a two-level bootstrap (draw cases with replacement, then
repeats with replacement within each drawn case) and comparisons pair two runs case by case.

Scores map a case id to its repeats' scores, numbers in [0, 1]; ``None`` is an execution without a
score (``unscorable`` or ``pending``): counted, never averaged. A case with no score at all is left out
of every statistic. Every random draw is seeded, so a report is reproducible. Pure Python and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Scores = Mapping[str, Sequence[float | None]]
ShareVerdict = Literal["pass", "fail", "inconclusive"]
CompareVerdict = Literal["better", "worse", "no significant difference"]

FLAKY_STD = 0.2  # a case whose repeats spread this much (sample std) is flaky
AGREEMENT = 0.1  # judgements of one output agree when their range is at most this
BINS = 10  # histogram bins over [0, 1]
EXACT_UP_TO = 16  # the sign-flip test enumerates all 2**cases patterns up to this many cases
PERMUTATIONS = 10_000  # random sign patterns beyond EXACT_UP_TO
_CELLS = 2_000_000  # draws per vectorised block (about 16 MB of float64)
_TINY = 1e-9  # float slack for scores written as decimals (0.3 * 10, 0.9 - 0.8)


def _plain(record: Any) -> dict[str, Any]:
    """A result's fields as JSON values: nested results as dicts, tuples as lists."""
    return {f.name: _json(getattr(record, f.name)) for f in fields(record)}


def _json(value: Any) -> Any:
    if is_dataclass(value):
        return _plain(value)
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its two-sided percentile interval at ``confidence``."""

    value: float
    low: float
    high: float
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.confidence:.0%} CI {self.low:.3f} to {self.high:.3f})"


@dataclass(frozen=True, slots=True)
class Below:
    """``count`` of ``of`` scored executions score strictly below ``threshold``."""

    threshold: float
    count: int
    of: int

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)

    def __str__(self) -> str:
        return f"{self.count} of {self.of} below {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class CaseStats:
    """One case over its repeats. ``std`` is the sample standard deviation (None with one score);
    ``passes`` counts repeats scoring >= the threshold. ``flaky``: ``std`` >= the flaky limit, or some
    repeats pass while others fail — the measure is ``std`` and ``passes`` of ``n``."""

    case_id: str
    n: int
    unscored: int
    mean: float
    std: float | None
    min: float
    max: float
    passes: int
    flaky: bool

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Summary:
    """A scenario's scores at a glance. ``mean`` is the mean over cases of the case means (each case
    weighs the same, however many repeats it scored); ``pass_rate`` the share of scored executions
    with score >= ``threshold``; both with intervals from one two-level bootstrap. ``histogram``
    counts scores in ``BINS`` bins: bin i holds [i/10, (i+1)/10), the last [0.9, 1.0]. ``flaky``
    names the flaky cases, the most spread first; their measure is in ``per_case``."""

    executions: int
    scored: int
    unscored: int
    cases: int
    mean: Interval
    pass_rate: Interval
    threshold: float
    histogram: tuple[int, ...]
    below: tuple[Below, ...]
    per_case: tuple[CaseStats, ...]
    flaky: tuple[str, ...]
    flaky_std: float
    unscored_cases: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether at most ``at_most`` of executions score below ``below``: ``hits`` of ``executions``
    observed (``share``), and the Wilson interval [``low``, ``high``] for the true share at
    ``confidence``, on the effective sample size ``executions / design_effect``. ``pass`` when
    ``high`` <= ``at_most``, ``fail`` when ``low`` > ``at_most``, else ``inconclusive``;
    ``decided_by`` is the bound that decided (None when inconclusive)."""

    verdict: ShareVerdict
    share: float
    low: float
    high: float
    decided_by: float | None
    below: float
    at_most: float
    confidence: float
    hits: int
    executions: int
    cases: int
    design_effect: float
    effective_n: float

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)

    def __str__(self) -> str:
        return (
            f"{self.verdict}: {self.hits} of {self.executions} below {self.below:g} ({self.share:.1%}); "
            f"true share {self.low:.1%} to {self.high:.1%} at {self.confidence:.0%}, limit {self.at_most:.1%}"
        )


@dataclass(frozen=True, slots=True)
class EarlyStop:
    """``should_stop``'s answer: ``stop`` and why, the current ``verdict``, and the verdicts the
    ``remaining`` planned executions would give if all of them (``if_all_below``) or none of them
    (``if_none_below``) scored below."""

    stop: bool
    reason: str
    verdict: Verdict
    executions: int
    remaining: int
    if_all_below: ShareVerdict
    if_none_below: ShareVerdict

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class CaseDifference:
    """One paired case: its mean score in run a, in run b, and ``difference`` = b - a."""

    case_id: str
    a: float
    b: float
    difference: float

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Run b against run a over the ``cases`` scored in both (``left_out``: the others).
    ``mean_difference`` is the mean of the per-case differences (b - a) with a two-level bootstrap
    interval; ``p_value`` a two-sided paired sign-flip test (``test`` says exact or Monte Carlo);
    ``effect_size`` Cohen's d_z = mean difference / sample sd of the differences (0.0 when every
    difference is 0, None when they are all equal but not 0, or with one case). ``verdict`` is
    ``better``/``worse`` when the p-value (``p_adjusted`` when several scenarios were compared) is
    below ``alpha`` = 1 - confidence."""

    cases: int
    left_out: tuple[str, ...]
    differences: tuple[CaseDifference, ...]
    mean_difference: Interval
    p_value: float
    p_adjusted: float | None
    test: str
    effect_size: float | None
    alpha: float
    verdict: CompareVerdict

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Consistency:
    """How consistently a judge scores the same output: ``mean_std`` (and ``max_std``) of the sample
    std over the ``outputs`` judged at least twice, and ``agreeing`` of them whose judgements span at
    most ``tolerance`` (max - min), as ``agreement`` (a share). ``single``: outputs judged once, left out."""

    outputs: int
    judgements: int
    mean_std: float
    max_std: float
    agreeing: int
    agreement: float
    tolerance: float
    single: int

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


# --- reading and drawing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Table:
    """The scored cases: their repeats as rows of ``data`` (padded with NaN), their counts, and the
    unscored executions per case (cases without any score are only in ``empty``)."""

    ids: tuple[str, ...]
    rows: tuple[NDArray[np.float64], ...]
    data: NDArray[np.float64]
    counts: NDArray[np.intp]
    unscored: tuple[int, ...]
    empty: tuple[str, ...]
    empty_unscored: int

    def case_means(self) -> NDArray[np.float64]:
        return np.array([row.mean() for row in self.rows])

    def subset(self, ids: Sequence[str]) -> _Table:
        where = {case_id: i for i, case_id in enumerate(self.ids)}
        return _table(ids, [self.rows[where[i]] for i in ids], [self.unscored[where[i]] for i in ids], (), 0)


def _table(
    ids: Sequence[str],
    rows: Sequence[NDArray[np.float64]],
    unscored: Sequence[int],
    empty: tuple[str, ...],
    lost: int,
) -> _Table:
    counts = np.array([len(row) for row in rows], dtype=np.intp)
    data = np.full((len(rows), int(counts.max())), np.nan)
    for i, row in enumerate(rows):
        data[i, : len(row)] = row
    return _Table(tuple(ids), tuple(rows), data, counts, tuple(unscored), empty, lost)


def _read(scores: Scores, noun: str = "case") -> _Table:
    if not scores:
        raise ValueError(f"no {noun}s: nothing to compute statistics on")
    ids, rows, unscored, empty, lost = [], [], [], [], 0
    for case_id, values in scores.items():
        row, missing = [], 0
        for value in values:
            if value is None:
                missing += 1
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{noun} {case_id!r}: {value!r} is not a score") from None
            if not 0.0 <= number <= 1.0:  # also refuses NaN
                raise ValueError(f"{noun} {case_id!r}: score {value!r} is outside [0, 1]")
            row.append(number)
        if row:
            ids.append(case_id)
            rows.append(np.array(row))
            unscored.append(missing)
        else:
            empty.append(case_id)
            lost += missing
    if not ids:
        raise ValueError(f"no scored executions: every {noun}'s scores are None (unscorable or pending)")
    return _table(ids, rows, unscored, tuple(empty), lost)


def _check(confidence: float, iterations: int = 1) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence is a number between 0 and 1, not {confidence!r}")
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, not {iterations!r}")


def _blocks(cases: int, width: int, iterations: int, rng: np.random.Generator) -> Iterator[NDArray[np.intp]]:
    """The first level: ``iterations`` draws of ``cases`` case indices, in blocks that fit in memory."""
    step = max(1, _CELLS // (cases * width))
    for start in range(0, iterations, step):
        yield rng.integers(0, cases, size=(min(step, iterations - start), cases))


def _draw(table: _Table, picks: NDArray[np.intp], rng: np.random.Generator) -> NDArray[np.float64]:
    """The second level: for each drawn case, as many repeats as it has, drawn from its own repeats.
    Shape (iterations, cases, max repeats); slots past a case's count are NaN."""
    n = table.counts[picks][..., None]
    width = table.data.shape[1]
    repeats = (rng.random((*picks.shape, width)) * n).astype(np.intp)  # floor(u * n) < n
    drawn = table.data[picks[..., None], repeats]
    if (table.counts != width).any():
        drawn[np.arange(width) >= n] = np.nan
    return drawn


def _percentiles(stats: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return float(low), float(high)


def _means_and_shares(
    table: _Table, threshold: float, confidence: float, iterations: int, seed: int
) -> tuple[Interval, Interval]:
    """Mean of case means, and share of executions >= threshold, from the same bootstrap draws."""
    rng = np.random.default_rng(seed)
    means, shares = [], []
    for picks in _blocks(len(table.ids), table.data.shape[1], iterations, rng):
        drawn = _draw(table, picks, rng)
        n = table.counts[picks]
        means.append((np.nansum(drawn, axis=-1) / n).mean(axis=-1))
        shares.append((drawn >= threshold).sum(axis=(1, 2)) / n.sum(axis=1))
    values = np.concatenate(table.rows)
    mean = Interval(
        float(table.case_means().mean()), *_percentiles(np.concatenate(means), confidence), confidence
    )
    share = float((values >= threshold).mean())
    rate = Interval(share, *_percentiles(np.concatenate(shares), confidence), confidence)
    return mean, rate


# --- the mean and the summary ----------------------------------------------------------------------


def bootstrap_mean(
    scores: Scores, *, confidence: float = 0.95, iterations: int = 2000, seed: int = 0
) -> Interval:
    """The mean over cases of the case means, with a percentile interval from the two-level bootstrap
    (cases with replacement, then each drawn case's repeats with replacement). With one case the
    interval comes from its repeats alone. Drawing repeats again adds their noise a second time, so
    the interval errs a little on the wide side when repeats are noisy (it adds about the
    within-case variance / repeats / cases); 0.965 coverage at 95 % in the unit test's simulation.
    Raises ValueError without any score, or for a score outside [0, 1] (naming the case)."""
    _check(confidence, iterations)
    return _means_and_shares(_read(scores), 0.5, confidence, iterations, seed)[0]


def _case_stats(
    case_id: str, row: NDArray[np.float64], unscored: int, threshold: float, flaky_std: float
) -> CaseStats:
    std = float(row.std(ddof=1)) if len(row) > 1 else None
    passes = int((row >= threshold).sum())
    flaky = (std is not None and std >= flaky_std - _TINY) or 0 < passes < len(row)
    return CaseStats(
        case_id, len(row), unscored, float(row.mean()), std, float(row.min()), float(row.max()), passes, flaky
    )


def summarize(
    scores: Scores,
    *,
    threshold: float = 0.5,
    below: Sequence[float] = (0.3,),
    flaky_std: float = FLAKY_STD,
    confidence: float = 0.95,
    iterations: int = 2000,
    seed: int = 0,
) -> Summary:
    """Everything a scenario's report shows about one evaluator's scores (see ``Summary``). An
    execution passes with score >= ``threshold``; ``below`` counts scores strictly below each value.
    The pass rate's interval is descriptive (it is [1, 1] when every execution passed); to decide an
    assertion on a share, use ``check_share``."""
    _check(confidence, iterations)
    table = _read(scores)
    mean, rate = _means_and_shares(table, threshold, confidence, iterations, seed)
    values = np.concatenate(table.rows)
    bins = np.minimum(np.floor(values * BINS + _TINY), BINS - 1).astype(np.intp)
    per_case = tuple(
        _case_stats(i, row, missing, threshold, flaky_std)
        for i, row, missing in zip(table.ids, table.rows, table.unscored, strict=True)
    )
    flaky = sorted((c for c in per_case if c.flaky), key=lambda c: -(c.std or 0.0))
    unscored = sum(table.unscored) + table.empty_unscored
    return Summary(
        executions=len(values) + unscored,
        scored=len(values),
        unscored=unscored,
        cases=len(table.ids),
        mean=mean,
        pass_rate=rate,
        threshold=threshold,
        histogram=tuple(int(c) for c in np.bincount(bins, minlength=BINS)),
        below=tuple(Below(t, int((values < t).sum()), len(values)) for t in below),
        per_case=per_case,
        flaky=tuple(c.case_id for c in flaky),
        flaky_std=flaky_std,
        unscored_cases=table.empty,
    )


# --- assertions on a share -------------------------------------------------------------------------


def _design_effect(hits: NDArray[np.intp], counts: NDArray[np.intp]) -> float:
    """Cluster-robust variance of the pooled share over its binomial variance, clipped to [1, Kish's
    sum(n_i^2)/N] (from independent repeats to identical ones). 1 with one case or a share of 0 or 1,
    where the data cannot show clustering."""
    total, cases = int(counts.sum()), len(counts)
    share = hits.sum() / total
    if cases < 2 or share in (0.0, 1.0):
        return 1.0
    clustered = cases / (cases - 1) * float(((hits - share * counts) ** 2).sum()) / total**2
    ratio = clustered / (share * (1.0 - share) / total)
    return float(min(max(ratio, 1.0), float((counts**2).sum()) / total))


def _share_verdict(
    hits: NDArray[np.intp], counts: NDArray[np.intp], below: float, at_most: float, confidence: float
) -> Verdict:
    scored = counts > 0
    hits, counts = hits[scored], counts[scored]
    total, found = int(counts.sum()), int(hits.sum())
    share = found / total
    deff = _design_effect(hits, counts)
    n = total / deff
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    verdict: ShareVerdict = "pass" if high <= at_most else "fail" if low > at_most else "inconclusive"
    decided = high if verdict == "pass" else low if verdict == "fail" else None
    return Verdict(
        verdict, share, low, high, decided, below, at_most, confidence, found, total, len(counts), deff, n
    )


def _hits(table: _Table, below: float) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    hits = np.array([int((row < below).sum()) for row in table.rows] + [0] * len(table.empty), dtype=np.intp)
    counts = np.concatenate([table.counts, np.zeros(len(table.empty), dtype=np.intp)])
    return hits, counts


def _check_limit(at_most: float, confidence: float) -> None:
    _check(confidence)
    if not 0.0 <= at_most <= 1.0:
        raise ValueError(f"at_most is a share in [0, 1], not {at_most!r}")


def check_share(scores: Scores, *, below: float, at_most: float, confidence: float = 0.95) -> Verdict:
    """Checks "at most ``at_most`` of executions score below ``below``" over all repeats.

    The bound is a Wilson interval (two-sided, at ``confidence``) with a design-effect correction,
    not the bootstrap: Wilson stays honest at a share of 0 or 1 and on few executions, where a
    percentile bootstrap collapses to a point, and needs no seed. Repeats of a case are not
    independent, so the sample size is the executions divided by the design effect (see
    ``_design_effect``): a share clustered in a few cases earns a wider interval than the same share
    spread over many. ``pass`` when the upper bound is <= ``at_most``, ``fail`` when the lower bound
    is > ``at_most``, otherwise ``inconclusive``."""
    _check_limit(at_most, confidence)
    return _share_verdict(*_hits(_read(scores), below), below, at_most, confidence)


def should_stop(
    scores: Scores,
    *,
    below: float,
    at_most: float,
    remaining_repeats: int,
    confidence: float = 0.95,
    stop_confidence: float = 0.99,
    min_executions: int = 20,
) -> EarlyStop:
    """Whether the runner may skip the ``remaining_repeats`` still planned for every case, because the
    verdict of ``check_share`` is already clear. The rule, in order:

    1. no repeats remain: stop;
    2. the verdict at ``confidence`` is the same whether every remaining execution scores below or
       none does (computed at both extremes): the remaining repeats cannot change it, stop — also when
       it stays ``inconclusive`` either way;
    3. at least ``min_executions`` are scored and the verdict is ``pass`` or ``fail`` at the stricter
       ``stop_confidence``: stop. Looking after every repeat is several looks at the data; the
       stricter level keeps the chance of an early wrong verdict near that of one final look;
    4. otherwise go on."""
    _check(stop_confidence)
    if stop_confidence < confidence:
        raise ValueError("stop_confidence must be at least confidence: an early look is the stricter one")
    if remaining_repeats < 0:
        raise ValueError(f"remaining_repeats cannot be negative, not {remaining_repeats!r}")
    _check_limit(at_most, confidence)
    hits, counts = _hits(_read(scores), below)
    current = _share_verdict(hits, counts, below, at_most, confidence)
    more = remaining_repeats
    worst = _share_verdict(hits + more, counts + more, below, at_most, confidence).verdict
    best = _share_verdict(hits, counts + more, below, at_most, confidence).verdict
    remaining = more * len(counts)

    def answer(stop: bool, reason: str) -> EarlyStop:
        return EarlyStop(stop, reason, current, current.executions, remaining, worst, best)

    if remaining == 0:
        return answer(True, "no repeats left")
    if worst == best:
        return answer(True, f"the {remaining} remaining executions cannot change the verdict ({worst})")
    if current.executions < min_executions:
        return answer(
            False, f"{current.executions} of the {min_executions} executions needed before stopping"
        )
    strict = _share_verdict(hits, counts, below, at_most, stop_confidence)
    if strict.verdict != "inconclusive":
        return answer(True, f"already clear at {stop_confidence:.0%}: {strict.verdict}")
    return answer(False, f"not clear at {stop_confidence:.0%} yet")


# --- comparing two runs ----------------------------------------------------------------------------


def _sign_flip(diffs: NDArray[np.float64], permutations: int, rng: np.random.Generator) -> tuple[float, str]:
    """Two-sided p-value of |sum of differences| under random signs (a case's a and b exchangeable)."""
    cases = len(diffs)
    observed = abs(float(diffs.sum())) - _TINY
    if cases <= EXACT_UP_TO:
        patterns = 1 << cases
        signs = ((np.arange(patterns)[:, None] >> np.arange(cases)) & 1) * 2 - 1
        extreme = int((np.abs(signs @ diffs) >= observed).sum())
        return extreme / patterns, f"exact sign-flip ({patterns} patterns)"
    extreme, step = 0, max(1, _CELLS // cases)
    for start in range(0, permutations, step):
        signs = rng.integers(0, 2, size=(min(step, permutations - start), cases)) * 2 - 1
        extreme += int((np.abs(signs @ diffs) >= observed).sum())
    return (extreme + 1) / (permutations + 1), f"Monte Carlo sign-flip ({permutations} patterns)"


def _compare_verdict(difference: float, p: float, alpha: float) -> CompareVerdict:
    if p >= alpha:
        return "no significant difference"
    return "better" if difference > 0 else "worse"


def compare(
    a: Scores,
    b: Scores,
    *,
    confidence: float = 0.95,
    iterations: int = 2000,
    seed: int = 0,
    permutations: int = PERMUTATIONS,
) -> Comparison:
    """Run b against run a, paired by case (see ``Comparison``). The interval draws cases once for
    both runs, then each run's repeats within each drawn case. The test flips the sign of each case's
    difference: exact over all 2**cases patterns up to ``EXACT_UP_TO`` cases, otherwise over
    ``permutations`` random patterns (p = (extreme + 1) / (permutations + 1)). It needs no normality
    and is exact under its null: a and b exchangeable within every case."""
    _check(confidence, iterations)
    ta, tb = _read(a), _read(b)
    in_b = set(tb.ids)
    shared = [case_id for case_id in ta.ids if case_id in in_b]
    if not shared:
        raise ValueError("no case has scores in both runs: nothing to compare")
    paired = set(shared)
    left_out = tuple(dict.fromkeys(i for i in [*a, *b] if i not in paired))
    ta, tb = ta.subset(shared), tb.subset(shared)
    means_a, means_b = ta.case_means(), tb.case_means()
    diffs = means_b - means_a
    rng = np.random.default_rng(seed)
    stats = []
    width = max(ta.data.shape[1], tb.data.shape[1])
    for picks in _blocks(len(shared), width, iterations, rng):
        drawn_a, drawn_b = _draw(ta, picks, rng), _draw(tb, picks, rng)
        n_a, n_b = ta.counts[picks], tb.counts[picks]
        stats.append((np.nansum(drawn_b, axis=-1) / n_b - np.nansum(drawn_a, axis=-1) / n_a).mean(axis=-1))
    difference = float(diffs.mean())
    interval = Interval(difference, *_percentiles(np.concatenate(stats), confidence), confidence)
    p, test = _sign_flip(diffs, permutations, rng)
    sd = float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0
    effect = difference / sd if sd > _TINY else (0.0 if abs(difference) <= _TINY and len(diffs) > 1 else None)
    alpha = 1.0 - confidence
    return Comparison(
        cases=len(shared),
        left_out=left_out,
        differences=tuple(
            CaseDifference(i, float(x), float(y), float(y - x))
            for i, x, y in zip(shared, means_a, means_b, strict=True)
        ),
        mean_difference=interval,
        p_value=p,
        p_adjusted=None,
        test=test,
        effect_size=effect,
        alpha=alpha,
        verdict=_compare_verdict(difference, p, alpha),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given: the i-th smallest p (from 0) times
    (m - i), made non-decreasing along that order and capped at 1. Controls the chance of any false
    "better"/"worse" among m comparisons, without assuming they are independent."""
    for p in p_values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a p-value is in [0, 1], not {p!r}")
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def compare_many(
    runs: Mapping[str, tuple[Scores, Scores]],
    *,
    confidence: float = 0.95,
    iterations: int = 2000,
    seed: int = 0,
    permutations: int = PERMUTATIONS,
) -> dict[str, Comparison]:
    """``compare`` for several scenarios at once (scenario -> (run a, run b)), with Holm-adjusted
    p-values deciding each verdict: with many scenarios, some would differ at alpha by chance alone."""
    found = {
        name: compare(
            a, b, confidence=confidence, iterations=iterations, seed=seed, permutations=permutations
        )
        for name, (a, b) in runs.items()
    }
    adjusted = holm([c.p_value for c in found.values()])
    return {
        name: replace(c, p_adjusted=p, verdict=_compare_verdict(c.mean_difference.value, p, c.alpha))
        for (name, c), p in zip(found.items(), adjusted, strict=True)
    }


# --- a judge's consistency -------------------------------------------------------------------------


def judge_consistency(judgements: Scores, *, tolerance: float = AGREEMENT) -> Consistency:
    """How much a judge's scores of one output vary when it judges that output again (output id ->
    its scores): shown beside the judge's scores, so a 0.05 difference is not read into a judge that
    wavers by 0.2. Std is the sample std; judgements agree when max - min <= ``tolerance``."""
    table = _read(judgements, noun="output")
    rows = [row for row in table.rows if len(row) > 1]
    if not rows:
        raise ValueError("judge consistency needs at least one output judged twice")
    stds = np.array([row.std(ddof=1) for row in rows])
    agreeing = sum(1 for row in rows if row.max() - row.min() <= tolerance + _TINY)
    return Consistency(
        outputs=len(rows),
        judgements=sum(len(row) for row in rows),
        mean_std=float(stds.mean()),
        max_std=float(stds.max()),
        agreeing=agreeing,
        agreement=agreeing / len(rows),
        tolerance=tolerance,
        single=len(table.rows) - len(rows),
    )

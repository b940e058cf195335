import numpy as np
import pytest
from sklearn.metrics import f1_score

from tracker.scores import MAIN_POSTURES, macro_f1, subject_interval


def test_macro_f1_matches_scikit_learn_over_the_postures_present() -> None:
    rng = np.random.default_rng(3)
    truth = rng.choice(["sitting", "standing", "lying"], 500)  # no walking in truth
    predicted = rng.choice(["sitting", "standing", "walking", "lying"], 500)
    expected = f1_score(truth, predicted, labels=["sitting", "standing"], average="macro")
    assert macro_f1(truth, predicted) == pytest.approx(expected)


def test_macro_f1_is_nan_without_any_main_posture() -> None:
    assert np.isnan(macro_f1(np.array(["lying"]), np.array(["sitting"])))


def _people(n: int, wrong: set[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n people with 30 windows of each main posture; those in ``wrong`` have their
    standing called sitting throughout."""
    truth, predicted, people = [], [], []
    for person in range(n):
        labels = np.repeat(MAIN_POSTURES, 30)
        calls = labels.copy()
        if person in wrong:
            calls[labels == "standing"] = "sitting"
        truth.append(labels)
        predicted.append(calls)
        people.append(np.full(len(labels), person))
    return np.concatenate(truth), np.concatenate(predicted), np.concatenate(people)


def test_interval_collapses_when_everyone_scores_the_same() -> None:
    truth, predicted, people = _people(12, wrong=set())
    assert subject_interval(truth, predicted, people) == (1.0, 1.0)


def test_interval_over_people_spans_the_pooled_score_and_widens_with_fewer_people() -> None:
    truth, predicted, people = _people(20, wrong={0, 1})
    pooled = macro_f1(truth, predicted)
    low, high = subject_interval(truth, predicted, people)
    assert low < pooled < high <= 1.0
    # Half as many people with the same share of failures: a less certain figure.
    truth, predicted, people = _people(10, wrong={0})
    low_few, high_few = subject_interval(truth, predicted, people)
    assert high_few - low_few > high - low


def test_interval_is_reproducible() -> None:
    truth, predicted, people = _people(15, wrong={3})
    assert subject_interval(truth, predicted, people) == subject_interval(
        truth, predicted, people)

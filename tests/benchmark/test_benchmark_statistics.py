"""Paired verdicts: differences, intervals and the sign-flip test; pooled and per-fold results."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lggseg.benchmark import JobResult, write_results
from lggseg.benchmark.results import TEST_DIR, aggregate, check_folds, compare, metric_columns
from lggseg.benchmark.statistics import MIN_PAIRS, paired_difference, sign_flip_p

CLASSES = ("BG", "CT", "LE", "IT")


def test_a_consistent_gain_over_enough_pairs_is_better_and_a_loss_worse():
    pairs = {(s, f): 0.5 for s in range(2) for f in range(4)}
    gain = paired_difference({k: v + 0.05 + 0.01 * k[1] for k, v in pairs.items()}, pairs)
    assert gain["n"] == 8 and gain["verdict"] == "better"
    assert gain["low"] > 0 and gain["p"] == pytest.approx(2 / 2**8)
    loss = paired_difference({k: v - 0.05 - 0.01 * k[1] for k, v in pairs.items()}, pairs)
    assert loss["verdict"] == "worse" and loss["high"] < 0


def test_differences_of_both_signs_are_no_evidence_either_way():
    reference = {k: 0.5 for k in range(8)}
    mixed = {k: 0.5 + d for k, d in enumerate([0.1, -0.08, 0.05, -0.06, 0.02, -0.03, 0.04, -0.02])}
    result = paired_difference(mixed, reference)
    assert result["verdict"] == "no evidence either way"
    assert result["low"] < 0 < result["high"]


def test_four_pairs_that_agree_are_too_few_for_a_verdict():
    # 4 pairs all pointing one way happen by chance one time in 8 (p = 2 / 2^4).
    reference = {k: 0.5 for k in range(4)}
    result = paired_difference({k: 0.7 for k in range(4)}, reference)
    assert result["p"] == pytest.approx(0.125) and result["verdict"] == "too few pairs"
    assert MIN_PAIRS == 6


def test_pairs_where_a_class_is_absent_are_left_out():
    reference = {0: 0.5, 1: None, 2: 0.4}
    result = paired_difference({0: 0.6, 1: 0.9, 2: None}, reference)
    assert result["n"] == 1 and result["mean"] == pytest.approx(0.1)
    assert paired_difference({0: None}, {0: 0.5})["verdict"] == "too few pairs"


def test_sign_flip_p_is_one_for_no_difference_and_exact_for_small_n():
    rng = np.random.default_rng(0)
    assert sign_flip_p(np.zeros(5), rng=rng) == 1.0
    assert sign_flip_p(np.ones(6), rng=rng) == pytest.approx(2 / 64)


def _job(entry, seed, fold, *, macro, le, it, confusion, test=("A.01",), assignment=None):
    values = {name: 0.5 for name in metric_columns(CLASSES)}
    values.update(macro_f1=macro, LE_f1=le, IT_f1=it)
    return JobResult(
        entry=entry, backend="tensorflow", seed=seed, fold=fold, status="finished", values=values, classes=CLASSES,
        confusion=confusion, test_images=test, assignment=assignment or {"A": 0, "B": 1},
    )


def test_pooled_scores_sum_the_folds_confusion_matrices_per_seed():
    eye = np.eye(4).tolist()
    wrong = (np.ones((4, 4)) - np.eye(4)).tolist()  # every pixel wrong
    done = [
        _job("t", 0, 0, macro=1.0, le=1.0, it=1.0, confusion=eye),
        _job("t", 0, 1, macro=0.0, le=0.0, it=0.0, confusion=wrong),
    ]
    pooled = aggregate(done)["t"]["tensorflow"]["pooled"]
    # 4 right of 4 + 12 pixels: accuracy 0.25, not the 0.5 mean of the two folds.
    assert pooled["metrics"]["accuracy"]["mean"] == pytest.approx(0.25)
    assert pooled["folds"] == {0: 2}


def test_compare_pairs_by_seed_and_fold_and_skips_other_test_images():
    eye = np.eye(4).tolist()
    jobs = []
    for seed in range(2):
        for fold in range(4):
            jobs.append(_job("transfer", seed, fold, macro=0.5, le=0.5, it=None, confusion=eye, test=(f"f{fold}",)))
            jobs.append(_job("scratch", seed, fold, macro=0.4, le=0.45, it=0.1, confusion=eye, test=(f"f{fold}",)))
    # A job tested on other images than its partner is no pair.
    jobs.append(_job("transfer", 2, 0, macro=0.5, le=0.5, it=None, confusion=eye, test=("x",)))
    jobs.append(_job("scratch", 2, 0, macro=0.9, le=0.9, it=None, confusion=eye, test=("y",)))
    result = compare(jobs, reference="transfer")["tensorflow"]["scratch"]
    assert result["macro_f1"]["n"] == 8 and result["macro_f1"]["mean"] == pytest.approx(-0.1)
    assert result["macro_f1"]["verdict"] == "worse"
    assert result["IT_f1"]["n"] == 0  # IT absent from the reference's test images


def test_disagreeing_fold_assignments_are_reported(tmp_path):
    eye = np.eye(4).tolist()
    jobs = [
        _job("transfer", 0, 0, macro=0.5, le=0.5, it=0.1, confusion=eye),
        _job("scratch", 0, 0, macro=0.5, le=0.5, it=0.1, confusion=eye, assignment={"A": 1, "B": 0}),
    ]
    assert check_folds(jobs)["agree"] is False
    paths = write_results(jobs, out_dir=tmp_path)
    text = paths["md"].read_text()
    assert "Fold assignments disagree" in text and "## Per fold" in text and "## Paired against transfer" in text
    assert json.loads(paths["json"].read_text())["folds"]["agree"] is False


def test_the_test_folder_name_is_the_trainers():
    from lggseg.training.run_dir import TEST_DIR as trainers

    assert TEST_DIR == trainers

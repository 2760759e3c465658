"""Tests of the active-learning baselines (al_strategies.py) on tiny inputs whose answers can be checked by hand.
Run: /usr/bin/python3 -m unittest discover -s bench/python/tests"""
import os
import sys
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import al_strategies as S  # noqa: E402


class KCenterGreedyTest(unittest.TestCase):
    def test_takes_the_point_farthest_from_every_center_then_updates_the_distances(self):
        # centers {0}; candidates 1, 5, 10, 6: 10 is farthest; then 5 (5 from 0) beats 6 (4 from 10) and 1
        pool = np.array([[1.0], [5.0], [10.0], [6.0]])
        self.assertEqual(S.k_center_greedy(pool, np.array([[0.0]]), 2).tolist(), [2, 1])

    def test_never_takes_a_point_twice_even_when_points_coincide(self):
        pool = np.array([[3.0, 0.0], [3.0, 0.0], [3.0, 0.0]])
        picks = S.k_center_greedy(pool, np.array([[0.0, 0.0]]), 3)
        self.assertEqual(sorted(picks.tolist()), [0, 1, 2])

    def test_without_labeled_points_starts_at_the_first_and_spreads(self):
        pool = np.array([[0.0], [1.0], [9.0], [4.0]])
        self.assertEqual(S.k_center_greedy(pool, np.empty((0, 1)), 3).tolist(), [0, 2, 3])


class BadgeTest(unittest.TestCase):
    def test_embedding_is_the_last_layer_gradient_of_the_loss_at_the_predicted_label(self):
        torch.manual_seed(0)
        fc = torch.nn.Linear(5, 3)
        pen = torch.randn(4, 5)
        for i in range(4):
            fc.zero_grad()
            logits = fc(pen[i:i + 1])
            torch.nn.functional.cross_entropy(logits, logits.argmax(1)).backward()
            probs = torch.softmax(logits, 1).detach().numpy().astype(np.float64)
            emb = S.badge_embedding(probs, pen[i:i + 1].numpy().astype(np.float64))
            # the authors' embedding is minus the weight gradient, flattened class-major
            np.testing.assert_allclose(emb[0], -fc.weight.grad.numpy().reshape(-1), rtol=1e-5, atol=1e-6)

    def test_kmeans_pp_starts_at_the_largest_norm_and_cannot_redraw_a_covered_cluster(self):
        # two tight clusters (duplicates): after the first pick in cluster b, only cluster a has positive distance
        emb = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 5.0], [0.0, 5.0]])
        for seed in range(5):
            picks = S.kmeans_pp_pick(emb, 2, np.random.default_rng(seed))
            self.assertIn(picks[0], (3, 4))
            self.assertIn(picks[1], (0, 1, 2))

    def test_kmeans_pp_draws_in_proportion_to_the_squared_distance(self):
        # first center at 10 (largest norm); the others at 0 and 9: squared distances 100 and 1
        emb = np.array([[0.0], [9.0], [10.0]])
        rng = np.random.default_rng(1)
        second = [S.kmeans_pp_pick(emb, 2, rng)[1] for _ in range(2000)]
        share = np.mean(np.array(second) == 0)
        self.assertAlmostEqual(share, 100 / 101, delta=0.015)

    def test_kmeans_pp_selects_all_distinct_even_when_every_distance_is_zero(self):
        picks = S.kmeans_pp_pick(np.ones((4, 2)), 4, np.random.default_rng(0))
        self.assertEqual(sorted(picks.tolist()), [0, 1, 2, 3])


class UncertaintyTest(unittest.TestCase):
    def test_entropy_prefers_the_flattest_prediction(self):
        probs = np.array([[0.9, 0.05, 0.05], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
        self.assertEqual(S.entropy_pick(probs, 2).tolist(), [1, 2])

    def test_margin_prefers_the_smallest_gap_between_the_top_two(self):
        probs = np.array([[0.6, 0.3, 0.1], [0.45, 0.1, 0.45], [0.5, 0.2, 0.3]])
        self.assertEqual(S.margin_pick(probs, 3).tolist(), [1, 2, 0])

    def test_asking_for_more_than_the_pool_holds_is_an_error(self):
        with self.assertRaises(ValueError):
            S.random_pick(3, 4, np.random.default_rng(0))
        with self.assertRaises(ValueError):
            S.margin_pick(np.full((2, 2), 0.5), 3)


class AulcTest(unittest.TestCase):
    def test_is_the_mean_accuracy_over_the_label_range(self):
        self.assertAlmostEqual(S.aulc([10, 20, 30], [0.5, 0.5, 0.5]), 0.5)
        self.assertAlmostEqual(S.aulc([10, 20, 40], [0.2, 0.4, 0.4]), (0.3 * 10 + 0.4 * 20) / 30)

    def test_needs_a_curve(self):
        with self.assertRaises(ValueError):
            S.aulc([10], [0.5])


if __name__ == "__main__":
    unittest.main()

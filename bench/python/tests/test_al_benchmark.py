"""Tests of the active-learning benchmark's merge of runs over different seeds (al_benchmark.merge), on hand-written
outputs. Run: /usr/bin/python3 -m unittest discover -s bench/python/tests"""
import csv
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import al_benchmark as A  # noqa: E402


def fake_run(d, seed, accuracies, pool=100):
    """A closed-set run of the given strategies over one cycle (initial 10, q 5) with their cycle-1 accuracies."""
    os.makedirs(d)
    cfg = dict(A.PRESETS["reduced"], pool=pool, initial=10, q=5, cycles=1, seeds=1, known_classes=6,
               strategiesBySetting={"closed": list(accuracies)}, seconds=3)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(d, "cycles.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=A.FIELDS)
        w.writeheader()
        for s, acc in accuracies.items():
            w.writerow(dict(setting="closed", strategy=s, seed=seed, cycle=0, labeled=10, known_labeled=10,
                            accuracy=0.4, queried=0, queried_known="", known_share="", known_recall=0.1,
                            select_seconds=""))
            w.writerow(dict(setting="closed", strategy=s, seed=seed, cycle=1, labeled=15, known_labeled=15,
                            accuracy=acc, queried=5, queried_known=5, known_share=1.0, known_recall=0.15,
                            select_seconds=1.0))
    with open(os.path.join(d, "selections.csv"), "w", newline="") as f:
        csv.writer(f).writerows([["setting", "strategy", "seed", "cycle", "id"], ["closed", "random", seed, 1, "a"]])
    with open(os.path.join(d, "initial.csv"), "w", newline="") as f:
        csv.writer(f).writerows([["setting", "seed", "id"], ["closed", seed, "b"]])


class MergeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = lambda name: os.path.join(self.tmp.name, name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_merged_table_averages_over_the_seeds_of_all_runs(self):
        fake_run(self.d("s0"), 0, {"random": 0.5, "sisom": 0.6})
        fake_run(self.d("s1"), 1, {"random": 0.7, "sisom": 0.6})
        A.merge([self.d("s0"), self.d("s1")], self.d("out"))
        with open(os.path.join(self.d("out"), "summary.md")) as f:
            md = f.read()
        self.assertIn("over 2 seed(s)", md)
        # cycle 0 0.4 on both seeds; cycle 1 mean 0.6, std 0.1; AULC per seed (0.4 + acc) / 2
        self.assertIn("| random | 0.4000 ± 0.0000 | 0.6000 ± 0.1000 | 0.5000 ± 0.0500 |", md)
        self.assertIn("| sisom | 0.4000 ± 0.0000 | 0.6000 ± 0.0000 | 0.5000 ± 0.0000 |", md)
        with open(os.path.join(self.d("out"), "cycles.csv")) as f:
            self.assertEqual(len(list(csv.DictReader(f))), 8)
        self.assertTrue(os.path.getsize(os.path.join(self.d("out"), "learning-curves.png")) > 1000)

    def test_runs_of_other_strategies_on_the_same_seeds_add_their_rows(self):
        fake_run(self.d("base"), 0, {"random": 0.5})
        fake_run(self.d("gated"), 0, {"sisome-gated": 0.7})
        A.merge([self.d("base"), self.d("gated")], self.d("out"))
        with open(os.path.join(self.d("out"), "config.json")) as f:
            self.assertEqual(json.load(f)["strategiesBySetting"], {"closed": ["random", "sisome-gated"]})
        with open(os.path.join(self.d("out"), "summary.md")) as f:
            md = f.read()
        self.assertIn("| random | 0.4000 | 0.5000 |", md)
        self.assertIn("| sisome-gated | 0.4000 | 0.7000 |", md)

    def test_refuses_runs_of_the_same_seed(self):
        fake_run(self.d("a"), 0, {"random": 0.5, "sisom": 0.6})
        fake_run(self.d("b"), 0, {"random": 0.5, "sisom": 0.6})
        with self.assertRaises(SystemExit):
            A.merge([self.d("a"), self.d("b")], self.d("out"))

    def test_refuses_runs_of_another_configuration(self):
        fake_run(self.d("a"), 0, {"random": 0.5, "sisom": 0.6})
        fake_run(self.d("b"), 1, {"random": 0.5, "sisom": 0.6}, pool=200)
        with self.assertRaisesRegex(SystemExit, "pool"):
            A.merge([self.d("a"), self.d("b")], self.d("out"))


if __name__ == "__main__":
    unittest.main()

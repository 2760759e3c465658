"""The GPU check's CPU mode: the same code path as on a GPU, at tiny sizes, on the bundled model."""
import os
import subprocess
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


class GpuCheckCpuMode(unittest.TestCase):
    def test_prints_every_section_and_passes_on_the_cpu(self):
        model = os.path.join(ROOT, "data-samples", "model", "fmnist_resnet18w16.pt")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "python", "gpu_check.py"), "--device", "cpu",
                            "--quick", model], capture_output=True, text=True, timeout=600)
        out = p.stdout
        self.assertEqual(0, p.returncode, out + p.stderr)
        self.assertIn("gradients cpu vs cpu, float32", out)
        self.assertIn("per-sample: each sample in the batch vs alone", out)
        for fmt in ("channels_last", "contiguous"):
            for mode in ("float32", "tf32", "bfloat16"):
                self.assertRegex(out, fmt + r" +" + mode + r" +batch +\d+: +[\d.]+ img/s with gradients|"
                                 + fmt + r" +" + mode + r" .*(failed|could not prepare)")
        self.assertIn("products alone (float32 sgemm", out)
        self.assertRegex(out, r"device row minima vs double precision on \d+ rows: .*: OK")
        self.assertIn("gpu-check: OK", out)

    def test_a_failed_comparison_fails_the_check(self):
        sys.path.insert(0, os.path.join(ROOT, "bench", "python"))
        import gpu_check
        import torch
        a = torch.ones(3, 4)
        b = a.clone()
        b[1, 2] = 1.5
        self.assertEqual(0.0, gpu_check.rel_err(a, a))
        self.assertGreater(gpu_check.rel_err(b, a), 1e-2)


if __name__ == "__main__":
    unittest.main()

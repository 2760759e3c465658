"""Tests of the SISOM exporter (Debian python3-torch). Run: /usr/bin/python3 -m unittest discover -s python/tests"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import sisom_export  # noqa: E402
import sisom_resnet  # noqa: E402

LAYERS = ["layer1", "layer2", "layer3", "avgpool"]


def randomized_bn(model, seed=0):
    """Give every BatchNorm non-trivial statistics, so that folding them is actually exercised."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "net.pt")

    def tearDown(self):
        self.tmp.cleanup()

    def test_export_matches_eager_features_with_folded_batchnorm(self):
        torch.manual_seed(0)
        model = randomized_bn(sisom_resnet.build(width=8))
        meta = sisom_export.export(model, LAYERS, (1, 28, 28), self.out, [0.5], [0.25])
        self.assertEqual([l["size"] for l in meta["layers"]], [8, 16, 32, 64])
        self.assertEqual(meta["penultimateSize"], 64)
        with open(os.path.join(self.tmp.name, "net.json")) as f:
            self.assertEqual(json.load(f)["modelFile"], "net.pt")
        loaded = torch.jit.load(self.out)
        x = torch.randn(5, 1, 28, 28)
        want = sisom_export.eager_features(model, LAYERS, x)
        got = loaded(x)
        for w, g in zip(want, got):
            self.assertLess(sisom_export.max_rel_err(g, w), 1e-4)
        graph = str(loaded.inlined_graph)
        self.assertIn("conv2d", graph)
        self.assertNotIn("batch_norm", graph, "BatchNorm would run in train mode under DJL's training=true call")

    def test_the_metadata_carries_the_head_that_makes_the_logits_from_the_penultimate_features(self):
        torch.manual_seed(1)
        model = randomized_bn(sisom_resnet.build(width=8))
        meta = sisom_export.export(model, LAYERS, (1, 28, 28), self.out, [0.5], [0.25])
        w = torch.tensor(meta["head"]["weight"])
        b = torch.tensor(meta["head"]["bias"])
        self.assertEqual(tuple(w.shape), (meta["numClasses"], meta["penultimateSize"]))
        logits, pen, _, _ = torch.jit.load(self.out)(torch.randn(4, 1, 28, 28))
        self.assertLess(sisom_export.max_rel_err(pen @ w.T + b, logits), 1e-5)

    def test_add_head_upgrades_an_export_without_one_and_leaves_the_model_file_alone(self):
        torch.manual_seed(2)
        model = randomized_bn(sisom_resnet.build(width=8))
        meta = sisom_export.export(model, LAYERS, (1, 28, 28), self.out, [0.5], [0.25])
        json_path = os.path.join(self.tmp.name, "net.json")
        old = dict(meta)
        del old["head"]
        with open(json_path, "w") as f:
            json.dump(old, f)
        with open(self.out, "rb") as f:
            pt = f.read()
        self.assertEqual(sisom_export.main(["add-head", self.out]), 0)
        with open(json_path) as f:
            self.assertEqual(json.load(f)["head"], meta["head"])
        with open(self.out, "rb") as f:
            self.assertEqual(f.read(), pt)
        self.assertEqual(sisom_export.main(["add-head", os.path.join(self.tmp.name, "missing.pt")]), 2)

    def test_gradients_are_per_sample_although_the_loss_is_summed_over_the_batch(self):
        model = randomized_bn(sisom_resnet.build(width=8))
        sisom_export.export(model, LAYERS, (1, 28, 28), self.out, [0.5], [0.25])
        loaded = torch.jit.load(self.out)
        x = torch.randn(4, 1, 28, 28)
        batch = loaded(x)[3]
        for i in range(4):
            single = loaded(x[i:i + 1])[3]
            self.assertLess(sisom_export.max_rel_err(batch[i:i + 1], single), 1e-4)

    def test_pooled_layer_gradient_is_analytic(self):
        model = randomized_bn(sisom_resnet.build(width=8))
        sisom_export.export(model, LAYERS, (1, 28, 28), self.out, [0.5], [0.25])
        logits, _, _, grads = torch.jit.load(self.out)(torch.randn(3, 1, 28, 28))
        k = logits.shape[1]
        analytic = (torch.softmax(logits, 1) - 1.0 / k) @ model.fc.weight
        self.assertLess(sisom_export.max_rel_err(grads[:, -64:], analytic), 1e-5)

    def test_nested_layer_names_split_inside_a_stage(self):
        model = randomized_bn(sisom_resnet.build(width=8))
        meta = sisom_export.export(model, ["layer4.0", "avgpool"], (1, 28, 28), self.out, [0.5], [0.25])
        self.assertEqual([l["name"] for l in meta["layers"]], ["layer4.0", "avgpool"])

    def test_unknown_layer_names_the_available_ones(self):
        with self.assertRaises(sisom_export.ExportError) as e:
            sisom_export.export(sisom_resnet.build(width=8), ["layer9"], (1, 28, 28), self.out, [0.5], [0.25])
        self.assertIn("layer9", str(e.exception))
        self.assertIn("layer3", str(e.exception))
        self.assertFalse(os.path.exists(self.out))

    def test_layers_out_of_order_are_refused(self):
        with self.assertRaises(sisom_export.ExportError):
            sisom_export.export(sisom_resnet.build(width=8), ["layer2", "layer1"], (1, 28, 28), self.out, [0.5], [0.25])

    def test_a_forward_that_is_not_the_child_order_fails_verification_and_writes_nothing(self):
        class Shuffled(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Conv2d(1, 4, 3, padding=1)
                self.b = nn.Conv2d(4, 4, 3, padding=1)
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                h = torch.relu(self.a(x))
                h = h + torch.relu(self.b(h))  # a residual the child sequence does not have
                return self.fc(torch.flatten(self.pool(h), 1))

        with self.assertRaises(sisom_export.ExportError) as e:
            sisom_export.export(Shuffled(), ["a", "pool"], (1, 8, 8), self.out, [0.5], [0.25])
        self.assertIn("verification failed", str(e.exception))
        self.assertFalse(os.path.exists(self.out))

    def test_bad_normalisation_is_refused(self):
        with self.assertRaises(sisom_export.ExportError):
            sisom_export.export(sisom_resnet.build(width=8), LAYERS, (1, 28, 28), self.out, [0.5, 0.5], [0.25])
        with self.assertRaises(sisom_export.ExportError):
            sisom_export.export(sisom_resnet.build(width=8), LAYERS, (1, 28, 28), self.out, [0.5], [0.0])

    @unittest.skipUnless(__import__("importlib").util.find_spec("torchvision"), "python3-torchvision not installed")
    def test_convolution_weights_are_saved_channels_last_by_default_and_contiguous_on_request(self):
        torch.manual_seed(0)
        model = randomized_bn(sisom_resnet.build(width=8))
        x = torch.randn(4, 1, 28, 28)
        outputs = {}
        for fmt, want in ((None, torch.channels_last), ("contiguous", torch.contiguous_format)):
            kwargs = {} if fmt is None else {"memory_format": fmt}
            meta = sisom_export.export(model, LAYERS, (1, 28, 28), self.out, [0.5], [0.25], **kwargs)
            self.assertEqual(meta["memoryFormat"], fmt or "channels_last")
            loaded = torch.jit.load(self.out)
            convs = [p for p in loaded.parameters() if p.dim() == 4]
            self.assertTrue(convs)
            for p in convs:
                self.assertTrue(p.is_contiguous(memory_format=want), f"{fmt}: {tuple(p.stride())}")
            outputs[fmt] = loaded(x)
        # only the layout differs: the same features up to float32 summation order
        for a, b in zip(outputs[None], outputs["contiguous"]):
            self.assertLess(sisom_export.max_rel_err(a, b), 1e-4)
        with self.assertRaisesRegex(sisom_export.ExportError, "memory format must be one of"):
            sisom_export.export(model, LAYERS, (1, 28, 28), self.out, [0.5], [0.25], memory_format="nhwc")

    def test_torchvision_resnet18_exports(self):
        import torchvision
        model = randomized_bn(torchvision.models.resnet18(num_classes=5))
        meta = sisom_export.export(model, LAYERS, (3, 64, 64), self.out, [0.485, 0.456, 0.406],
                                   [0.229, 0.224, 0.225], verify_batch=torch.randn(2, 3, 64, 64))
        self.assertEqual([l["size"] for l in meta["layers"]], [64, 128, 256, 512])

    def test_command_line_help_and_errors(self):
        script = os.path.join(os.path.dirname(HERE), "sisom_export.py")
        help_run = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
        self.assertEqual(help_run.returncode, 0)
        self.assertIn("--layers", help_run.stdout)
        bad = subprocess.run([sys.executable, script, "--factory", "sisom_resnet:build", "--python-path",
                              os.path.dirname(HERE), "--layers", "nope", "--input-shape", "1,28,28", "--mean", "0.5",
                              "--std", "0.25", "--out", self.out], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("unknown layer 'nope'", bad.stderr)
        ok = subprocess.run([sys.executable, script, "--factory", "sisom_resnet:build", "--factory-kwargs",
                             '{"width": 8}', "--python-path", os.path.dirname(HERE), "--layers", "layer1,avgpool",
                             "--input-shape", "1,28,28", "--mean", "0.5", "--std", "0.25", "--out", self.out],
                            capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertTrue(os.path.exists(self.out))


if __name__ == "__main__":
    unittest.main()

package ai.sisom.features;

import ai.djl.ndarray.NDManager;
import ai.djl.util.JsonUtils;
import ai.sisom.TestPaths;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.ModelMetadata;
import ai.sisom.model.SisomModel;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.Reader;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Java (DJL, libtorch 2.7.1) against the outputs that Python (Debian torch) wrote for the same PNG files with the
 * same exported model: data-samples/make_samples.py, function write_golden.
 */
class GoldenParityTest {
    private static SisomModel model;
    private static JsonObject golden;
    private static List<FeatureExtractor.Item> items;
    private static NDManager manager;

    @BeforeAll
    static void load() throws Exception {
        model = SisomModel.load(TestPaths.sampleModel());
        manager = NDManager.newBaseManager("PyTorch");
        try (Reader r = Files.newBufferedReader(TestPaths.golden("golden.json"))) {
            golden = JsonUtils.GSON.fromJson(r, JsonObject.class);
        }
        items = new ArrayList<>();
        for (var name : golden.getAsJsonArray("images")) {
            String n = name.getAsString();
            items.add(new FeatureExtractor.Item(n, Files.readAllBytes(TestPaths.golden(n))));
        }
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    private static float[][] matrix(String key) {
        var rows = golden.getAsJsonArray(key);
        float[][] m = new float[rows.size()][];
        for (int i = 0; i < m.length; i++) {
            var row = rows.get(i).getAsJsonArray();
            m[i] = new float[row.size()];
            for (int j = 0; j < m[i].length; j++) {
                m[i][j] = row.get(j).getAsFloat();
            }
        }
        return m;
    }

    /** max |a - b| / max |b|, the exporter's own verification measure. */
    private static double relErr(float[] a, float[] b) {
        double num = 0;
        double den = 1e-12;
        for (int i = 0; i < b.length; i++) {
            num = Math.max(num, Math.abs(a[i] - b[i]));
            den = Math.max(den, Math.abs(b[i]));
        }
        return num / den;
    }

    @Test
    void decodedImagesEqualPythonsTensors() throws Exception {
        ImagePreprocessor p = ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE);
        float[][] want = matrix("input");
        for (int i = 0; i < items.size(); i++) {
            float[] got = p.decode(items.get(i).id(), items.get(i).image(), manager);
            assertArrayEquals(want[i], got, 1e-6f, "image " + items.get(i).id());
        }
    }

    @Test
    void contractOutputsMatchPythonWithinFloat32Tolerance() {
        ImagePreprocessor p = ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE);
        float[][] input = matrix("input");
        float[] flat = new float[input.length * p.size()];
        for (int i = 0; i < input.length; i++) {
            System.arraycopy(input[i], 0, flat, i * p.size(), p.size());
        }
        SisomModel.Outputs o = model.forward(flat, input.length);
        int n = input.length;
        assertRowsClose("logits", o.logits(), matrix("logits"), n, 1e-5);
        assertRowsClose("penultimate", o.penultimate(), matrix("penultimate"), n, 1e-5);
        assertRowsClose("activations", o.activations(), matrix("activations"), n, 1e-5);
        assertRowsClose("gradients", o.gradients(), matrix("gradients"), n, 1e-4);
    }

    private static void assertRowsClose(String what, float[] got, float[][] want, int n, double tol) {
        int cols = want[0].length;
        assertEquals((long) n * cols, got.length, what + " size");
        for (int i = 0; i < n; i++) {
            float[] row = java.util.Arrays.copyOfRange(got, i * cols, (i + 1) * cols);
            double err = relErr(row, want[i]);
            assertTrue(err <= tol, what + " row " + i + ": relative error " + err + " > " + tol);
        }
    }

    @Test
    void extractorRecordsMatchPython() {
        FeatureExtractor fx = new FeatureExtractor(model,
                ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE), 5);
        List<FeatureExtractor.Result> res = fx.extract(items);
        float[][] logits = matrix("logits");
        float[][] acts = matrix("activations");
        float[][] grads = matrix("gradients");
        for (int i = 0; i < items.size(); i++) {
            FeatureRecord r = res.get(i).record();
            assertNotNull(r, "item " + i + " was rejected: " + res.get(i).rejection());
            assertEquals(items.get(i).id(), r.id());
            assertEquals(FeatureRecord.argmax(logits[i]), r.pseudoClass());
            assertEquals(FeatureRecord.energy(logits[i]), r.energy(), 1e-5 * Math.max(1, Math.abs(r.energy())));
            float[] u = new float[acts[i].length];
            for (int j = 0; j < u.length; j++) {
                u[j] = acts[i][j] * grads[i][j];
            }
            assertTrue(relErr(r.u(), u) < 2e-4, "u row " + i + ": " + relErr(r.u(), u));
        }
    }

    @Test
    void pooledLayerGradientIsTheAnalyticHeadGradient() {
        // for the pooled layer followed by the linear head W: g = W^T (softmax(l) - 1/K), exactly
        float[][] w = matrix("headWeight");
        ModelMetadata meta = model.metadata();
        int k = meta.numClasses();
        int p = meta.penultimateSize();
        int offset = meta.layerOffsets()[meta.layers().size() - 1];
        ImagePreprocessor pre = ImagePreprocessor.forModel(meta, ImagePreprocessor.Resize.NONE);
        float[][] input = matrix("input");
        float[] flat = new float[input.length * pre.size()];
        for (int i = 0; i < input.length; i++) {
            System.arraycopy(input[i], 0, flat, i * pre.size(), pre.size());
        }
        SisomModel.Outputs o = model.forward(flat, input.length);
        int d = meta.featureSize();
        for (int i = 0; i < input.length; i++) {
            double[] prob = new double[k];
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, o.logits()[i * k + c]);
            }
            double sum = 0;
            for (int c = 0; c < k; c++) {
                prob[c] = Math.exp(o.logits()[i * k + c] - max);
                sum += prob[c];
            }
            float[] analytic = new float[p];
            for (int q = 0; q < p; q++) {
                double g = 0;
                for (int c = 0; c < k; c++) {
                    g += w[c][q] * (prob[c] / sum - 1.0 / k);
                }
                analytic[q] = (float) g;
            }
            float[] got = java.util.Arrays.copyOfRange(o.gradients(), i * d + offset, i * d + offset + p);
            double err = relErr(got, analytic);
            assertTrue(err < 1e-5, "sample " + i + ": pooled gradient differs from W^T(softmax - 1/K) by " + err);
        }
    }

    @Test
    void concurrentExtractionFromSeveralThreadsGivesTheSameRecords() throws Exception {
        FeatureExtractor fx = new FeatureExtractor(model,
                ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE), 4);
        List<FeatureExtractor.Result> reference = fx.extract(items);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<FeatureExtractor.Result>>> runs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                runs.add(pool.submit(() -> fx.extract(items)));
            }
            for (Future<List<FeatureExtractor.Result>> f : runs) {
                List<FeatureExtractor.Result> got = f.get();
                for (int i = 0; i < items.size(); i++) {
                    assertArrayEquals(reference.get(i).record().u(), got.get(i).record().u(), 1e-6f);
                    assertArrayEquals(reference.get(i).record().logits(), got.get(i).record().logits(), 1e-6f);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badItemsInABatchAreRejectedByNameAndTheRestIsScored() {
        FeatureExtractor fx = new FeatureExtractor(model,
                ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE), 8);
        List<FeatureExtractor.Item> mixed = new ArrayList<>(items.subList(0, 3));
        mixed.add(1, new FeatureExtractor.Item("broken.png", new byte[]{1, 2, 3, 4}));
        List<FeatureExtractor.Result> res = fx.extract(mixed);
        assertEquals(4, res.size());
        assertTrue(res.get(1).rejected());
        assertEquals("broken.png", res.get(1).rejection().id());
        for (int i : new int[]{0, 2, 3}) {
            assertFalse(res.get(i).rejected());
            assertEquals(mixed.get(i).id(), res.get(i).record().id());
        }
    }
}

package ai.sisom.evaluation;

import ai.sisom.posthoc.OodPostprocessors;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import static ai.sisom.evaluation.OodMetricsTest.arr;
import static org.junit.jupiter.api.Assertions.*;

class OodPostprocessorsTest {
    private static double[][] matrix(JsonArray a) {
        double[][] m = new double[a.size()][];
        for (int i = 0; i < m.length; i++) {
            m[i] = arr(a.get(i).getAsJsonArray());
        }
        return m;
    }

    @Test
    void everyBaselineMatchesItsOpenOodTranscription() throws Exception {
        JsonObject g = OodMetricsTest.golden().getAsJsonObject("postprocessors"); // bench/python/make_ood_golden.py
        OodPostprocessors.Head head = new OodPostprocessors.Head(matrix(g.getAsJsonArray("weight")),
                arr(g.getAsJsonArray("bias")));
        double[][] fit = matrix(g.getAsJsonArray("fit"));
        double[] fl = arr(g.getAsJsonArray("fitLabels"));
        int[] labels = new int[fl.length];
        for (int i = 0; i < labels.length; i++) labels[i] = (int) fl[i];
        double[][] test = matrix(g.getAsJsonArray("test"));
        var knn = new OodPostprocessors.Knn(fit, g.get("knnK").getAsInt());
        var maha = new OodPostprocessors.Mahalanobis(fit, labels, head.bias().length);
        var react = new OodPostprocessors.ReAct(fit, head, 90);
        var vim = new OodPostprocessors.Vim(fit, head, g.get("vimDim").getAsInt());
        assertEquals(g.get("reactThreshold").getAsDouble(), react.threshold(), 1e-12);
        assertEquals(g.get("vimAlpha").getAsDouble(), vim.alpha(), 1e-9);
        for (int i = 0; i < test.length; i++) {
            double[] x = test[i];
            double[] l = head.logits(x);
            String s = "test sample " + i;
            assertEquals(at(g, "msp", i), OodPostprocessors.msp(l), 1e-12, s);
            assertEquals(at(g, "maxLogit", i), OodPostprocessors.maxLogit(l), 1e-12, s);
            assertEquals(at(g, "energy", i), OodPostprocessors.energy(l), 1e-12, s);
            assertEquals(at(g, "gen", i), OodPostprocessors.gen(l, 0.1, 10), 1e-12, s);
            assertEquals(at(g, "knn", i), knn.score(x), 1e-12, s);
            assertEquals(at(g, "mahalanobis", i), maha.score(x), 1e-8, s);
            assertEquals((int) at(g, "mahalanobisClass", i), maha.nearestClass(x), s);
            assertEquals(at(g, "react", i), react.score(x), 1e-12, s);
            assertEquals(at(g, "ashS", i), OodPostprocessors.ash(x, head, 90, false), 1e-9, s);
            assertEquals(at(g, "ashB", i), OodPostprocessors.ash(x, head, 90, true), 1e-9, s);
            assertEquals(at(g, "vim", i), vim.score(x), 1e-9, s);
        }
    }

    @Test
    void logitScoresFollowTheirFormulasOnAHandCheckableExample() {
        double[] l = {Math.log(1), Math.log(3)}; // softmax = (0.25, 0.75)
        assertEquals(0.75, OodPostprocessors.msp(l), 1e-15);
        assertEquals(Math.log(3), OodPostprocessors.maxLogit(l), 1e-15);
        assertEquals(Math.log(4), OodPostprocessors.energy(l), 1e-15);
        double gen = -(Math.pow(0.75 * 0.25, 0.1) + Math.pow(0.25 * 0.75, 0.1));
        assertEquals(gen, OodPostprocessors.gen(l, 0.1, 10), 1e-15);
        // with M = 1 only the top probability counts
        assertEquals(-Math.pow(0.75 * 0.25, 0.1), OodPostprocessors.gen(l, 0.1, 1), 1e-15);
    }

    @Test
    void mahalanobisEqualsTheDirectDistanceForAnIdentityCovariance() {
        // two classes at (0,0) and (4,0); class-centred points (+-1, 0), (0, +-1) give covariance I/2, precision 2I
        double[][] fit = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {5, 0}, {3, 0}, {4, 1}, {4, -1}};
        int[] labels = {0, 0, 0, 0, 1, 1, 1, 1};
        var m = new OodPostprocessors.Mahalanobis(fit, labels, 2);
        assertEquals(-2 * (1 + 1), m.score(new double[]{1, 1}), 1e-12);
        assertEquals(1, m.nearestClass(new double[]{3, 0}));
        assertEquals(-2 * 1.0, m.score(new double[]{3, 0}), 1e-12);
    }

    @Test
    void badShapesAndSettingsAreRefusedWithAMessage() {
        var head = new OodPostprocessors.Head(new double[][]{{1, 0}, {0, 1}}, new double[]{0, 0});
        var e = assertThrows(IllegalArgumentException.class, () -> head.logits(new double[]{1, 2, 3}));
        assertTrue(e.getMessage().contains("expects 2 features"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new OodPostprocessors.Knn(new double[][]{{1}}, 2));
        assertThrows(IllegalArgumentException.class, () -> new OodPostprocessors.Vim(new double[][]{{1, 2}}, head, 2));
        assertThrows(IllegalArgumentException.class,
                () -> new OodPostprocessors.Mahalanobis(new double[][]{{1, 2}}, new int[]{0}, 2));
    }

    private static double at(JsonObject g, String key, int i) {
        return g.getAsJsonArray(key).get(i).getAsDouble();
    }
}

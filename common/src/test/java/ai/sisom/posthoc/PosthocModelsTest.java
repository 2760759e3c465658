package ai.sisom.posthoc;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PosthocModelsTest {
    static final int K = 4;
    static final int P = 12;

    record Data(List<float[]> fit, int[] labels, OodPostprocessors.Head head, float[][] logits, float[][] pen) {}

    /** Class-clustered non-negative features (post-ReLU, as a CNN's pooled features are) and a random head. */
    static Data data(int n, int queries, long seed) {
        Random rnd = new Random(seed);
        double[][] centres = new double[K][P];
        for (double[] c : centres) {
            for (int j = 0; j < P; j++) {
                c[j] = 2 * rnd.nextDouble();
            }
        }
        double[][] w = new double[K][P];
        double[] b = new double[K];
        for (int k = 0; k < K; k++) {
            b[k] = rnd.nextGaussian();
            for (int j = 0; j < P; j++) {
                w[k][j] = rnd.nextGaussian();
            }
        }
        var head = new OodPostprocessors.Head(w, b);
        List<float[]> fit = new ArrayList<>();
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % K;
            fit.add(feature(rnd, centres[labels[i]]));
        }
        float[][] pen = new float[queries][];
        float[][] logits = new float[queries][];
        for (int i = 0; i < queries; i++) {
            // a third far from every class: the OOD-like queries
            pen[i] = i % 3 == 0 ? feature(rnd, new double[P]) : feature(rnd, centres[i % K]);
            double[] x = new double[P];
            for (int j = 0; j < P; j++) {
                x[j] = pen[i][j];
            }
            double[] l = head.logits(x);
            logits[i] = new float[K];
            for (int k = 0; k < K; k++) {
                logits[i][k] = (float) l[k];
            }
        }
        return new Data(fit, labels, head, logits, pen);
    }

    static float[] feature(Random rnd, double[] centre) {
        float[] f = new float[P];
        for (int j = 0; j < P; j++) {
            f[j] = (float) Math.max(0, centre[j] + 0.5 * rnd.nextGaussian());
        }
        return f;
    }

    static double[] d(float[] f) {
        double[] x = new double[f.length];
        for (int j = 0; j < f.length; j++) {
            x[j] = f[j];
        }
        return x;
    }

    static double[][] fitX(Data t) {
        return t.fit().stream().map(PosthocModelsTest::d).toArray(double[][]::new);
    }

    @Test
    void batchScoresAreTheOpenOodTranscriptionsPerSample() {
        for (int n : new int[]{300, 2600}) { // k = 1 and k = 3
            Data t = data(n, 90, n);
            PosthocModels m = PosthocModels.fit(t.fit(), t.labels(), K, t.head());
            double[][] got = m.score(EnumSet.allOf(PosthocMethod.class), t.logits(), t.pen(), Device.cpu());
            double[][] x = fitX(t);
            int k = PosthocModels.knnK(n);
            assertEquals(n == 300 ? 1 : 3, k);
            var knn = new OodPostprocessors.Knn(x, k);
            var maha = new OodPostprocessors.Mahalanobis(x, t.labels(), K);
            var react = new OodPostprocessors.ReAct(x, t.head(), 90);
            var vim = new OodPostprocessors.Vim(x, t.head(), P / 2);
            for (int i = 0; i < t.logits().length; i++) {
                double[] l = d(t.logits()[i]);
                double[] p = d(t.pen()[i]);
                double[] g = got[i];
                String s = "sample " + i + ", n " + n;
                assertEquals(OodPostprocessors.msp(l), g[PosthocMethod.MSP.ordinal()], 1e-12, s);
                assertEquals(OodPostprocessors.maxLogit(l), g[PosthocMethod.MAXLOGIT.ordinal()], 1e-12, s);
                assertEquals(OodPostprocessors.energy(l), g[PosthocMethod.ENERGY.ordinal()], 1e-12, s);
                assertEquals(OodPostprocessors.gen(l, 0.1, 100), g[PosthocMethod.GEN.ordinal()], 1e-12, s);
                assertEquals(OodPostprocessors.negEntropy(l), g[PosthocMethod.ENTROPY.ordinal()], 1e-12, s);
                assertEquals(OodPostprocessors.margin(l), g[PosthocMethod.MARGIN.ordinal()], 1e-12, s);
                // KNN ranks by a float32 product and measures the k-th neighbour in double
                assertEquals(knn.score(p), g[PosthocMethod.KNN.ordinal()], 1e-6, s);
                assertEquals(maha.score(p), g[PosthocMethod.MAHALANOBIS.ordinal()], 1e-9, s);
                assertEquals(react.score(p), g[PosthocMethod.REACT.ordinal()], 1e-12, s);
                assertEquals(OodPostprocessors.ash(p, t.head(), 90, true), g[PosthocMethod.ASH.ordinal()], 1e-12, s);
                assertEquals(vim.score(p), g[PosthocMethod.VIM.ordinal()], 1e-9, s);
            }
        }
    }

    @Test
    void theFarQueriesScoreLowerOnEveryFittedMethod() {
        Data t = data(400, 90, 5);
        PosthocModels m = PosthocModels.fit(t.fit(), t.labels(), K, t.head());
        double[][] got = m.score(EnumSet.of(PosthocMethod.KNN, PosthocMethod.MAHALANOBIS, PosthocMethod.VIM),
                t.logits(), t.pen(), Device.cpu());
        for (PosthocMethod p : List.of(PosthocMethod.KNN, PosthocMethod.MAHALANOBIS, PosthocMethod.VIM)) {
            double far = 0;
            double near = 0;
            for (int i = 0; i < got.length; i++) {
                if (i % 3 == 0) {
                    far += got[i][p.ordinal()] / 30;
                } else {
                    near += got[i][p.ordinal()] / 60;
                }
                if (p == PosthocMethod.KNN) {
                    assertTrue(Double.isNaN(got[i][PosthocMethod.MSP.ordinal()]), "not requested: NaN");
                }
            }
            assertTrue(far < near, p + ": far " + far + " vs near " + near);
        }
    }

    @Test
    void fitSamplesLeaveThemselvesOutOfKnn() {
        Data t = data(2600, 0, 6);
        PosthocModels m = PosthocModels.fit(t.fit(), t.labels(), K, t.head());
        float[][] pen = t.fit().subList(0, 20).toArray(new float[0][]);
        float[][] logits = new float[20][K];
        double[][] got = m.score(EnumSet.of(PosthocMethod.KNN), logits, pen, Device.cpu(), true);
        double[][] x = fitX(t);
        for (int i = 0; i < 20; i++) {
            double[][] others = new double[x.length - 1][];
            for (int a = 0, o = 0; a < x.length; a++) {
                if (a != i) {
                    others[o++] = x[a];
                }
            }
            assertEquals(new OodPostprocessors.Knn(others, 3).score(x[i]), got[i][PosthocMethod.KNN.ordinal()], 1e-6,
                    "labeled sample " + i + " without itself");
        }
    }

    @Test
    void theArtifactRoundTripGivesIdenticalScores() throws Exception {
        Data t = data(500, 40, 7);
        PosthocModels m = PosthocModels.fit(t.fit(), t.labels(), K, t.head());
        ByteArrayOutputStream bin = new ByteArrayOutputStream();
        m.write(new DataOutputStream(bin));
        PosthocModels back = PosthocModels.read(new DataInputStream(new ByteArrayInputStream(bin.toByteArray())));
        var all = EnumSet.allOf(PosthocMethod.class);
        double[][] a = m.score(all, t.logits(), t.pen(), Device.cpu());
        double[][] b = back.score(all, t.logits(), t.pen(), Device.cpu());
        for (int i = 0; i < a.length; i++) {
            assertArrayEquals(a[i], b[i], 0.0, "sample " + i);
        }
        assertEquals(m.summary(), back.summary());
        assertEquals(t.fit().size(), back.labeledPenultimate().length);
        assertArrayEquals(t.fit().get(3), back.labeledPenultimate()[3]);
        byte[] broken = bin.toByteArray().clone();
        broken[0] ^= 1;
        Exception e = assertThrows(java.io.IOException.class, () -> PosthocModels.read(new DataInputStream(
                new ByteArrayInputStream(broken))));
        assertTrue(e.getMessage().contains("post-hoc"), e.getMessage());
    }

    @Test
    void withoutTheHeadReactAshAndVimAreRefusedAndTheOthersWork() {
        Data t = data(300, 10, 8);
        PosthocModels m = PosthocModels.fit(t.fit(), t.labels(), K, null);
        for (PosthocMethod p : PosthocMethod.values()) {
            assertEquals(!p.needsHead(), m.has(p), p.label());
        }
        assertFalse(m.available().contains(PosthocMethod.VIM));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.score(
                EnumSet.of(PosthocMethod.VIM), t.logits(), t.pen(), Device.cpu()));
        assertTrue(e.getMessage().contains("'vim'") && e.getMessage().contains("final linear layer"), e.getMessage());
        double[][] ok = m.score(EnumSet.of(PosthocMethod.KNN, PosthocMethod.MSP), t.logits(), t.pen(), Device.cpu());
        assertTrue(Arrays.stream(ok).allMatch(r -> Double.isFinite(r[PosthocMethod.KNN.ordinal()])));
    }

    @Test
    void aHeadOfTheWrongShapeIsRefused() {
        Data t = data(300, 0, 9);
        var wrong = new OodPostprocessors.Head(new double[K][P + 1], new double[K]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PosthocModels.fit(t.fit(), t.labels(), K, wrong));
        assertTrue(e.getMessage().contains(P + 1 + "") && e.getMessage().contains("penultimate"), e.getMessage());
    }

    @Test
    void entropyAndMarginAreTheUncertaintyBaselines() {
        double[] uniform = {0, 0, 0, 0};
        assertEquals(-Math.log(4), OodPostprocessors.negEntropy(uniform), 1e-15);
        assertEquals(0, OodPostprocessors.margin(uniform), 1e-15);
        double[] l = {Math.log(6), Math.log(3), Math.log(1)};
        assertEquals(0.6 - 0.3, OodPostprocessors.margin(l), 1e-15);
        assertEquals(0.6 * Math.log(0.6) + 0.3 * Math.log(0.3) + 0.1 * Math.log(0.1), OodPostprocessors.negEntropy(l),
                1e-15);
        // a saturated softmax: 0 log 0 counts as 0, not NaN
        assertEquals(0, OodPostprocessors.negEntropy(new double[]{0, -2000}), 1e-300);
    }
}

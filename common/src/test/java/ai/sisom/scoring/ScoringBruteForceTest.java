package ai.sisom.scoring;

import ai.sisom.reference.DOutVariant;
import ai.sisom.reference.Ratio;
import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.ReferenceStats;
import ai.sisom.reference.SisomReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Distances, ratios, statistics and fusion against the naive re-implementation, on random data. */
class ScoringBruteForceTest {
    static final int K = 4;
    static final int[] OFFSETS = {0, 3, 8, 12};
    static final double[] ALPHAS = {2.0, 0.5, 7.0};
    static final List<String> CLASSES = List.of("a", "b", "c", "d");
    static final List<String> LAYERS = List.of("l1", "l2", "l3");

    static LabeledSet randomLabeled(Random rnd, int n) {
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        List<float[]> pen = new ArrayList<>();
        int[] labels = new int[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            ids.add(String.format("L%03d", (i * 37) % n)); // ids not in index order
            labels[i] = i % K;
            float[] x = new float[12];
            for (int k = 0; k < 12; k++) {
                x[k] = (float) (rnd.nextGaussian() * 0.5 + (k % K == labels[i] ? 0.8 : 0));
            }
            u.add(x);
            pen.add(x.clone());
            e[i] = -3 - rnd.nextDouble() * 2;
        }
        return new LabeledSet(ids, labels, u, e, pen);
    }

    static SisomReference build(LabeledSet l, DOutVariant v) {
        double[][] grid = new double[ALPHAS.length][];
        for (int j = 0; j < grid.length; j++) {
            grid[j] = new double[]{ALPHAS[j]};
        }
        return SisomReference.build(l, CLASSES, LAYERS, OFFSETS, new SisomReference.Settings(grid, v, null, null));
    }

    static List<float[]> z(LabeledSet l) {
        List<float[]> z = new ArrayList<>();
        l.u().forEach(u -> z.add(BruteForce.sigmoid(u, ALPHAS, OFFSETS)));
        return z;
    }

    @ParameterizedTest
    @EnumSource(DOutVariant.class)
    void leaveOneOutStatisticsMatchBruteForce(DOutVariant v) {
        LabeledSet l = randomLabeled(new Random(1), 60);
        ReferenceStats st = build(l, v).stats();
        double[] want = BruteForce.stats(z(l), l.labels(), l.energies(), v == DOutVariant.ANCHOR);
        assertEquals(want[0], st.rAvg(), 1e-12);
        assertEquals(want[1], st.sigmaR(), 1e-12);
        assertEquals(want[2], st.muE(), 1e-12);
        assertEquals(want[3], st.sigmaE(), 1e-12);
        assertEquals(60, st.n());
    }

    @ParameterizedTest
    @EnumSource(DOutVariant.class)
    void statisticsAndBatchScoresThroughTheLibtorchKernelMatchBruteForce(DOutVariant v) {
        // 520 x 520 pairs: above the size where the batched kernel takes over from the scalar search
        Random rnd = new Random(8);
        LabeledSet l = randomLabeled(rnd, 520);
        SisomReference ref = build(l, v);
        double[] want = BruteForce.stats(z(l), l.labels(), l.energies(), v == DOutVariant.ANCHOR);
        assertEquals(want[0], ref.stats().rAvg(), 1e-12);
        assertEquals(want[1], ref.stats().sigmaR(), 1e-12);
        SisomScorer scorer = new SisomScorer(ref, new Fusion(Fusion.Score.SISOME, null));
        int n = 500;
        float[] u = new float[n * 12];
        int[] pc = new int[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 12; k++) {
                u[i * 12 + k] = (float) rnd.nextGaussian();
            }
            pc[i] = rnd.nextInt(K);
            e[i] = -rnd.nextDouble() * 5;
        }
        SisomScorer.Scored[] batch = scorer.scoreBatch(u, n, pc, e);
        for (int i = 0; i < n; i++) {
            assertEquals(scorer.score(java.util.Arrays.copyOfRange(u, i * 12, (i + 1) * 12), pc[i], e[i]), batch[i]);
        }
    }

    @ParameterizedTest
    @EnumSource(DOutVariant.class)
    void poolScoresMatchBruteForce(DOutVariant v) {
        Random rnd = new Random(2);
        LabeledSet l = randomLabeled(rnd, 48);
        SisomReference ref = build(l, v);
        List<float[]> zl = z(l);
        for (Double lambda : new Double[]{null, 0.1}) {
            SisomScorer scorer = new SisomScorer(ref, new Fusion(Fusion.Score.SISOME, lambda));
            double[] st = BruteForce.stats(zl, l.labels(), l.energies(), v == DOutVariant.ANCHOR);
            for (int s = 0; s < 30; s++) {
                float[] u = new float[12];
                for (int k = 0; k < 12; k++) {
                    u[k] = (float) rnd.nextGaussian();
                }
                int pc = rnd.nextInt(K);
                double energy = -2 - rnd.nextDouble() * 4;
                SisomScorer.Scored got = scorer.score(u, pc, energy);
                double[] want = BruteForce.ratio(BruteForce.sigmoid(u, ALPHAS, OFFSETS), pc, zl, l.labels(), -1,
                        v == DOutVariant.ANCHOR);
                assertEquals(want[0], got.dIn(), 1e-12);
                assertEquals(want[1], got.dOut(), 1e-12);
                assertEquals(want[2], got.r(), 1e-12);
                assertEquals(l.ids().get((int) want[3]), got.nearestInId());
                assertEquals(l.ids().get((int) want[4]), got.nearestOutId());
                double sisom = (want[2] - st[0]) / st[1];
                double w = lambda == null ? st[0] : lambda;
                double sisome = Math.min(w, 1) * (energy - st[2]) / st[3] + Math.max(1 - w, 0) * sisom;
                assertEquals(sisom, got.sisom(), 1e-9);
                assertEquals(sisome, got.sisome(), 1e-9);
                assertEquals(sisome, got.score(), 0);
                assertEquals(-sisome, got.oodScore(), 0);
            }
        }
    }

    @Test
    void zeroDOutGivesTheReferenceCodesRatioAndIsCounted() {
        // two labeled points of different classes at the same place: their d_out is 0
        List<float[]> u = List.of(new float[]{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                new float[]{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, new float[]{1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                new float[]{3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, new float[]{0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2},
                new float[]{0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 2}, new float[]{0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 2},
                new float[]{0, 0, 1, 0, 0, 4, 0, 0, 0, 0, 0, 2});
        int[] labels = {0, 1, 0, 1, 2, 2, 3, 3};
        List<String> ids = List.of("a", "b", "c", "d", "e", "f", "g", "h");
        LabeledSet l = new LabeledSet(ids, labels, u, new double[]{-1, -2, -3, -4, -5, -6, -7, -8}, u);
        ReferenceStats st = build(l, DOutVariant.SAMPLE).stats();
        assertEquals(2, st.dOutZero());
        double[] want = BruteForce.stats(z(l), labels, l.energies(), false);
        assertEquals(want[0], st.rAvg(), 1e-12);
    }

    @Test
    void aClassWithoutReferenceSamplesIsAnErrorNamingIt() {
        LabeledSet l = randomLabeled(new Random(3), 12);
        int[] labels = l.labels().clone();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] == 2) {
                labels[i] = 1;
            }
        }
        LabeledSet missing = new LabeledSet(l.ids(), labels, l.u(), l.energies(), l.penultimate());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> build(missing, DOutVariant.SAMPLE));
        assertTrue(e.getMessage().contains("[c]"), e.getMessage());
    }

    @Test
    void aSingleSampleClassCannotBeLeftOut() {
        LabeledSet l = randomLabeled(new Random(4), 9); // class 0 has 3 samples ... make class 3 a singleton
        int[] labels = {0, 1, 2, 3, 0, 1, 2, 0, 1};
        LabeledSet single = new LabeledSet(l.ids(), labels, l.u(), l.energies(), l.penultimate());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> build(single, DOutVariant.SAMPLE));
        assertTrue(e.getMessage().contains("'d'") && e.getMessage().contains("leave-one-out"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(DOutVariant.class)
    void theArtifactRoundTripsExactly(DOutVariant v) throws Exception {
        LabeledSet l = randomLabeled(new Random(5), 40);
        SisomReference ref = build(l, v);
        StringWriter json = new StringWriter();
        ref.writeJson(json);
        ByteArrayOutputStream bin = new ByteArrayOutputStream();
        ref.writePoints(new DataOutputStream(bin));
        SisomReference back = SisomReference.read(new StringReader(json.toString()),
                new DataInputStream(new ByteArrayInputStream(bin.toByteArray())));
        assertEquals(ref.stats(), back.stats());
        assertEquals(ref.variant(), back.variant());
        assertArrayEquals(ref.steepness().alphas(), back.steepness().alphas());
        Fusion f = new Fusion(Fusion.Score.SISOME, null);
        Random rnd = new Random(6);
        for (int s = 0; s < 10; s++) {
            float[] u = new float[12];
            for (int k = 0; k < 12; k++) {
                u[k] = (float) rnd.nextGaussian();
            }
            assertEquals(new SisomScorer(ref, f).score(u, s % K, -3), new SisomScorer(back, f).score(u, s % K, -3));
        }
        String broken = json.toString().replace("\"formatVersion\": 3", "\"formatVersion\": 9");
        Exception e = assertThrows(java.io.IOException.class, () -> SisomReference.read(new StringReader(broken),
                new DataInputStream(new ByteArrayInputStream(bin.toByteArray()))));
        assertTrue(e.getMessage().contains("version 9"), e.getMessage());
    }
}

package ai.sisom.ood;

import ai.sisom.reference.DOutVariant;
import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.OodMetric;
import ai.sisom.reference.OodThreshold;
import ai.sisom.reference.ReferenceStats;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.BruteForce;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.SisomScorer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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

/**
 * The OOD calibration against a naive re-implementation: every labeled in-distribution sample scored with its
 * predicted class against R without it (rebuilt from scratch), unknowns scored as pool samples; then the modes, the
 * automatic metric choice, the artifact and the errors.
 */
class OodCalibrationTest {
    static final int K = 4;
    static final int[] OFFSETS = {0, 3, 8, 12};
    static final double[] ALPHAS = {2.0, 0.5, 7.0};
    static final List<String> CLASSES = List.of("a", "b", "c", "d");
    static final List<String> LAYERS = List.of("l1", "l2", "l3");
    static final Fusion SISOME = new Fusion(Fusion.Score.SISOME, null);

    static float[] feature(Random rnd, int cls, double spread, double offset) {
        float[] x = new float[12];
        for (int k = 0; k < 12; k++) {
            x[k] = (float) (rnd.nextGaussian() * spread + (cls >= 0 && k % K == cls ? 0.8 : 0) + offset);
        }
        return x;
    }

    /** n class samples (every 7th predicted as the next class) and m unknowns, far off and with high energy. */
    static LabeledSet labeled(Random rnd, int n, int m) {
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        int[] labels = new int[n];
        int[] pseudo = new int[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            ids.add(String.format("L%03d", (i * 37) % n));
            labels[i] = i % K;
            pseudo[i] = i % 7 == 3 ? (labels[i] + 1) % K : labels[i];
            u.add(feature(rnd, labels[i], 0.5, 0));
            e[i] = -3 - rnd.nextDouble() * 2;
        }
        List<String> uIds = new ArrayList<>();
        List<String> uLabels = new ArrayList<>();
        List<float[]> uu = new ArrayList<>();
        double[] ue = new double[m];
        int[] up = new int[m];
        for (int j = 0; j < m; j++) {
            uIds.add(String.format("U%03d", j));
            uLabels.add(j % 2 == 0 ? "unknown" : "junk");
            uu.add(feature(rnd, -1, 1.2, 0.6));
            ue[j] = -1.5 - rnd.nextDouble() * 2;
            up[j] = j % K;
        }
        return new LabeledSet(ids, labels, u, e, new ArrayList<>(u), pseudo,
                m == 0 ? LabeledSet.Unknowns.NONE : new LabeledSet.Unknowns(uIds, uLabels, uu, ue, up));
    }

    static SisomReference.Settings settings(DOutVariant v, boolean subset) {
        double[][] grid = new double[ALPHAS.length][];
        for (int j = 0; j < grid.length; j++) {
            grid[j] = new double[]{ALPHAS[j]};
        }
        return new SisomReference.Settings(grid, v, subset ? 1.5 : null, subset ? 24 : null);
    }

    static float[] z(float[] u) {
        return BruteForce.sigmoid(u, ALPHAS, OFFSETS);
    }

    /** The metrics computed from distances and energy (the post-hoc ones need logits and penultimate features). */
    static final List<OodMetric> SISOM_FAMILY = java.util.Arrays.stream(OodMetric.values())
            .filter(m -> m.posthoc() == null).toList();

    static double metric(OodMetric m, double[] ratio, double energy, ReferenceStats st) {
        double r = ratio[2];
        return switch (m) {
            case SISOM -> (r - st.rAvg()) / st.sigmaR();
            case SISOME -> Math.min(st.rAvg(), 1) * (energy - st.muE()) / st.sigmaE()
                    + Math.max(1 - st.rAvg(), 0) * (r - st.rAvg()) / st.sigmaR();
            case ENERGY -> energy;
            case RATIO -> r;
            case AB -> ratio[0] + ratio[1];
            default -> throw new AssertionError("not a SISOM-family metric: " + m);
        };
    }

    /** The reference points (subset or all) as brute-force lists, with their labeled-set index. */
    record Points(List<float[]> z, int[] labels, int[] source) {}

    static Points points(SisomReference ref) {
        List<float[]> z = new ArrayList<>();
        List<Integer> lab = new ArrayList<>();
        List<Integer> src = new ArrayList<>();
        for (int c = 0; c < K; c++) {
            for (int r = 0; r < ref.set().size(c); r++) {
                z.add(ref.set().point(c, r));
                lab.add(c);
                src.add(ref.set().sourceIndex(c, r));
            }
        }
        return new Points(z, lab.stream().mapToInt(Integer::intValue).toArray(),
                src.stream().mapToInt(Integer::intValue).toArray());
    }

    @ParameterizedTest
    @EnumSource(DOutVariant.class)
    void labeledSamplesAreScoredAsPoolSamplesWithThemselvesOutOfTheReference(DOutVariant v) {
        for (boolean subset : new boolean[]{false, true}) {
            LabeledSet l = labeled(new Random(3), 80, 9);
            SisomReference ref = SisomReference.build(l, CLASSES, LAYERS, OFFSETS, settings(v, subset));
            OodCalibration.Values got = OodCalibration.values(ref, l, null);
            Points p = points(ref);
            ReferenceStats st = ref.stats();
            int misclassified = 0;
            for (int i = 0; i < l.size(); i++) {
                // R without sample i, from scratch
                List<float[]> pts = new ArrayList<>();
                List<Integer> lab = new ArrayList<>();
                for (int k = 0; k < p.z().size(); k++) {
                    if (p.source()[k] != i) {
                        pts.add(p.z().get(k));
                        lab.add(p.labels()[k]);
                    }
                }
                double[] want = BruteForce.ratio(z(l.u().get(i)), l.pseudoClasses()[i], pts,
                        lab.stream().mapToInt(Integer::intValue).toArray(), -1, v == DOutVariant.ANCHOR);
                for (OodMetric m : SISOM_FAMILY) {
                    assertEquals(metric(m, want, l.energies()[i], st), got.inDistribution(m)[i], 1e-12,
                            m + " of labeled sample " + i + " (subset " + subset + ")");
                }
                misclassified += l.pseudoClasses()[i] != l.labels()[i] ? 1 : 0;
            }
            assertTrue(misclassified >= 10, "the test needs samples predicted as another class");
            for (int j = 0; j < l.unknowns().size(); j++) {
                double[] want = BruteForce.ratio(z(l.unknowns().u().get(j)), l.unknowns().pseudoClasses()[j], p.z(),
                        p.labels(), -1, v == DOutVariant.ANCHOR);
                for (OodMetric m : SISOM_FAMILY) {
                    assertEquals(metric(m, want, l.unknowns().energies()[j], st), got.unknown(m)[j], 1e-12,
                            m + " of unknown " + j);
                }
            }
        }
    }

    @Test
    void autoIsYoudenOnTheBestSeparatingMetricWithUnknownsAndKeepOnTheScoreWithout() {
        LabeledSet l = labeled(new Random(4), 80, 12);
        SisomReference ref = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, settings(DOutVariant.SAMPLE, false),
                OodCalibration.Spec.defaults(SISOME));
        OodThreshold t = ref.ood();
        assertEquals(OodThreshold.Mode.YOUDEN, t.mode());
        assertEquals(80, t.inDistribution());
        assertEquals(12, t.unknown());
        assertEquals(List.of(OodMetric.SISOME, OodMetric.ENERGY, OodMetric.RATIO, OodMetric.AB),
                t.candidates().stream().map(OodThreshold.Candidate::metric).toList());
        OodThreshold.Candidate best = t.candidates().get(0);
        for (OodThreshold.Candidate c : t.candidates()) {
            if (c.youdenJ() > best.youdenJ()) {
                best = c;
            }
        }
        assertEquals(best.metric(), t.metric());
        OodCalibration.Values v = OodCalibration.values(ref, l, null);
        Thresholds.Cut cut = Thresholds.youden(v.inDistribution(t.metric()), v.unknown(t.metric()));
        assertEquals(cut.value(), t.value());
        assertEquals(cut.youdenJ(), t.youdenJ());
        assertEquals(cut.unknownsFlagged(), t.unknownsFlagged());

        SisomReference none = OodCalibration.build(l.withUnknowns(LabeledSet.Unknowns.NONE), CLASSES, LAYERS, OFFSETS,
                settings(DOutVariant.SAMPLE, false), OodCalibration.Spec.defaults(SISOME));
        assertEquals(OodThreshold.Mode.KEEP_SHARE, none.ood().mode());
        assertEquals(OodMetric.SISOME, none.ood().metric());
        assertEquals(0.95, none.ood().keepShare());
        assertNull(none.ood().youdenJ());
        assertEquals(Thresholds.keepShare(v.inDistribution(OodMetric.SISOME), 0.95, new double[0]).value(),
                none.ood().value());
        // the unknowns never enter R or the statistics
        assertEquals(none.stats(), ref.stats());
        assertEquals(none.set().size(), ref.set().size());
    }

    @Test
    void fixedThresholdsAndNamedMetricsAreTakenAsGiven() {
        LabeledSet l = labeled(new Random(5), 60, 6);
        var s = settings(DOutVariant.ANCHOR, false);
        OodThreshold fixed = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, s, new OodCalibration.Spec(
                OodCalibration.Mode.AUTO, -2.5, OodCalibration.MetricChoice.ENERGY, 0.95, SISOME)).ood();
        assertEquals(OodThreshold.Mode.FIXED, fixed.mode());
        assertEquals(-2.5, fixed.value());
        assertEquals(OodMetric.ENERGY, fixed.metric());
        double flaggedIn = 0;
        for (double e : l.energies()) {
            flaggedIn += e > -2.5 ? 1.0 / l.size() : 0;
        }
        assertEquals(flaggedIn, fixed.inDistributionFlagged(), 1e-12);
        OodThreshold keepRatio = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, s, new OodCalibration.Spec(
                OodCalibration.Mode.KEEP, null, OodCalibration.MetricChoice.RATIO, 0.8, SISOME)).ood();
        assertEquals(OodThreshold.Mode.KEEP_SHARE, keepRatio.mode());
        assertEquals(OodMetric.RATIO, keepRatio.metric());
        assertTrue(keepRatio.inDistributionFlagged() <= 0.2 + 1e-12);
        // "score" follows the fusion: SISOM ranks, so the threshold is on SISOM; a fixed lambda travels with SISOMe
        OodThreshold sisom = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, s, new OodCalibration.Spec(
                OodCalibration.Mode.YOUDEN, null, OodCalibration.MetricChoice.SCORE, 0.95,
                new Fusion(Fusion.Score.SISOM, 0.1))).ood();
        assertEquals(OodMetric.SISOM, sisom.metric());
        assertNull(sisom.lambda());
        OodThreshold lam = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, s, new OodCalibration.Spec(
                OodCalibration.Mode.YOUDEN, null, OodCalibration.MetricChoice.SISOME, 0.95,
                new Fusion(Fusion.Score.SISOM, 0.1))).ood();
        assertEquals(0.1, lam.lambda());
    }

    @Test
    void poolSamplesAreFlaggedByTheThresholdsOwnMetricWhateverScoreRanks() {
        LabeledSet l = labeled(new Random(6), 60, 8);
        SisomReference ref = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, settings(DOutVariant.SAMPLE, false),
                new OodCalibration.Spec(OodCalibration.Mode.YOUDEN, null, OodCalibration.MetricChoice.SISOME, 0.95,
                        SISOME));
        Random rnd = new Random(7);
        int flagged = 0;
        for (int s = 0; s < 200; s++) {
            float[] u = feature(rnd, s % 3 == 0 ? -1 : s % K, s % 3 == 0 ? 1.2 : 0.5, s % 3 == 0 ? 0.6 : 0);
            double e = s % 3 == 0 ? -2 : -4;
            SisomScorer.Scored a = new SisomScorer(ref, SISOME).score(u, s % K, e);
            SisomScorer.Scored b = new SisomScorer(ref, new Fusion(Fusion.Score.SISOM, 0.3)).score(u, s % K, e);
            assertEquals(a.sisome(), a.oodMetric(), 0);
            assertEquals(a.oodMetric() > ref.ood().value(), a.oodFlag());
            assertEquals(a.oodMetric(), b.oodMetric(), "the ranking score does not move the gate");
            assertEquals(a.oodFlag(), b.oodFlag());
            flagged += a.oodFlag() ? 1 : 0;
        }
        assertTrue(flagged > 20 && flagged < 180, flagged + " flagged");
        SisomScorer.Scored none = new SisomScorer(SisomReference.build(l, CLASSES, LAYERS, OFFSETS,
                settings(DOutVariant.SAMPLE, false)), SISOME).score(feature(rnd, 1, 0.5, 0), 1, -4);
        assertNull(none.oodMetric());
        assertNull(none.oodFlag());
    }

    /** The labeled set of {@link #labeled} with logits from {@code head} applied to its penultimate features (= u). */
    static LabeledSet withLogits(LabeledSet l, ai.sisom.posthoc.OodPostprocessors.Head head) {
        java.util.function.Function<List<float[]>, List<float[]>> logits = pens -> pens.stream().map(p -> {
            double[] x = new double[p.length];
            for (int j = 0; j < p.length; j++) {
                x[j] = p[j];
            }
            double[] z = head.logits(x);
            float[] f = new float[z.length];
            for (int k = 0; k < z.length; k++) {
                f[k] = (float) z[k];
            }
            return f;
        }).toList();
        LabeledSet.Unknowns u = l.unknowns();
        return new LabeledSet(l.ids(), l.labels(), l.u(), l.energies(), l.penultimate(), l.pseudoClasses(),
                new LabeledSet.Unknowns(u.ids(), u.labels(), u.u(), u.energies(), u.pseudoClasses(), u.u(),
                        logits.apply(u.u())), logits.apply(l.penultimate()));
    }

    @Test
    void aPostHocRankingScoreIsTheMetricTheThresholdIsOnAndKnnLeavesEachLabeledSampleOut() {
        Random rnd = new Random(12);
        double[][] w = new double[K][12];
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < 12; j++) {
                w[k][j] = j % K == k ? 2 : rnd.nextGaussian() * 0.1;
            }
        }
        var head = new ai.sisom.posthoc.OodPostprocessors.Head(w, new double[K]);
        LabeledSet l = withLogits(labeled(rnd, 120, 30), head);
        Fusion knn = new Fusion(Fusion.Score.KNN, null);
        SisomReference ref = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, settings(DOutVariant.SAMPLE, false),
                new OodCalibration.Spec(OodCalibration.Mode.YOUDEN, null, OodCalibration.MetricChoice.SCORE, 0.95, knn),
                true, head);
        assertEquals(OodMetric.KNN, ref.ood().metric());
        OodCalibration.Values v = OodCalibration.values(ref, l, null);
        double[][] fit = l.penultimate().stream().map(p -> {
            double[] x = new double[p.length];
            for (int j = 0; j < p.length; j++) {
                x[j] = p[j];
            }
            return x;
        }).toArray(double[][]::new);
        for (int i = 0; i < 10; i++) {
            double[][] others = new double[fit.length - 1][];
            for (int a = 0, o = 0; a < fit.length; a++) {
                if (a != i) {
                    others[o++] = fit[a];
                }
            }
            assertEquals(-new ai.sisom.posthoc.OodPostprocessors.Knn(others, 1).score(fit[i]),
                    v.inDistribution(OodMetric.KNN)[i], 1e-6, "labeled sample " + i + " scored without itself");
        }
        assertEquals(Thresholds.auroc(v.inDistribution(OodMetric.KNN), v.unknown(OodMetric.KNN)), ref.ood().auroc(),
                1e-12, "the threshold's AUROC is KNN's");
        assertEquals(Thresholds.youden(v.inDistribution(OodMetric.KNN), v.unknown(OodMetric.KNN)).value(),
                ref.ood().value(), 0.0);
        // auto compares the post-hoc score with the SISOM family; without the head ReAct, ASH and ViM are NaN only
        SisomReference auto = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, settings(DOutVariant.SAMPLE, false),
                OodCalibration.Spec.defaults(new Fusion(Fusion.Score.MAHALANOBIS, null)), true, null);
        assertEquals(OodMetric.MAHALANOBIS, auto.ood().candidates().get(0).metric());
        OodCalibration.Values headless = OodCalibration.values(auto, l, null);
        assertTrue(Double.isNaN(headless.inDistribution(OodMetric.VIM)[0]));
        assertTrue(Double.isFinite(headless.unknown(OodMetric.MAHALANOBIS)[0]));
        // a post-hoc metric on a reference without post-hoc scorers is refused, naming the metric
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OodCalibration.build(l, CLASSES,
                LAYERS, OFFSETS, settings(DOutVariant.SAMPLE, false), OodCalibration.Spec.defaults(knn)));
        assertTrue(e.getMessage().contains("knn") && e.getMessage().contains("post-hoc"), e.getMessage());
    }

    @Test
    void theThresholdTravelsInTheArtifactAndAVersion1ArtifactReadsWithoutOne() throws Exception {
        LabeledSet l = labeled(new Random(8), 60, 8);
        SisomReference ref = OodCalibration.build(l, CLASSES, LAYERS, OFFSETS, settings(DOutVariant.ANCHOR, false),
                OodCalibration.Spec.defaults(SISOME));
        StringWriter json = new StringWriter();
        ref.writeJson(json);
        ByteArrayOutputStream bin = new ByteArrayOutputStream();
        ref.writePoints(new DataOutputStream(bin));
        assertTrue(json.toString().contains("\"formatVersion\": 3"), json.toString());
        SisomReference back = SisomReference.read(new StringReader(json.toString()),
                new DataInputStream(new ByteArrayInputStream(bin.toByteArray())));
        assertEquals(ref.ood(), back.ood());
        assertEquals(3, back.formatVersion());

        // a version 1 artifact: no "ood", version 1 in both headers
        String v1 = json.toString().replace("\"formatVersion\": 3", "\"formatVersion\": 1")
                .replaceAll("(?s),\\s*\"ood\": \\{.*?\"requested\": \\{[^}]*\\}(,\\s*\"candidates\": \\[[^]]*\\])?\\s*\\}", "");
        assertFalse(v1.contains("\"ood\""), v1);
        byte[] points = bin.toByteArray().clone();
        points[7] = 1; // the version int after the magic
        SisomReference old = SisomReference.read(new StringReader(v1),
                new DataInputStream(new ByteArrayInputStream(points)));
        assertNull(old.ood());
        assertEquals(1, old.formatVersion());
        assertEquals(ref.stats(), old.stats());
        Exception e = assertThrows(java.io.IOException.class, () -> SisomReference.read(new StringReader(
                json.toString().replace("\"formatVersion\": 3", "\"formatVersion\": 4")),
                new DataInputStream(new ByteArrayInputStream(bin.toByteArray()))));
        assertTrue(e.getMessage().contains("version 4"), e.getMessage());
    }

    @Test
    void badLabeledSetsAndModesAreRefusedNamingWhatIsWrong() {
        LabeledSet l = labeled(new Random(9), 40, 0);
        var s = settings(DOutVariant.SAMPLE, false);
        IllegalArgumentException youden = assertThrows(IllegalArgumentException.class, () -> OodCalibration.build(l,
                CLASSES, LAYERS, OFFSETS, s, new OodCalibration.Spec(OodCalibration.Mode.YOUDEN, null,
                        OodCalibration.MetricChoice.SCORE, 0.95, SISOME)));
        assertTrue(youden.getMessage().contains("youden") && youden.getMessage().contains("none"), youden.getMessage());
        IllegalArgumentException share = assertThrows(IllegalArgumentException.class, () -> new OodCalibration.Spec(
                OodCalibration.Mode.KEEP, null, OodCalibration.MetricChoice.SCORE, 1.0, SISOME));
        assertTrue(share.getMessage().contains("keepShare") && share.getMessage().contains("(0, 1)"), share.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new OodCalibration.Spec(OodCalibration.Mode.AUTO, 1.0,
                OodCalibration.MetricChoice.AUTO, 0.95, SISOME));

        LabeledSet withUnknowns = labeled(new Random(10), 40, 5);
        LabeledSet onlyUnknowns = new LabeledSet(List.of(), new int[0], List.of(), new double[0], List.of(), new int[0],
                withUnknowns.unknowns());
        IllegalArgumentException only = assertThrows(IllegalArgumentException.class, () -> OodCalibration.build(
                onlyUnknowns, CLASSES, LAYERS, OFFSETS, s, OodCalibration.Spec.defaults(SISOME)));
        assertTrue(only.getMessage().contains("only unknown-labeled") && only.getMessage().contains("junk"),
                only.getMessage());
        // class d's samples gone, unknowns present
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        List<Integer> lab = new ArrayList<>();
        List<Double> e = new ArrayList<>();
        for (int i = 0; i < withUnknowns.size(); i++) {
            if (withUnknowns.labels()[i] != 3) {
                ids.add(withUnknowns.ids().get(i));
                u.add(withUnknowns.u().get(i));
                lab.add(withUnknowns.labels()[i]);
                e.add(withUnknowns.energies()[i]);
            }
        }
        int[] labels = lab.stream().mapToInt(Integer::intValue).toArray();
        LabeledSet missing = new LabeledSet(ids, labels, u, e.stream().mapToDouble(Double::doubleValue).toArray(), u,
                labels.clone(), withUnknowns.unknowns());
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class, () -> OodCalibration.build(missing,
                CLASSES, LAYERS, OFFSETS, s, OodCalibration.Spec.defaults(SISOME)));
        assertTrue(gap.getMessage().contains("[d]") && gap.getMessage().contains("5 unknown-labeled"), gap.getMessage());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> new LabeledSet(
                withUnknowns.ids(), withUnknowns.labels(), withUnknowns.u(), withUnknowns.energies(),
                withUnknowns.penultimate(), withUnknowns.pseudoClasses(), new LabeledSet.Unknowns(
                List.of(withUnknowns.ids().get(0)), List.of("unknown"), List.of(withUnknowns.u().get(0)),
                new double[]{-1}, new int[]{0})));
        assertTrue(twice.getMessage().contains(withUnknowns.ids().get(0)), twice.getMessage());
    }
}

package ai.sisom.evaluation;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Against bench/python/make_ood_golden.py: scikit-learn's roc_auc_score on numpy's resamples, np.percentile. */
class AurocBootstrapTest {
    private static int[] ints(JsonArray a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsInt();
        }
        return v;
    }

    private static List<double[]> oodSets(JsonObject c) {
        List<double[]> sets = new ArrayList<>();
        for (JsonElement e : c.getAsJsonArray("ood")) {
            sets.add(OodMetricsTest.arr(e.getAsJsonArray()));
        }
        return sets;
    }

    @Test
    void aResampleGivenAsCountsHasScikitLearnsAurocOfTheResampledArraysAndTheIntervalIsNumpysPercentile()
            throws Exception {
        JsonObject c = OodMetricsTest.golden().getAsJsonObject("bootstrap");
        double[] id = OodMetricsTest.arr(c.getAsJsonArray("id"));
        List<double[]> sets = oodSets(c);
        JsonArray draws = c.getAsJsonArray("draws");
        double[][] values = new double[sets.size()][draws.size()];
        for (int s = 0; s < sets.size(); s++) {
            AurocBootstrap.Prepared p = new AurocBootstrap.Prepared(id, sets.get(s));
            // no resampling (every count 1) is the plain AUROC
            int[] ones = new int[id.length];
            java.util.Arrays.fill(ones, 1);
            int[] oodOnes = new int[sets.get(s).length];
            java.util.Arrays.fill(oodOnes, 1);
            assertEquals(c.getAsJsonArray("auroc").get(s).getAsDouble(), p.auroc(ones, oodOnes), 1e-12);
            assertEquals(OodMetrics.auroc(id, sets.get(s)), p.auroc(ones, oodOnes), 1e-12);
            for (int r = 0; r < draws.size(); r++) {
                JsonObject d = draws.get(r).getAsJsonObject();
                int[] idCounts = AurocBootstrap.counts(id.length, ints(d.getAsJsonArray("id")));
                int[] oodCounts = AurocBootstrap.counts(sets.get(s).length,
                        ints(d.getAsJsonArray("ood").get(s).getAsJsonArray()));
                values[s][r] = p.auroc(idCounts, oodCounts);
                assertEquals(d.getAsJsonArray("auroc").get(s).getAsDouble(), values[s][r], 1e-12, "resample " + r);
            }
            double[] ci = AurocBootstrap.interval(values[s], 0.95);
            JsonArray want = c.getAsJsonArray("exactInterval").get(s).getAsJsonArray();
            assertEquals(want.get(0).getAsDouble(), ci[0], 1e-12);
            assertEquals(want.get(1).getAsDouble(), ci[1], 1e-12);
        }
    }

    @Test
    void itsOwnStratifiedResamplesAgreeWithANumpyBootstrapWithinMonteCarloError() throws Exception {
        JsonObject c = OodMetricsTest.golden().getAsJsonObject("bootstrap");
        double[] id = OodMetricsTest.arr(c.getAsJsonArray("id"));
        List<double[]> sets = oodSets(c);
        double[][] res = new AurocBootstrap(1000, 7).resample(id, sets);
        assertEquals(1000, res.length);
        for (int s = 0; s < sets.size(); s++) {
            double[] v = new double[res.length];
            for (int r = 0; r < v.length; r++) {
                v[r] = res[r][s];
            }
            double sd = c.getAsJsonArray("referenceStd").get(s).getAsDouble();
            double mean = java.util.Arrays.stream(v).average().orElseThrow();
            double mySd = Math.sqrt(java.util.Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum() / v.length);
            // the sd of a 1,000-resample standard deviation is about 2 %; resampling only one side would lose ~30 %
            assertEquals(sd, mySd, 0.1 * sd, "bootstrap standard deviation of set " + s);
            // a 2.5 % quantile of 1,000 resamples has a Monte Carlo sd of about 0.09 sd; 0.4 sd is 4.5 of those
            double[] ci = AurocBootstrap.interval(v, 0.95);
            JsonArray want = c.getAsJsonArray("referenceInterval").get(s).getAsJsonArray();
            assertEquals(want.get(0).getAsDouble(), ci[0], 0.4 * sd, "lower end of set " + s);
            assertEquals(want.get(1).getAsDouble(), ci[1], 0.4 * sd, "upper end of set " + s);
        }
    }

    @Test
    void resamplesDependOnlyOnSeedAndSizesSoMethodsOnTheSameSamplesArePaired() {
        double[] id = {3, 4, 5, 6, 7, 8};
        double[] ood = {1, 2, 4.5, 9};
        double[][] a = new AurocBootstrap(50, 11).resample(id, List.of(ood));
        double[][] b = new AurocBootstrap(50, 11).resample(id, List.of(ood));
        assertArrayEquals(a, b);
        // a monotone transform of the scores gives the same AUROC on every paired resample
        double[] idExp = java.util.Arrays.stream(id).map(Math::exp).toArray();
        double[] oodExp = java.util.Arrays.stream(ood).map(Math::exp).toArray();
        assertArrayEquals(a, new AurocBootstrap(50, 11).resample(idExp, List.of(oodExp)));
        // the reversed score gives 1 - AUROC on every paired resample
        double[][] rev = new AurocBootstrap(50, 11).resample(java.util.Arrays.stream(id).map(x -> -x).toArray(),
                List.of(java.util.Arrays.stream(ood).map(x -> -x).toArray()));
        for (int r = 0; r < a.length; r++) {
            assertEquals(1 - a[r][0], rev[r][0], 1e-12);
        }
        assertFalse(java.util.Arrays.deepEquals(a, new AurocBootstrap(50, 12).resample(id, List.of(ood))));
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new AurocBootstrap(1, 0));
        assertThrows(IllegalArgumentException.class, () -> AurocBootstrap.interval(new double[]{1, 2}, 1.0));
    }
}

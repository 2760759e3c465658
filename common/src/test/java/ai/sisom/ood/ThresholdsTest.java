package ai.sisom.ood;

import ai.djl.util.JsonUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

/** Youden's J, keep-share and AUROC against scikit-learn and numpy (common/src/test/python/make_ood_threshold_golden.py). */
class ThresholdsTest {
    private static JsonArray cases() throws Exception {
        try (Reader r = new InputStreamReader(ThresholdsTest.class.getResourceAsStream("/ood-threshold-golden.json"),
                StandardCharsets.UTF_8)) {
            return JsonUtils.GSON.fromJson(r, JsonObject.class).getAsJsonArray("cases");
        }
    }

    private static double[] arr(JsonObject g, String key) {
        JsonArray a = g.getAsJsonArray(key);
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsDouble();
        }
        return v;
    }

    @Test
    void youdenFlagsExactlyTheLabeledSamplesScikitLearnsOptimalThresholdFlags() throws Exception {
        int checked = 0;
        for (var c : cases()) {
            JsonObject g = c.getAsJsonObject();
            double[] in = arr(g, "inDistribution");
            double[] unk = arr(g, "unknown");
            Thresholds.Cut cut = Thresholds.youden(in, unk);
            assertEquals(g.get("youdenJ").getAsDouble(), cut.youdenJ(), 1e-12, "case " + checked);
            // sklearn flags value >= its threshold (inf: nothing); we flag value > ours
            double sk = g.get("sklearnThreshold").isJsonNull() ? Double.POSITIVE_INFINITY
                    : g.get("sklearnThreshold").getAsDouble();
            for (double[] group : new double[][]{in, unk}) {
                for (double v : group) {
                    assertEquals(v >= sk, v > cut.value(), "case " + checked + ": value " + v + ", ours " + cut.value()
                            + ", sklearn " + sk);
                }
            }
            assertEquals(g.get("auroc").getAsDouble(), Thresholds.auroc(in, unk), 1e-12, "case " + checked);
            checked++;
        }
        assertEquals(40, checked);
    }

    @Test
    void keepShareKeepsEveryValueUpToNumpysInvertedCdfQuantile() throws Exception {
        for (var c : cases()) {
            JsonObject g = c.getAsJsonObject();
            double[] in = arr(g, "inDistribution");
            double share = g.get("keepShare").getAsDouble();
            double quantile = g.get("keepQuantile").getAsDouble();
            Thresholds.Cut cut = Thresholds.keepShare(in, share, new double[0]);
            int kept = 0;
            for (double v : in) {
                assertEquals(v <= quantile, !(v > cut.value()), "value " + v);
                kept += v > cut.value() ? 0 : 1;
            }
            assertTrue(kept >= share * in.length - 1e-9, kept + " of " + in.length + " kept, share " + share);
            assertEquals(1 - (double) kept / in.length, cut.inDistFlagged(), 1e-12);
        }
    }

    @Test
    void theThresholdSitsMidwayBetweenTheLastKeptAndTheFirstFlaggedValue() {
        Thresholds.Cut y = Thresholds.youden(new double[]{0, 1, 2, 3}, new double[]{7, 9});
        assertEquals(5.0, y.value());
        assertEquals(1.0, y.youdenJ());
        assertEquals(1.0, y.unknownsFlagged());
        assertEquals(0.0, y.inDistFlagged());
        // 20 values 1..20, keep 95 %: the 19th is kept, the 20th flagged
        double[] v = new double[20];
        for (int i = 0; i < 20; i++) {
            v[i] = i + 1;
        }
        Thresholds.Cut k = Thresholds.keepShare(v, 0.95, new double[]{30, 10});
        assertEquals(19.5, k.value());
        assertEquals(0.05, k.inDistFlagged(), 1e-15);
        assertEquals(0.5, k.unknownsFlagged());
        // adjacent doubles: the threshold keeps the lower one and flags the upper one
        double a = 1.0;
        double b = Math.nextUp(a);
        Thresholds.Cut t = Thresholds.youden(new double[]{a}, new double[]{b});
        assertTrue(a <= t.value() && t.value() < b);
        // 0.95 * 500 is 475.00000000000006 in double: still 475 kept, 25 flagged
        double[] many = new double[500];
        for (int i = 0; i < 500; i++) {
            many[i] = i;
        }
        assertEquals(25 / 500.0, Thresholds.keepShare(many, 0.95, new double[0]).inDistFlagged(), 1e-15);
    }

    @Test
    void aMetricThatDoesNotSeparateFlagsNothingOfTheLabeledSet() {
        // the unknowns all below the in-distribution values: every cut has J <= 0, "flag none" wins
        Thresholds.Cut c = Thresholds.youden(new double[]{5, 6, 7}, new double[]{1, 2});
        assertEquals(0.0, c.youdenJ());
        assertEquals(7.0, c.value());
        assertEquals(0.0, Thresholds.auroc(new double[]{5, 6, 7}, new double[]{1, 2}));
    }

    @Test
    void badInputIsRefusedWithTheReason() {
        assertThrows(IllegalArgumentException.class, () -> Thresholds.keepShare(new double[]{1}, 1.0, new double[0]));
        assertThrows(IllegalArgumentException.class, () -> Thresholds.keepShare(new double[]{1}, 0, new double[0]));
        assertThrows(IllegalArgumentException.class, () -> Thresholds.youden(new double[]{1}, new double[0]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Thresholds.youden(new double[]{1, Double.NaN}, new double[]{2}));
        assertTrue(e.getMessage().contains("non-finite"), e.getMessage());
    }
}

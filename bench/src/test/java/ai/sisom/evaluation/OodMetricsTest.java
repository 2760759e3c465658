package ai.sisom.evaluation;

import ai.djl.util.JsonUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class OodMetricsTest {
    static JsonObject golden() throws Exception {
        // bench/python/make_ood_golden.py
        try (Reader r = new InputStreamReader(OodMetricsTest.class.getResourceAsStream("/ood-golden.json"),
                StandardCharsets.UTF_8)) {
            return JsonUtils.GSON.fromJson(r, JsonObject.class);
        }
    }

    static double[] arr(JsonArray a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsDouble();
        }
        return v;
    }

    @Test
    void metricsMatchScikitLearnAsOpenOodCallsItIncludingTies() throws Exception {
        int n = 0;
        for (JsonElement e : golden().getAsJsonArray("metrics")) {
            JsonObject c = e.getAsJsonObject();
            double[] id = arr(c.getAsJsonArray("id"));
            double[] ood = arr(c.getAsJsonArray("ood"));
            OodMetrics.Result r = OodMetrics.compute(id, ood);
            String what = "case " + n++;
            assertEquals(c.get("auroc").getAsDouble(), r.auroc(), 1e-12, what);
            assertEquals(c.get("auprIn").getAsDouble(), r.auprIn(), 1e-12, what);
            assertEquals(c.get("auprOut").getAsDouble(), r.auprOut(), 1e-12, what);
            assertEquals(c.get("fpr95").getAsDouble(), r.fpr95(), 1e-12, what);
            assertEquals(c.get("fpr95OodPositive").getAsDouble(), r.fpr95OodPositive(), 1e-12,
                    what + " (OpenOOD v1.5's OOD-positive FPR)");
        }
        assertEquals(4, n);
    }

    @Test
    void theTwoFprConventionsCountDifferentErrors() {
        // ID 1..20, OOD 0.5, 15.5..18.5 and 30: keeping 95 % of ID (threshold 2) accepts 5 of 6 OOD samples;
        // flagging 95 % of OOD (at least 6 of 6, threshold 30) flags all 20 ID samples
        double[] id = new double[20];
        for (int i = 0; i < id.length; i++) {
            id[i] = i + 1;
        }
        double[] ood = {0.5, 15.5, 16.5, 17.5, 18.5, 30};
        OodMetrics.Result r = OodMetrics.compute(id, ood);
        assertEquals(5 / 6.0, r.fpr95(), 1e-12);
        assertEquals(1.0, r.fpr95OodPositive(), 1e-12);
        // dropping the one confident OOD sample: 5 of 5 flagged needs threshold 18.5 -> 18 of 20 ID flagged
        r = OodMetrics.compute(id, new double[]{0.5, 15.5, 16.5, 17.5, 18.5});
        assertEquals(4 / 5.0, r.fpr95(), 1e-12);
        assertEquals(18 / 20.0, r.fpr95OodPositive(), 1e-12);
    }

    @Test
    void perfectSeparationAndFullOverlapGiveTheTextbookValues() {
        OodMetrics.Result perfect = OodMetrics.compute(new double[]{5, 6, 7}, new double[]{1, 2});
        assertEquals(1.0, perfect.auroc());
        assertEquals(1.0, perfect.auprIn(), 1e-12);
        assertEquals(1.0, perfect.auprOut(), 1e-12);
        assertEquals(0.0, perfect.fpr95());
        assertEquals(0.0, perfect.fpr95OodPositive());
        // every score tied: AUROC one half, and keeping 95 % of ID accepts every OOD sample
        OodMetrics.Result tied = OodMetrics.compute(new double[]{1, 1, 1, 1}, new double[]{1, 1});
        assertEquals(0.5, tied.auroc());
        assertEquals(1.0, tied.fpr95());
        assertEquals(1.0, tied.fpr95OodPositive());
        OodMetrics.Result reversed = OodMetrics.compute(new double[]{1, 2}, new double[]{5, 6, 7});
        assertEquals(0.0, reversed.auroc());
    }

    @Test
    void emptyOrNonFiniteScoresAreRefusedNamingTheSample() {
        assertThrows(IllegalArgumentException.class, () -> OodMetrics.compute(new double[0], new double[]{1}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OodMetrics.compute(new double[]{1, 2}, new double[]{0, Double.NaN}));
        assertTrue(e.getMessage().contains("out-of-distribution score 1"), e.getMessage());
    }
}

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
            double[] negId = id.clone();
            double[] negOod = ood.clone();
            for (int i = 0; i < negId.length; i++) negId[i] = -negId[i];
            for (int i = 0; i < negOod.length; i++) negOod[i] = -negOod[i];
            assertEquals(c.get("fpr95OodPositive").getAsDouble(), OodMetrics.fprAtTpr(negOod, negId, 0.95), 1e-12,
                    what + " (OpenOOD v1.5's OOD-positive FPR)");
        }
        assertEquals(4, n);
    }

    @Test
    void perfectSeparationAndFullOverlapGiveTheTextbookValues() {
        OodMetrics.Result perfect = OodMetrics.compute(new double[]{5, 6, 7}, new double[]{1, 2});
        assertEquals(1.0, perfect.auroc());
        assertEquals(1.0, perfect.auprIn(), 1e-12);
        assertEquals(1.0, perfect.auprOut(), 1e-12);
        assertEquals(0.0, perfect.fpr95());
        // every score tied: AUROC one half, and keeping 95 % of ID accepts every OOD sample
        OodMetrics.Result tied = OodMetrics.compute(new double[]{1, 1, 1, 1}, new double[]{1, 1});
        assertEquals(0.5, tied.auroc());
        assertEquals(1.0, tied.fpr95());
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

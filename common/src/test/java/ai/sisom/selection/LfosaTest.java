package ai.sisom.selection;

import ai.djl.util.JsonUtils;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LfosaTest {
    private static JsonObject golden() throws Exception {
        try (Reader r = new InputStreamReader(LfosaTest.class.getResourceAsStream("/lfosa-gmm-golden.json"),
                StandardCharsets.UTF_8)) {
            return JsonUtils.GSON.fromJson(r, JsonObject.class);
        }
    }

    private static double[] arr(JsonObject g, String key) {
        var a = g.getAsJsonArray(key);
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsDouble();
        }
        return v;
    }

    @Test
    void mixtureFitMatchesScikitLearnOnKnownData() throws Exception {
        JsonObject g = golden(); // common/src/test/python/make_lfosa_golden.py
        double[] x = arr(g, "x");
        Lfosa.Mixture m = Lfosa.fit(x, 200, 1e-8);
        int hi = g.get("high").getAsInt();
        double[] w = arr(g, "weights");
        double[] mu = arr(g, "means");
        double[] var = arr(g, "variances");
        assertEquals(mu[hi], m.mean()[1], 1e-4);
        assertEquals(mu[1 - hi], m.mean()[0], 1e-4);
        assertEquals(w[hi], m.weight()[1], 1e-4);
        assertEquals(var[hi], m.variance()[1], 1e-4);
        assertEquals(var[1 - hi], m.variance()[0], 1e-4);
        double[] post = arr(g, "posteriorHigh");
        for (int i = 0; i < x.length; i++) {
            assertEquals(post[i], m.posteriorHigh(x[i]), 1e-4, "sample " + i);
        }
    }

    @Test
    void queriesTheHighActivationComponentAndNeverTheUnknownClass() {
        Random rnd = new Random(2);
        List<Lfosa.Candidate> c = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int cls = i % 3; // class 2 is "unknown" for a detector with 2 known classes
            boolean known = i % 5 == 0;
            double mav = known ? 8 + rnd.nextGaussian() * 0.5 : 2 + rnd.nextGaussian() * 0.5;
            c.add(new Lfosa.Candidate(String.format("s%03d", i), cls, mav + (cls == 2 ? 10 : 0)));
        }
        c.add(new Lfosa.Candidate("lonely", 1, 0.0));
        List<Lfosa.Weighted> top = Lfosa.select(c, 2, 20);
        assertEquals(20, top.size());
        for (Lfosa.Weighted w : top) {
            assertTrue(w.predicted() < 2, "unknown-class predictions are not queried");
            assertTrue(w.mav() > 5, "the high-activation component is queried first: " + w);
        }
        for (int i = 1; i < top.size(); i++) {
            assertTrue(top.get(i - 1).weight() >= top.get(i).weight());
        }
        assertThrows(IllegalArgumentException.class, () -> Lfosa.fit(new double[]{1}, 10, 1e-2));
        // a collapsed class (all values equal) still fits thanks to the variance regularisation
        Lfosa.Mixture flat = Lfosa.fit(new double[]{3, 3, 3, 3}, 10, 1e-2);
        assertEquals(3, flat.mean()[0], 1e-9);
        assertTrue(Double.isFinite(flat.posteriorHigh(3)));
    }
}

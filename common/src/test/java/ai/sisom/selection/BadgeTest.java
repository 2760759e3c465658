package ai.sisom.selection;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.*;

class BadgeTest {
    private static List<Badge.Candidate> candidates(float[][] penultimate, float[][] logits) {
        List<Badge.Candidate> c = new ArrayList<>();
        for (int i = 0; i < penultimate.length; i++) {
            c.add(new Badge.Candidate("s" + i, penultimate[i], logits[i]));
        }
        return c;
    }

    private static int[] positions(List<Badge.Pick> picks) {
        return picks.stream().mapToInt(Badge.Pick::position).toArray();
    }

    /** Replays recorded uniforms, failing when the selection asks for more than were recorded. */
    private static DoubleSupplier replay(double[] u) {
        int[] next = {0};
        return () -> {
            assertTrue(next[0] < u.length, "more draws than the reference made");
            return u[next[0]++];
        };
    }

    private static float[][] gaussian(Random rnd, int n, int dim, double scale) {
        float[][] x = new float[n][dim];
        for (float[] row : x) {
            for (int k = 0; k < dim; k++) {
                row[k] = (float) (scale * rnd.nextGaussian());
            }
        }
        return x;
    }

    @Test
    void gradientEmbeddingsAreTheBenchmarksClassMajorEmbeddings() {
        // expected: /usr/bin/python3 bench/python/make_al_golden.py (al_strategies.badge_embedding of softmax(logits))
        for (JsonElement e : AlGolden.load().getAsJsonArray("badge")) {
            JsonObject c = e.getAsJsonObject();
            float[][] h = AlGolden.floats(c, "penultimate");
            float[][] logits = AlGolden.floats(c, "logits");
            JsonArray emb = c.getAsJsonArray("embedding");
            for (int i = 0; i < h.length; i++) {
                double[] want = AlGolden.doubles(emb.get(i).getAsJsonArray());
                double[] got = Badge.embedding(logits[i], h[i]);
                assertEquals(want.length, got.length);
                for (int k = 0; k < want.length; k++) {
                    // exp may differ from NumPy's by an ulp; nothing else is rounded differently
                    assertEquals(want[k], got[k], 1e-14 * Math.max(1, Math.abs(want[k])), "sample " + i + " term " + k);
                }
            }
        }
    }

    @Test
    void picksWhatTheBenchmarksKMeansPlusPlusPicksGivenTheSameUniforms() {
        // expected picks and the uniforms NumPy's Generator drew: bench/python/make_al_golden.py (kmeans_pp_pick)
        int cases = 0;
        for (JsonElement e : AlGolden.load().getAsJsonArray("badge")) {
            JsonObject c = e.getAsJsonObject();
            int q = c.get("q").getAsInt();
            double[] u = AlGolden.doubles(c.getAsJsonArray("uniforms"));
            List<Badge.Pick> picks = Badge.select(candidates(AlGolden.floats(c, "penultimate"),
                    AlGolden.floats(c, "logits")), q, replay(u));
            int[] want = AlGolden.ints(c.getAsJsonArray("picks"));
            assertEquals(want[0], picks.get(0).position(), "the largest-norm first pick, " + c.get("name"));
            assertArrayEquals(want, positions(picks), c.get("name").getAsString());
            assertEquals(q - 1, u.length);
            for (int r = 0; r < q; r++) {
                assertEquals(r + 1, picks.get(r).rank());
                assertEquals("s" + picks.get(r).position(), picks.get(r).id());
            }
            cases++;
        }
        assertEquals(3, cases);
    }

    @Test
    void aDrawGivenItsUniformIsNumpysWeightedChoice() {
        // NumPy's own Generator.choice(n, p=w/w.sum()) results and the uniform each consumed (make_al_golden.py)
        int draws = 0;
        for (JsonElement e : AlGolden.load().getAsJsonArray("draws")) {
            JsonObject c = e.getAsJsonObject();
            double[] w = AlGolden.doubles(c.getAsJsonArray("weights"));
            double total = 0;
            for (double x : w) {
                total += x;
            }
            double[] u = AlGolden.doubles(c.getAsJsonArray("uniforms"));
            int[] want = AlGolden.ints(c.getAsJsonArray("picks"));
            for (int i = 0; i < u.length; i++) {
                assertEquals(want[i], Badge.draw(w, total, u[i]), "weights " + w.length + ", uniform " + u[i]);
                assertTrue(w[want[i]] > 0);
                draws++;
            }
        }
        assertEquals(200, draws);
    }

    @Test
    void aDrawFollowsTheCumulativeWeightsAndNeverTakesAZeroWeight() {
        double[] w = {0, 2, 0, 1, 1, 0};
        assertEquals(1, Badge.draw(w, 4, 0.0));
        assertEquals(1, Badge.draw(w, 4, 0.4999));
        assertEquals(3, Badge.draw(w, 4, 0.5));      // side='right': a uniform on a boundary goes past it
        assertEquals(4, Badge.draw(w, 4, 0.75));
        assertEquals(4, Badge.draw(w, 4, Math.nextDown(1.0)));
    }

    @Test
    void neverPicksASampleTwiceAndTakesExactlyQ() {
        Random rnd = new Random(3);
        float[][] h = gaussian(rnd, 80, 5, 1);
        float[][] logits = gaussian(rnd, 80, 4, 3);
        for (int i = 40; i < 80; i++) {     // half of them duplicates: their distances reach 0
            h[i] = h[i - 40];
            logits[i] = logits[i - 40];
        }
        for (int q : new int[]{0, 1, 10, 79, 80}) {
            List<Badge.Pick> picks = Badge.select(candidates(h, logits), q, 17L);
            assertEquals(q, picks.size());
            Set<Integer> seen = new HashSet<>();
            for (Badge.Pick p : picks) {
                assertTrue(seen.add(p.position()), "picked twice: " + p);
            }
        }
    }

    @Test
    void coincidentEmbeddingsFallBackToUniformOverTheUnpicked() {
        float[][] h = new float[5][];
        float[][] logits = new float[5][];
        for (int i = 0; i < 5; i++) {
            h[i] = new float[]{1, 2};
            logits[i] = new float[]{0.5f, -1f, 2f};
        }
        // all norms equal: the first is position 0; then every distance is 0, so u picks among the unpicked
        List<Badge.Pick> picks = Badge.select(candidates(h, logits), 5, replay(new double[]{0.0, 0.99, 0.5, 0.1}));
        // unpicked {1,2,3,4}: u=0 -> 1; {2,3,4}: 0.99 -> 4; {2,3}: 0.5 -> 3; {2}: 2
        assertArrayEquals(new int[]{0, 1, 4, 3, 2}, positions(picks));
    }

    @Test
    void theSameSeedPicksTheSameAndFarPointsAreFavoured() {
        Random rnd = new Random(9);
        float[][] h = gaussian(rnd, 300, 6, 1);
        float[][] logits = gaussian(rnd, 300, 5, 2);
        List<Badge.Pick> a = Badge.select(candidates(h, logits), 30, 42L);
        assertEquals(a, Badge.select(candidates(h, logits), 30, 42L));
        assertNotEquals(positions(a)[5], positions(Badge.select(candidates(h, logits), 30, 43L))[5]);
    }

    @Test
    void theChunkedParallelPassPicksWhatOneSequentialLoopPicks() {
        // enough candidates for several fork-join chunks (2^18 embedding terms each at 3 x 2)
        Random rnd = new Random(21);
        int n = 150_000;
        float[][] h = gaussian(rnd, n, 2, 1);
        float[][] logits = gaussian(rnd, n, 3, 2);
        int q = 8;
        double[] u = new double[q - 1];
        for (int i = 0; i < u.length; i++) {
            u[i] = rnd.nextDouble();
        }
        List<Badge.Pick> picks = Badge.select(candidates(h, logits), q, replay(u));
        // k-means++ seeding written out plainly over the materialised embeddings
        double[][] g = new double[n][];
        int first = 0;
        double[] norm = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = Badge.embedding(logits[i], h[i]);
            for (double v : g[i]) {
                norm[i] += v * v;
            }
            if (norm[i] > norm[first]) {
                first = i;
            }
        }
        List<Integer> want = new ArrayList<>(List.of(first));
        double[] d2 = new double[n];
        java.util.Arrays.fill(d2, Double.POSITIVE_INFINITY);
        boolean[] chosen = new boolean[n];
        int p = first;
        for (int r = 1; r < q; r++) {
            chosen[p] = true;
            double total = 0;
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int k = 0; k < g[i].length; k++) {
                    double t = g[i][k] - g[p][k];
                    s += t * t;
                }
                d2[i] = chosen[i] ? 0 : Math.min(d2[i], s);
                total += d2[i];
            }
            p = Badge.draw(d2, total, u[r - 1]);
            want.add(p);
        }
        assertArrayEquals(want.stream().mapToInt(Integer::intValue).toArray(), positions(picks));
    }

    @Test
    void badInputIsRefusedNamingTheSample() {
        float[][] h = {{1, 0}, {0, 1}, {1, 1}};
        float[][] logits = {{1, 0}, {0, 1}, {2, 0}};
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Badge.select(candidates(h, logits), 4, 1L)).getMessage().contains("cannot select 4 of 3"));
        float[][] ragged = {{1, 0}, {0, 1, 3}, {2, 0}};
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Badge.select(candidates(h, ragged), 2, 1L)).getMessage().contains("sample s1 has 3 logits"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Badge.select(candidates(ragged, logits), 2, 1L)).getMessage().contains("sample s1 has 3 penultimate"));
        float[][] inf = {{1, 0}, {0, Float.NEGATIVE_INFINITY}, {2, 0}};
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Badge.select(candidates(h, inf), 2, 1L)).getMessage().contains("sample s1 has a non-finite logits"));
        float[][] noLogits = {{1, 0}, {0, 1}, null};
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Badge.select(candidates(h, noLogits), 2, 1L)).getMessage().contains("sample s2 has no logits"));
    }
}

package ai.sisom.selection;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class CoreSetTest {
    private static List<CoreSet.Candidate> candidates(float[][] x) {
        List<CoreSet.Candidate> c = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            c.add(new CoreSet.Candidate("s" + i, x[i]));
        }
        return c;
    }

    private static int[] positions(List<CoreSet.Pick> picks) {
        return picks.stream().mapToInt(CoreSet.Pick::position).toArray();
    }

    private static float[][] gaussian(Random rnd, int n, int dim) {
        float[][] x = new float[n][dim];
        for (float[] row : x) {
            for (int k = 0; k < dim; k++) {
                row[k] = (float) rnd.nextGaussian();
            }
        }
        return x;
    }

    @Test
    void picksWhatTheBenchmarksKCenterGreedyPicks() {
        // expected picks: /usr/bin/python3 bench/python/make_al_golden.py (al_strategies.k_center_greedy)
        int cases = 0;
        for (JsonElement e : AlGolden.load().getAsJsonArray("coreset")) {
            JsonObject c = e.getAsJsonObject();
            float[][] unlabeled = AlGolden.floats(c, "unlabeled");
            float[][] labeled = AlGolden.floats(c, "labeled");
            int q = c.get("q").getAsInt();
            List<CoreSet.Pick> picks = CoreSet.select(candidates(unlabeled), labeled, q);
            assertArrayEquals(AlGolden.ints(c.getAsJsonArray("picks")), positions(picks), c.get("name").getAsString());
            for (int r = 0; r < picks.size(); r++) {
                assertEquals(r + 1, picks.get(r).rank());
                assertEquals("s" + picks.get(r).position(), picks.get(r).id());
            }
            cases++;
        }
        assertEquals(4, cases);
    }

    @Test
    void withoutLabeledSamplesStartsAtTheFirstCandidateThenTakesTheFarthest() {
        float[][] x = {{0, 0}, {1, 0}, {10, 0}, {4, 0}};
        List<CoreSet.Pick> picks = CoreSet.select(candidates(x), new float[0][], 3);
        assertArrayEquals(new int[]{0, 2, 3}, positions(picks));
        assertEquals(Double.POSITIVE_INFINITY, picks.get(0).distance());
        assertEquals(10.0, picks.get(1).distance(), 0.0);
        assertEquals(4.0, picks.get(2).distance(), 0.0);   // 4 from 0, 6 from 10
    }

    @Test
    void labeledSamplesAreCentersFromTheStart() {
        float[][] x = {{0, 0}, {1, 0}, {10, 0}, {4, 0}};
        float[][] labeled = {{10, 0}, {0, 0}};
        // 0 and 10 are covered; 4 is farthest (4 from 0), then 1 (1 from 0) vs the covered ones at 0
        assertArrayEquals(new int[]{3, 1, 0}, positions(CoreSet.select(candidates(x), labeled, 3)));
    }

    @Test
    void coincidentPointsAreEachPickedOnceInCandidateOrder() {
        float[][] x = new float[6][];
        for (int i = 0; i < x.length; i++) {
            x[i] = new float[]{1.5f, -2f, 3f};
        }
        assertArrayEquals(new int[]{0, 1, 2, 3, 4, 5}, positions(CoreSet.select(candidates(x), new float[0][], 6)));
        assertArrayEquals(new int[]{0, 1, 2, 3}, positions(CoreSet.select(candidates(x), new float[][]{x[0]}, 4)));
    }

    @Test
    void neverPicksASampleTwiceAndTakesExactlyQ() {
        Random rnd = new Random(5);
        float[][] x = new float[200][];
        for (int i = 0; i < x.length; i++) {     // few distinct points: most distances end at 0
            x[i] = new float[]{rnd.nextInt(3), rnd.nextInt(2)};
        }
        for (int q : new int[]{0, 1, 7, 199, 200}) {
            List<CoreSet.Pick> picks = CoreSet.select(candidates(x), new float[][]{{0, 0}}, q);
            assertEquals(q, picks.size());
            Set<Integer> seen = new HashSet<>();
            for (CoreSet.Pick p : picks) {
                assertTrue(seen.add(p.position()), "picked twice: " + p);
            }
        }
    }

    @Test
    void theChunkedParallelPassPicksWhatOneSequentialLoopPicks() {
        // enough candidates for several fork-join chunks (2^18 distance terms each at dimension 3)
        Random rnd = new Random(11);
        float[][] x = gaussian(rnd, 200_000, 3);
        float[][] labeled = gaussian(rnd, 5, 3);
        int q = 12;
        List<CoreSet.Pick> picks = CoreSet.select(candidates(x), labeled, q);
        // the k-center greedy loop written out plainly
        double[] mind = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            mind[i] = Double.POSITIVE_INFINITY;
            for (float[] l : labeled) {
                mind[i] = Math.min(mind[i], CoreSet.squared(x[i], l));
            }
        }
        for (int r = 0; r < q; r++) {
            int best = 0;
            for (int i = 1; i < x.length; i++) {
                if (mind[i] > mind[best]) {
                    best = i;
                }
            }
            assertEquals(best, picks.get(r).position(), "pick " + (r + 1));
            assertEquals(Math.sqrt(mind[best]), picks.get(r).distance(), 0.0);
            mind[best] = -1;
            for (int i = 0; i < x.length; i++) {
                if (mind[i] >= 0) {
                    mind[i] = Math.min(mind[i], CoreSet.squared(x[i], x[best]));
                }
            }
        }
    }

    @Test
    void badInputIsRefusedNamingTheSample() {
        float[][] x = {{0, 0}, {1, 0}, {2, 0}};
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoreSet.select(candidates(x), new float[0][], 4)).getMessage().contains("cannot select 4 of 3"));
        assertThrows(IllegalArgumentException.class, () -> CoreSet.select(candidates(x), new float[0][], -1));
        float[][] ragged = {{0, 0}, {1, 0, 5}, {2, 0}};
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoreSet.select(candidates(ragged), new float[0][], 1)).getMessage().contains("sample s1 has 3"));
        float[][] nan = {{0, 0}, {1, 0}, {2, Float.NaN}};
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoreSet.select(candidates(nan), new float[0][], 1)).getMessage().contains("sample s2"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoreSet.select(candidates(x), new float[][]{{1, 2, 3}}, 1)).getMessage()
                .contains("labeled sample 0"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoreSet.select(candidates(x), new float[][]{{1, Float.POSITIVE_INFINITY}}, 1)).getMessage()
                .contains("labeled sample 0"));
        List<CoreSet.Candidate> twice = List.of(new CoreSet.Candidate("a", x[0]), new CoreSet.Candidate("a", x[1]));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoreSet.select(twice, new float[0][], 1)).getMessage().contains("sample a is a candidate twice"));
    }
}

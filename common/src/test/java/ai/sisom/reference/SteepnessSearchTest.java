package ai.sisom.reference;

import ai.sisom.scoring.BruteForce;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SteepnessSearchTest {
    @Test
    void picksTheCombinationWithTheLowestLeaveOneOutRAvgAsBruteForceDoes() {
        Random rnd = new Random(7);
        int n = 40;
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        int[] labels = new int[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            ids.add("s" + i);
            labels[i] = i % 3;
            float[] x = new float[6];
            for (int k = 0; k < 6; k++) {
                // layer 2 (dims 3..5) carries the class signal at a small scale: steep sigmoids separate it
                x[k] = (float) (k >= 3 ? 0.01 * (labels[i] == k - 3 ? 1 : -1) + 0.003 * rnd.nextGaussian()
                        : rnd.nextGaussian());
            }
            u.add(x);
            e[i] = -rnd.nextDouble();
        }
        LabeledSet l = new LabeledSet(ids, labels, u, e, u);
        int[] offsets = {0, 3, 6};
        double[][] grid = {{0.1, 1.0}, {1.0, 100.0, 1000.0}};
        List<String> classes = List.of("x", "y", "w");
        SteepnessSearch.Result r = SteepnessSearch.search(l, classes, offsets, grid, null, DOutVariant.SAMPLE);
        assertEquals(6, r.trials().size());
        double best = Double.POSITIVE_INFINITY;
        double[] bestA = null;
        for (double a0 : grid[0]) {
            for (double a1 : grid[1]) {
                double[] alphas = {a0, a1};
                List<float[]> z = new ArrayList<>();
                u.forEach(x -> z.add(BruteForce.sigmoid(x, alphas, offsets)));
                double rAvg = BruteForce.stats(z, labels, e, false)[0];
                if (rAvg < best) {
                    best = rAvg;
                    bestA = alphas;
                }
            }
        }
        assertArrayEquals(bestA, r.best().alphas());
        assertEquals(best, r.bestRAvg(), 1e-12);
        assertTrue(r.best().alphas()[1] >= 100, "the steep setting separates the weak signal");
    }
}

package ai.sisom.reference;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ProbCoverTest {
    private static List<float[]> line(double... xs) {
        List<float[]> pts = new ArrayList<>();
        for (double x : xs) {
            pts.add(new float[]{(float) x, 0f});
        }
        return pts;
    }

    @Test
    void picksTheVertexCoveringMostUncoveredFirst() {
        // clusters {0, 0.4, 0.8}, {5, 5.1}, {10}; delta 0.5: only 0.4 reaches all 3 of its cluster, then 5 (ties with 5.1, lowest index), then 10
        List<float[]> pts = line(0, 0.4, 0.8, 5, 5.1, 10);
        assertArrayEquals(new int[]{1, 3}, ProbCover.select(pts, 0.5, 2));
        assertArrayEquals(new int[]{1, 3, 5}, ProbCover.select(pts, 0.5, 3));
    }

    @Test
    void stopsWhenEverythingIsCoveredInsteadOfPickingTwice() {
        List<float[]> pts = line(0, 0.4, 0.8, 5, 5.1, 10);
        assertArrayEquals(new int[]{1, 3, 5}, ProbCover.select(pts, 0.5, 10));
    }

    @Test
    void edgesAreStrictlyBelowDelta() {
        // distance exactly delta is not an edge: each point covers only itself
        assertArrayEquals(new int[]{0, 1}, ProbCover.select(line(0, 1), 1.0, 2));
        assertArrayEquals(new int[]{0}, ProbCover.select(line(0, 1), 1.0001, 2));
    }

    @Test
    void coverageCountsOnlyStillUncoveredVertices() {
        // chain 0,1,2,3,4 with delta 1.5: vertices 1, 2, 3 each reach 3; 1 wins the tie and covers {0,1,2};
        // vertex 3 and vertex 4 both add 2 new vertices ({3,4}); the lower index wins
        assertArrayEquals(new int[]{1, 3}, ProbCover.select(line(0, 1, 2, 3, 4), 1.5, 5));
    }

    @Test
    void classwiseQuotaIsCeilOfSizeOverClassesAndCoversEveryClass() {
        Random rnd = new Random(1);
        List<float[]> f = new ArrayList<>();
        int[] labels = new int[90];
        for (int i = 0; i < 90; i++) {
            labels[i] = i % 3;
            f.add(new float[]{(float) (rnd.nextGaussian() + 10 * labels[i]), (float) rnd.nextGaussian()});
        }
        int[] picked = ProbCover.selectClasswise(f, labels, 3, 0.3, 10); // quota ceil(10/3) = 4
        int[] perClass = new int[3];
        for (int p : picked) {
            perClass[labels[p]]++;
        }
        assertArrayEquals(new int[]{4, 4, 4}, perClass);
        for (int i = 1; i < picked.length; i++) {
            assertTrue(picked[i] > picked[i - 1], "sorted, no duplicates");
        }
    }
}

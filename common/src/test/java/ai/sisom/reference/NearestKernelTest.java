package ai.sisom.reference;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The libtorch kernel must give exactly the scalar search's answers, ties and leave-one-out included. */
class NearestKernelTest {
    static ReferenceSet randomSet(Random rnd, int n, int k, int d, boolean duplicates) {
        List<String> ids = new ArrayList<>();
        List<float[]> z = new ArrayList<>();
        int[] labels = new int[n];
        int[] src = new int[n];
        List<String> names = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            names.add("c" + c);
        }
        for (int i = 0; i < n; i++) {
            ids.add(String.format("r%05d", rnd.nextInt(1_000_000)) + "-" + i);
            labels[i] = i % k;
            src[i] = i;
            float[] x = new float[d];
            for (int j = 0; j < d; j++) {
                x[j] = (float) (1 / (1 + Math.exp(-rnd.nextGaussian())));
            }
            if (duplicates && i >= 2 * k && rnd.nextInt(4) == 0) {
                x = z.get(rnd.nextInt(i)).clone(); // exact duplicates, some across classes: ties everywhere
            }
            z.add(x);
        }
        return ReferenceSet.of(ids, labels, z, src, names);
    }

    private static void assertSame(ReferenceSet set, NearestKernel kernel, float[] queries, int n, int[] cls,
                                   int[] exclude) {
        int d = set.dimension();
        NearestKernel.Hits[] hits = kernel.search(queries, n, cls, exclude, true);
        for (int i = 0; i < n; i++) {
            float[] q = java.util.Arrays.copyOfRange(queries, i * d, (i + 1) * d);
            assertEquals(set.nearestIn(q, cls[i], exclude[i]), hits[i].in(), "in, query " + i);
            assertEquals(set.nearestOutside(q, cls[i]), hits[i].out(), "out, query " + i);
        }
    }

    @Test
    void matchesTheScalarSearchOnRandomQueriesAcrossColumnBlocks() {
        Case c = randomQueries(new Random(1), 600);
        try (NearestKernel k = new NearestKernel(c.set(), 128)) {
            assertSame(c.set(), k, c.q(), c.n(), c.cls(), c.ex());
        }
    }

    /** n random queries of random classes against a random 700-point set of 7 classes in 33 dimensions. */
    static Case randomQueries(Random rnd, int n) {
        ReferenceSet set = randomSet(rnd, 700, 7, 33, false);
        float[] q = new float[n * 33];
        int[] cls = new int[n];
        int[] ex = new int[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 33; j++) {
                q[i * 33 + j] = (float) (1 / (1 + Math.exp(-rnd.nextGaussian())));
            }
            cls[i] = rnd.nextInt(7);
            ex[i] = -1;
        }
        return new Case(set, q, cls, ex);
    }

    @Test
    void leaveOneOutOnTheReferenceItselfWithExactDuplicatesMatches() {
        Random rnd = new Random(2);
        ReferenceSet set = randomSet(rnd, 400, 5, 16, true);
        int d = 16;
        int n = 400;
        float[] q = new float[n * d];
        int[] cls = new int[n];
        int[] ex = new int[n];
        int i = 0;
        for (int c = 0; c < 5; c++) {
            for (int r = 0; r < set.size(c); r++) {
                System.arraycopy(set.point(c, r), 0, q, i * d, d);
                cls[i] = c;
                ex[i] = set.sourceIndex(c, r);
                i++;
            }
        }
        try (NearestKernel k = new NearestKernel(set, 100)) {
            assertSame(set, k, q, n, cls, ex);
        }
    }

    @Test
    void ownClassOnlySearchWithLeaveOneOutMatchesAndALoneLeftOutPointHasNoNeighbour() {
        // class 3 holds a single point: left out, its own class has nothing left (the scalar search says null)
        Random rnd = new Random(5);
        int d = 12;
        List<String> ids = new ArrayList<>();
        List<float[]> z = new ArrayList<>();
        int n = 301;
        int[] labels = new int[n];
        int[] src = new int[n];
        for (int i = 0; i < n; i++) {
            ids.add("p" + i);
            labels[i] = i == n - 1 ? 3 : i % 3;
            src[i] = i;
            float[] x = new float[d];
            for (int j = 0; j < d; j++) {
                x[j] = (float) rnd.nextGaussian();
            }
            z.add(x);
        }
        ReferenceSet set = ReferenceSet.of(ids, labels, z, src, List.of("a", "b", "c", "lone"));
        float[] q = new float[n * d];
        int[] cls = new int[n];
        int[] ex = new int[n];
        int i = 0;
        for (int c = 0; c < 4; c++) {
            for (int r = 0; r < set.size(c); r++) {
                System.arraycopy(set.point(c, r), 0, q, i * d, d);
                cls[i] = c;
                ex[i] = set.sourceIndex(c, r);
                i++;
            }
        }
        try (NearestKernel k = new NearestKernel(set, 64)) {
            NearestKernel.Hits[] hits = k.search(q, n, cls, ex, false);
            for (int t = 0; t < n; t++) {
                float[] qt = java.util.Arrays.copyOfRange(q, t * d, (t + 1) * d);
                assertEquals(set.nearestIn(qt, cls[t], ex[t]), hits[t].in(), "in, query " + t);
                assertNull(hits[t].out(), "no other-class search asked for");
            }
            assertNull(hits[n - 1].in(), "the lone point, left out, has no own-class neighbour");
            assertSame(set, k, q, n, cls, ex);   // and with the other-class search: batches mixing classes
        }
    }

    @Test
    void theSetsSharedKernelAnswersConcurrentSearchesExactly() throws Exception {
        Random rnd = new Random(9);
        ReferenceSet set = randomSet(rnd, 900, 6, 20, true);
        org.junit.jupiter.api.Assertions.assertSame(set.kernel(), set.kernel(), "one kernel per set");
        int n = 700;
        int threads = 4;
        float[][] q = new float[threads][n * 20];
        int[][] cls = new int[threads][n];
        int[] none = new int[n];
        java.util.Arrays.fill(none, -1);
        for (int t = 0; t < threads; t++) {
            for (int i = 0; i < n * 20; i++) {
                q[t][i] = (float) (1 / (1 + Math.exp(-rnd.nextGaussian())));
            }
            for (int i = 0; i < n; i++) {
                cls[t][i] = rnd.nextInt(6);
            }
        }
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<NearestKernel.Hits[]>> f = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int tt = t;
                f.add(pool.submit(() -> set.kernel().search(q[tt], n, cls[tt], none, true)));
            }
            for (int t = 0; t < threads; t++) {
                NearestKernel.Hits[] hits = f.get(t).get();
                for (int i = 0; i < n; i++) {
                    float[] qi = java.util.Arrays.copyOfRange(q[t], i * 20, (i + 1) * 20);
                    assertEquals(set.nearestIn(qi, cls[t][i], -1), hits[i].in(), "in, thread " + t + " query " + i);
                    assertEquals(set.nearestOutside(qi, cls[t][i]), hits[i].out(), "out, thread " + t + " query " + i);
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    /** A reference set and queries, with each query's class and left-out index. */
    record Case(ReferenceSet set, float[] q, int[] cls, int[] ex) {
        int n() { return cls.length; }
    }

    /** z = sigmoid(alpha * u) at low steepness: every coordinate within about 1e-4 of 0.5. */
    static Case tinyBall(long seed) {
        Random rnd = new Random(seed);
        int d = 32;
        int n = 300;
        List<String> ids = new ArrayList<>();
        List<float[]> z = new ArrayList<>();
        int[] labels = new int[n];
        int[] src = new int[n];
        float[] q = new float[n * d];
        int[] cls = new int[n];
        int[] ex = new int[n];
        for (int i = 0; i < n; i++) {
            ids.add(String.format("t%04d", i));
            labels[i] = i % 3;
            src[i] = i;
            float[] x = new float[d];
            for (int j = 0; j < d; j++) {
                x[j] = (float) (0.5 + 1e-4 * (rnd.nextGaussian() + labels[i]));
                q[i * d + j] = (float) (0.5 + 1e-4 * (rnd.nextGaussian() + labels[i]));
            }
            z.add(x);
            cls[i] = labels[i];
            ex[i] = -1;
        }
        return new Case(ReferenceSet.of(ids, labels, z, src, List.of("a", "b", "c")), q, cls, ex);
    }

    @Test
    void featuresInATinyBallFarFromTheOriginNeedNoExhaustiveSearch() {
        Case c = tinyBall(3);
        try (NearestKernel k = new NearestKernel(c.set())) {
            assertSame(c.set(), k, c.q(), c.n(), c.cls(), c.ex());
            assertEquals(0, k.exhaustiveSearches(), "shifting by the reference mean keeps the error bound small");
        }
    }

    @Test
    void moreNearTiesThanCandidatesFallBackToTheExhaustiveSearch() {
        // more identical points per class than the kernel keeps as candidates
        int perClass = NearestKernel.MAX_CANDIDATES + 16;
        try (NearestKernel k = tiedKernel(perClass)) {
            assertTrue(k.exhaustiveSearches() > 0, "the crowd of ties was resolved exhaustively");
        }
    }

    @Test
    void nearTiesWithinTheCandidateLimitAreDecidedExactlyWithoutTheExhaustiveSearch() {
        try (NearestKernel k = tiedKernel(30)) {
            assertEquals(0, k.exhaustiveSearches());
        }
    }

    /** Two classes of identical points each (ids in reverse order, so id ties decide). */
    static ReferenceSet tiedSet(int perClass) {
        int n = 2 * perClass;
        List<String> ids = new ArrayList<>();
        List<float[]> z = new ArrayList<>();
        int[] labels = new int[n];
        int[] src = new int[n];
        for (int i = 0; i < n; i++) {
            ids.add(String.format("p%04d", n - 1 - i));
            labels[i] = i % 2;
            src[i] = i;
            z.add(new float[]{0.25f + labels[i] * 0.5f, 0.5f, 0.5f});
        }
        return ReferenceSet.of(ids, labels, z, src, List.of("a", "b"));
    }

    /** Two queries between the tied classes, the second leaving a point out. */
    static final float[] TIED_QUERIES = {0.3f, 0.5f, 0.5f, 0.7f, 0.5f, 0.5f};

    /** A kernel over {@link #tiedSet}, searched and checked. */
    private static NearestKernel tiedKernel(int perClass) {
        ReferenceSet set = tiedSet(perClass);
        NearestKernel k = new NearestKernel(set);
        assertSame(set, k, TIED_QUERIES, 2, new int[]{0, 1}, new int[]{-1, 4});
        return k;
    }
}

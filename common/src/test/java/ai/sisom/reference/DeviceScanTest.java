package ai.sisom.reference;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The scan a GPU runs (row minima and candidate counts computed where the products live, near-tie rows copied back)
 * must give exactly the host scan's answers: here it runs on CPU tensors, against the host scan and the scalar
 * search, with ties, leave-one-out and both d_out variants.
 */
class DeviceScanTest {
    /** Searches with both scans; their answers, and the queries they sent to the exhaustive search, must agree. */
    private static NearestKernel.Hits[] bothScans(ReferenceSet set, int block, float[] q, int n, int[] cls, int[] ex,
                                                  boolean outside) {
        try (NearestKernel host = new NearestKernel(set, block, Device.cpu(), false);
             NearestKernel device = new NearestKernel(set, block, Device.cpu(), true)) {
            NearestKernel.Hits[] h = host.search(q, n, cls, ex, outside);
            NearestKernel.Hits[] g = device.search(q, n, cls, ex, outside);
            assertEquals(n, g.length);
            for (int i = 0; i < n; i++) {
                assertEquals(h[i], g[i], "query " + i + " (outside " + outside + ")");
            }
            assertEquals(host.exhaustiveSearches(), device.exhaustiveSearches(), "exhaustive searches");
            int d = set.dimension();
            for (int i = 0; i < n; i++) {   // and both are the scalar search's answers
                float[] qi = Arrays.copyOfRange(q, i * d, (i + 1) * d);
                assertEquals(set.nearestIn(qi, cls[i], ex[i]), g[i].in(), "in, query " + i);
                if (outside) {
                    assertEquals(set.nearestOutside(qi, cls[i]), g[i].out(), "out, query " + i);
                } else {
                    assertNull(g[i].out());
                }
            }
            return g;
        }
    }

    /** The reference's own points as queries, each leaving itself out. */
    private static float[] ownPoints(ReferenceSet set, int[] cls, int[] ex) {
        int d = set.dimension();
        float[] q = new float[set.size() * d];
        int i = 0;
        for (int c = 0; c < set.numClasses(); c++) {
            for (int r = 0; r < set.size(c); r++) {
                System.arraycopy(set.point(c, r), 0, q, i * d, d);
                cls[i] = c;
                ex[i] = set.sourceIndex(c, r);
                i++;
            }
        }
        return q;
    }

    @Test
    void randomQueriesAcrossColumnBlocksGiveTheHostScansAnswers() {
        // more queries than one batch of the other-class search (1,024)
        NearestKernelTest.Case c = NearestKernelTest.randomQueries(new Random(11), 1500);
        bothScans(c.set(), 128, c.q(), c.n(), c.cls(), c.ex(), true);
        bothScans(c.set(), 128, c.q(), c.n(), c.cls(), c.ex(), false);
    }

    @Test
    void leaveOneOutWithExactDuplicatesGivesTheHostScansAnswers() {
        Random rnd = new Random(12);
        ReferenceSet set = NearestKernelTest.randomSet(rnd, 1300, 5, 16, true);   // more rows than one batch
        int[] cls = new int[set.size()];
        int[] ex = new int[set.size()];
        float[] q = ownPoints(set, cls, ex);
        bothScans(set, 100, q, set.size(), cls, ex, true);
        bothScans(set, 100, q, set.size(), cls, ex, false);
    }

    @Test
    void crowdsOfTiesBeyondTheCandidateLimitGoToTheExhaustiveSearchAsOnTheHost() {
        for (int perClass : new int[]{30, NearestKernel.MAX_CANDIDATES + 16}) {
            ReferenceSet set = NearestKernelTest.tiedSet(perClass);
            bothScans(set, 16, NearestKernelTest.TIED_QUERIES, 2, new int[]{0, 1}, new int[]{-1, 4}, true);
            int[] cls = new int[set.size()];
            int[] ex = new int[set.size()];
            float[] own = ownPoints(set, cls, ex);
            bothScans(set, 16, own, set.size(), cls, ex, true);
            bothScans(set, 16, own, set.size(), cls, ex, false);
        }
    }

    @Test
    void bothDOutVariantsGiveTheSameRatiosAsTheHostScan() {
        Random rnd = new Random(13);
        ReferenceSet set = NearestKernelTest.randomSet(rnd, 600, 4, 24, true);
        int n = 500;
        float[] q = new float[n * 24];
        int[] cls = new int[n];
        int[] ex = new int[n];
        for (int i = 0; i < n; i++) {
            // half the queries copies of reference points: exact ties at distance 0 in both sides
            float[] src = i % 2 == 0 ? set.point(i % 4, i % set.size(i % 4)) : null;
            for (int j = 0; j < 24; j++) {
                q[i * 24 + j] = src != null ? src[j] : (float) (1 / (1 + Math.exp(-rnd.nextGaussian())));
            }
            cls[i] = rnd.nextInt(4);
            ex[i] = -1;
        }
        for (DOutVariant v : DOutVariant.values()) {
            boolean outside = v == DOutVariant.SAMPLE;
            NearestKernel.Hits[] device = bothScans(set, 64, q, n, cls, ex, outside);
            Ratio[] got = Ratio.fromHits(set, device, cls, v);
            for (int i = 0; i < n; i++) {
                Ratio want = Ratio.of(set, Arrays.copyOfRange(q, i * 24, (i + 1) * 24), cls[i], -1, v);
                assertEquals(want, got[i], v + ", query " + i);
            }
        }
    }

    @Test
    void aTinyBallFarFromTheOriginNeedsNoExhaustiveSearchOnTheDeviceEither() {
        NearestKernelTest.Case c = NearestKernelTest.tinyBall(14);
        try (NearestKernel k = new NearestKernel(c.set(), 16384, Device.cpu(), true)) {
            k.search(c.q(), c.n(), c.cls(), c.ex(), true);
            assertEquals(0, k.exhaustiveSearches());
        }
        bothScans(c.set(), 16384, c.q(), c.n(), c.cls(), c.ex(), true);
    }

    @Test
    void aSetKeepsOneKernelPerDevice() {
        ReferenceSet set = NearestKernelTest.randomSet(new Random(15), 50, 2, 4, false);
        assertSame(set.kernel(), set.kernel(Device.cpu()));
        assertEquals(Device.cpu(), set.kernel().device());
    }
}

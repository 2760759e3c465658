package ai.sisom.reference;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
        Random rnd = new Random(11);
        ReferenceSet set = NearestKernelTest.randomSet(rnd, 700, 7, 33, false);
        int n = 900;   // a batch of 1,024 and more: several batches would need n > 1024; one full, one not
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
        bothScans(set, 128, q, n, cls, ex, true);
        bothScans(set, 128, q, n, cls, ex, false);
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
            ReferenceSet set = ReferenceSet.of(ids, labels, z, src, List.of("a", "b"));
            float[] q = {0.3f, 0.5f, 0.5f, 0.7f, 0.5f, 0.5f};
            bothScans(set, 16, q, 2, new int[]{0, 1}, new int[]{-1, 4}, true);
            int[] cls = new int[n];
            int[] ex = new int[n];
            float[] own = ownPoints(set, cls, ex);
            bothScans(set, 16, own, n, cls, ex, true);
            bothScans(set, 16, own, n, cls, ex, false);
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
        Random rnd = new Random(14);
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
        ReferenceSet set = ReferenceSet.of(ids, labels, z, src, List.of("a", "b", "c"));
        try (NearestKernel k = new NearestKernel(set, 16384, Device.cpu(), true)) {
            k.search(q, n, cls, ex, true);
            assertEquals(0, k.exhaustiveSearches());
        }
        bothScans(set, 16384, q, n, cls, ex, true);
    }

    @Test
    void aSetKeepsOneKernelPerDevice() {
        ReferenceSet set = NearestKernelTest.randomSet(new Random(15), 50, 2, 4, false);
        assertSame(set.kernel(), set.kernel(Device.cpu()));
        assertEquals(Device.cpu(), set.kernel().device());
    }
}

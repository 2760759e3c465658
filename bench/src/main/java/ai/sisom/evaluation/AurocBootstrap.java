package ai.sisom.evaluation;

import org.apache.commons.math3.stat.descriptive.rank.Percentile;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Stratified bootstrap of AUROC: each resample draws the ID scores and every OOD set's scores with replacement,
 * separately (so every resample keeps the sets' sizes), and computes AUROC on it. The interval is the percentile
 * interval of the resampled AUROCs (numpy's default linear interpolation, commons-math's R-7).
 * <p>
 * The resamples depend only on the seed and the sets' sizes, never on the scores: two methods scored on the same
 * samples get the same resamples, so the difference of their AUROCs can be bootstrapped paired, per resample.
 * <p>
 * A resample is a vector of counts (how often each sample was drawn), and AUROC on it is computed from the scores
 * sorted once ({@link Prepared}), in O(n) per resample instead of a sort per resample.
 */
public final class AurocBootstrap {
    private final int resamples;
    private final long seed;

    public AurocBootstrap(int resamples, long seed) {
        if (resamples < 2) {
            throw new IllegalArgumentException("bootstrap resamples must be at least 2, got " + resamples);
        }
        this.resamples = resamples;
        this.seed = seed;
    }

    public int resamples() {
        return resamples;
    }

    /** AUROC per resample and OOD set: {@code [resample][set]}, ID resampled once per resample for all sets. */
    public double[][] resample(double[] id, List<double[]> oodSets) {
        Prepared[] prepared = new Prepared[oodSets.size()];
        for (int s = 0; s < prepared.length; s++) {
            prepared[s] = new Prepared(id, oodSets.get(s));
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] out = new double[resamples][prepared.length];
        int[] idCounts = new int[id.length];
        int[][] oodCounts = new int[prepared.length][];
        for (int s = 0; s < prepared.length; s++) {
            oodCounts[s] = new int[oodSets.get(s).length];
        }
        for (int r = 0; r < resamples; r++) {
            draw(rng, idCounts);
            for (int s = 0; s < prepared.length; s++) {
                draw(rng, oodCounts[s]);
                out[r][s] = prepared[s].auroc(idCounts, oodCounts[s]);
            }
        }
        return out;
    }

    /** Draws counts.length indices uniformly with replacement and stores how often each was drawn. */
    private static void draw(SplittableRandom rng, int[] counts) {
        Arrays.fill(counts, 0);
        for (int i = 0; i < counts.length; i++) {
            counts[rng.nextInt(counts.length)]++;
        }
    }

    /** The central {@code level} percentile interval {lo, hi} of {@code values} (numpy's linear interpolation). */
    public static double[] interval(double[] values, double level) {
        if (!(level > 0 && level < 1)) {
            throw new IllegalArgumentException("confidence level must be in (0, 1), got " + level);
        }
        Percentile p = new Percentile().withEstimationType(Percentile.EstimationType.R_7);
        p.setData(values);
        double tail = 100 * (1 - level) / 2;
        return new double[]{p.evaluate(tail), p.evaluate(100 - tail)};
    }

    /** Counts from drawn indices: {@code counts[i]} = how often {@code i} occurs in {@code indices}. */
    public static int[] counts(int n, int[] indices) {
        int[] c = new int[n];
        for (int i : indices) {
            c[i]++;
        }
        return c;
    }

    /** One ID/OOD pair sorted once; AUROC of any resample of it, given as counts. */
    public static final class Prepared {
        private final int[] groupStart;   // tie groups over the ascending scores
        private final int[] member;       // sample index, ID first (0..nId-1), then OOD (nId..)
        private final int nId;

        public Prepared(double[] id, double[] ood) {
            nId = id.length;
            int n = id.length + ood.length;
            double[] s = new double[n];
            System.arraycopy(id, 0, s, 0, id.length);
            System.arraycopy(ood, 0, s, id.length, ood.length);
            member = java.util.stream.IntStream.range(0, n).boxed()
                    .sorted((a, b) -> Double.compare(s[a], s[b])).mapToInt(Integer::intValue).toArray();
            int[] starts = new int[n + 1];
            int g = 0;
            for (int k = 0; k < n; k++) {
                if (k == 0 || s[member[k]] != s[member[k - 1]]) {
                    starts[g++] = k;
                }
            }
            starts[g] = n;
            groupStart = Arrays.copyOf(starts, g + 1);
        }

        /**
         * AUROC of the resample where ID sample i occurs {@code idCounts[i]} times and OOD sample j
         * {@code oodCounts[j]} times: P(ID > OOD) + P(tie) / 2 over the resampled pairs.
         */
        public double auroc(int[] idCounts, int[] oodCounts) {
            double below = 0;   // resampled OOD weight strictly below the current group
            double sum = 0;
            long totalId = 0;
            long totalOod = 0;
            for (int g = 0; g + 1 < groupStart.length; g++) {
                long wId = 0;
                long wOod = 0;
                for (int k = groupStart[g]; k < groupStart[g + 1]; k++) {
                    int i = member[k];
                    if (i < nId) {
                        wId += idCounts[i];
                    } else {
                        wOod += oodCounts[i - nId];
                    }
                }
                sum += wId * (below + 0.5 * wOod);
                below += wOod;
                totalId += wId;
                totalOod += wOod;
            }
            return sum / ((double) totalId * totalOod);
        }
    }
}

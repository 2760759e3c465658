package ai.sisom.ood;

import java.util.Arrays;

/**
 * Threshold choices on a metric oriented so that higher means more out-of-distribution; a value is flagged when it is
 * above the threshold. Wherever the labeled values leave a gap, the threshold is the midpoint between the highest
 * labeled value it keeps and the lowest one it flags, so the pool samples that fall in the gap are split evenly
 * rather than all going to one side.
 */
public final class Thresholds {
    private Thresholds() {}

    /**
     * A threshold and how it splits the labeled values.
     *
     * @param value           the threshold (flag when above)
     * @param youdenJ         unknownsFlagged - inDistributionFlagged (NaN without unknowns)
     * @param unknownsFlagged share of the unknowns above the threshold, the true-positive rate (NaN without unknowns)
     * @param inDistFlagged   share of the in-distribution values above it, the false-positive rate
     */
    public record Cut(double value, double youdenJ, double unknownsFlagged, double inDistFlagged) {}

    /**
     * The threshold maximising Youden's J = TPR - FPR, unknowns being the positives. Every cut between two distinct
     * labeled values is considered, and "flag none" (the threshold at the largest value, J = 0); among cuts of equal
     * J the highest threshold wins (the fewest flags), which is the maximum scikit-learn's {@code roc_curve} argmax
     * finds: the labeled samples flagged are exactly those at or above its threshold.
     */
    public static Cut youden(double[] inDist, double[] unknown) {
        requireFinite(inDist, "in-distribution");
        requireFinite(unknown, "unknown");
        if (inDist.length == 0 || unknown.length == 0) {
            throw new IllegalArgumentException("Youden's J needs labeled in-distribution and unknown samples, got "
                    + inDist.length + " and " + unknown.length);
        }
        int n = inDist.length + unknown.length;
        double[] v = new double[n];
        boolean[] pos = new boolean[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            v[i] = i < inDist.length ? inDist[i] : unknown[i - inDist.length];
            pos[i] = i >= inDist.length;
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(v[b], v[a]));   // descending
        double max = v[order[0]];
        Cut best = new Cut(max, 0, 0, 0);
        int tp = 0;
        int fp = 0;
        int i = 0;
        while (i < n) {
            double g = v[order[i]];
            while (i < n && v[order[i]] == g) {
                if (pos[order[i]]) {
                    tp++;
                } else {
                    fp++;
                }
                i++;
            }
            if (i == n) {
                break;   // flagging everything: J = 0, never better than flagging nothing
            }
            double tpr = (double) tp / unknown.length;
            double fpr = (double) fp / inDist.length;
            if (tpr - fpr > best.youdenJ()) {
                best = new Cut(midpoint(v[order[i]], g), tpr - fpr, tpr, fpr);
            }
        }
        return best;
    }

    /**
     * The threshold keeping at least {@code share} of the in-distribution values: above the ceil(share * n)-th
     * smallest (all values equal to it are kept), at the midpoint to the next larger value. With unknowns given,
     * the rates include them.
     */
    public static Cut keepShare(double[] inDist, double share, double[] unknown) {
        requireFinite(inDist, "in-distribution");
        requireFinite(unknown, "unknown");
        if (!(share > 0 && share < 1)) {
            throw new IllegalArgumentException("the share of labeled in-distribution samples to keep must be in (0, 1), "
                    + "got " + share);
        }
        if (inDist.length == 0) {
            throw new IllegalArgumentException("keeping a share of labeled in-distribution samples needs some");
        }
        double[] s = inDist.clone();
        Arrays.sort(s);
        // ceil, robust to share * n landing a rounding error above an integer (0.95 * 500 = 475.00000000000006)
        int k = (int) Math.ceil(share * s.length - 1e-9);
        k = Math.max(1, Math.min(k, s.length));
        double kept = s[k - 1];
        int j = k;
        while (j < s.length && s[j] == kept) {
            j++;
        }
        double t = j < s.length ? midpoint(kept, s[j]) : kept;
        return rates(t, inDist, unknown);
    }

    /** How a threshold splits the labeled values. */
    public static Cut rates(double t, double[] inDist, double[] unknown) {
        double fpr = inDist.length == 0 ? Double.NaN : (double) above(inDist, t) / inDist.length;
        double tpr = unknown.length == 0 ? Double.NaN : (double) above(unknown, t) / unknown.length;
        return new Cut(t, tpr - fpr, tpr, fpr);
    }

    /**
     * AUROC of the metric with unknowns as positives: the probability that an unknown's value is above an
     * in-distribution one, ties counting half (Mann-Whitney), by sorting.
     */
    public static double auroc(double[] inDist, double[] unknown) {
        if (inDist.length == 0 || unknown.length == 0) {
            return Double.NaN;
        }
        double[] s = inDist.clone();
        Arrays.sort(s);
        double sum = 0;
        for (double u : unknown) {
            int lo = lowerBound(s, u);
            int hi = upperBound(s, u);
            sum += lo + 0.5 * (hi - lo);
        }
        return sum / ((double) inDist.length * unknown.length);
    }

    private static int above(double[] v, double t) {
        int c = 0;
        for (double x : v) {
            if (x > t) {
                c++;
            }
        }
        return c;
    }

    /**
     * The midpoint of lo < hi as a threshold: in [lo, hi), so that "above it" keeps lo and flags hi even when the two
     * are adjacent doubles (halving first cannot overflow).
     */
    private static double midpoint(double lo, double hi) {
        double m = lo / 2 + hi / 2;
        return m >= lo && m < hi ? m : lo;
    }

    private static int lowerBound(double[] s, double x) {
        int lo = 0;
        int hi = s.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (s[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static int upperBound(double[] s, double x) {
        int lo = 0;
        int hi = s.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (s[mid] <= x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static void requireFinite(double[] v, String what) {
        for (double x : v) {
            if (!Double.isFinite(x)) {
                throw new IllegalArgumentException("a labeled " + what + " sample has a non-finite metric value " + x);
            }
        }
    }
}

package ai.sisom.evaluation;

import java.util.Arrays;

/**
 * OOD detection metrics with OpenOOD's conventions (METHOD.md 9): scores are in-distribution scores (higher = more
 * in-distribution), in-distribution is the positive class. Computed exactly as OpenOOD computes them with
 * scikit-learn, ties included:
 * <ul>
 *   <li>AUROC: area under the ROC curve (a tied ID/OOD pair counts one half).</li>
 *   <li>AUPR-In: trapezoidal area under the precision-recall curve with ID positive and the score as ranking
 *   ({@code auc(recall, precision)} over {@code precision_recall_curve}, not average precision).</li>
 *   <li>AUPR-Out: the same with OOD positive and the negated score.</li>
 *   <li>FPR@95TPR, ID positive ({@link Result#fpr95()}): the fraction of OOD samples accepted at the highest
 *   threshold that accepts at least 95 % of the ID samples, as in the ODIN and Energy papers.</li>
 *   <li>FPR@95TPR, OOD positive ({@link Result#fpr95OodPositive()}): OpenOOD v1.5's code
 *   ({@code roc_curve(ood_indicator, -conf)}): the fraction of ID samples flagged at the threshold that flags at
 *   least 95 % of the OOD samples. The two differ whenever the score distributions' tails differ.</li>
 * </ul>
 */
public final class OodMetrics {
    private OodMetrics() {}

    /** One method on one ID/OOD pair; {@code fpr95} takes ID as positive, {@code fpr95OodPositive} OOD. */
    public record Result(double auroc, double auprIn, double auprOut, double fpr95, double fpr95OodPositive) {}

    public static Result compute(double[] id, double[] ood) {
        check(id, "in-distribution");
        check(ood, "out-of-distribution");
        double[] negOod = negate(ood);
        double[] negId = negate(id);
        return new Result(auroc(id, ood), aupr(id, ood), aupr(negOod, negId), fprAtTpr(id, ood, 0.95),
                fprAtTpr(negOod, negId, 0.95));
    }

    /** P(score(pos) > score(neg)) + P(tie) / 2, by sorting: O(n log n) (the OOD threshold's own AUROC). */
    public static double auroc(double[] pos, double[] neg) {
        return ai.sisom.ood.Thresholds.auroc(neg, pos);
    }

    /**
     * scikit-learn's {@code auc(recall, precision)} over {@code precision_recall_curve(y, score)}: one point per
     * distinct score (descending thresholds) until full recall, plus (recall 0, precision 1).
     */
    public static double aupr(double[] pos, double[] neg) {
        Curve c = curve(pos, neg);
        int last = 0;
        while (c.tp[last] < pos.length) {
            last++;
        }
        double area = 0;
        double prevRecall = 0;
        double prevPrecision = 1;
        for (int i = 0; i <= last; i++) {
            double recall = c.tp[i] / (double) pos.length;
            double precision = c.tp[i] / (double) (c.tp[i] + c.fp[i]);
            area += (recall - prevRecall) * (precision + prevPrecision) / 2;
            prevRecall = recall;
            prevPrecision = precision;
        }
        return area;
    }

    /** The smallest false-positive rate among thresholds whose true-positive rate is at least {@code tpr}. */
    public static double fprAtTpr(double[] pos, double[] neg, double tpr) {
        Curve c = curve(pos, neg);
        for (int i = 0; i < c.tp.length; i++) {
            // a tolerance against 0.95 * n landing a hair below an integer count
            if (c.tp[i] >= tpr * pos.length - 1e-9) {
                return c.fp[i] / (double) neg.length;
            }
        }
        throw new IllegalStateException("unreachable: the last threshold accepts every positive");
    }

    /** Cumulative true and false positives at each distinct score, thresholds descending. */
    private record Curve(long[] tp, long[] fp) {}

    private static Curve curve(double[] pos, double[] neg) {
        int n = pos.length + neg.length;
        double[] s = new double[n];
        boolean[] positive = new boolean[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            positive[i] = i < pos.length;
            s[i] = i < pos.length ? pos[i] : neg[i - pos.length];
        }
        Arrays.sort(order, (a, b) -> Double.compare(s[b], s[a]));
        long[] tp = new long[n];
        long[] fp = new long[n];
        int m = 0;
        long t = 0;
        long f = 0;
        for (int k = 0; k < n; k++) {
            int i = order[k];
            if (positive[i]) {
                t++;
            } else {
                f++;
            }
            if (k == n - 1 || s[order[k + 1]] != s[i]) {
                tp[m] = t;
                fp[m] = f;
                m++;
            }
        }
        return new Curve(Arrays.copyOf(tp, m), Arrays.copyOf(fp, m));
    }

    private static double[] negate(double[] a) {
        double[] b = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = -a[i];
        }
        return b;
    }

    private static void check(double[] a, String what) {
        if (a.length == 0) {
            throw new IllegalArgumentException("no " + what + " scores");
        }
        for (int i = 0; i < a.length; i++) {
            if (!Double.isFinite(a[i])) {
                throw new IllegalArgumentException(what + " score " + i + " is not finite: " + a[i]);
            }
        }
    }
}

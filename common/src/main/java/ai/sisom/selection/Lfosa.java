package ai.sisom.selection;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * LfOSA selection (open-set annotation, METHOD.md section 8): samples that the (K+1)-way detector assigns to a
 * known class c are grouped by c; per class a two-component Gaussian mixture is fitted to their maximum activation
 * values (the largest logit); a sample's weight is the posterior of the higher-mean component; the highest weights
 * are queried. Samples predicted as the unknown class K are never queried.
 *
 * <p>The one-dimensional EM is written here rather than taken from commons-math: the reference code uses
 * scikit-learn's GaussianMixture (two components, 10 iterations at most, tolerance 1e-2, reg_covar 5e-4), and
 * commons-math's mixture EM has no variance regularisation, so it fails when a class's values collapse to one
 * point, which small classes do.
 */
public final class Lfosa {
    private Lfosa() {}

    /** A fitted two-component mixture: weights, means and variances, component 1 having the higher mean. */
    public record Mixture(double[] weight, double[] mean, double[] variance) {
        /** Posterior probability of the higher-mean component at x. */
        public double posteriorHigh(double x) {
            double p0 = weight[0] * normal(x, mean[0], variance[0]);
            double p1 = weight[1] * normal(x, mean[1], variance[1]);
            double s = p0 + p1;
            return s > 0 ? p1 / s : (x >= (mean[0] + mean[1]) / 2 ? 1 : 0);
        }
    }

    /** One candidate: its id, the detector's predicted class and its maximum activation value. */
    public record Candidate(String id, int predicted, double mav) {}

    /** A candidate with its LfOSA weight. */
    public record Weighted(String id, int predicted, double mav, double weight) {}

    static final double REG_COVAR = 5e-4;
    static final int MAX_ITER = 10;
    static final double TOL = 1e-2;

    /**
     * Fits the two-component mixture with the reference code's settings; initialised from the lower and upper
     * halves of the sorted values (as k-means with two clusters would start on one-dimensional data).
     */
    public static Mixture fit(double[] x, int maxIter, double tol) {
        int n = x.length;
        if (n < 2) {
            throw new IllegalArgumentException("a two-component mixture needs at least two values, got " + n);
        }
        double[] s = x.clone();
        Arrays.sort(s);
        double[] mean = {mean(s, 0, n / 2), mean(s, n / 2, n)};
        double[] var = {variance(s, 0, n / 2, mean[0]) + REG_COVAR, variance(s, n / 2, n, mean[1]) + REG_COVAR};
        double[] w = {(n / 2) / (double) n, (n - n / 2) / (double) n};
        double prevLl = Double.NEGATIVE_INFINITY;
        double[][] r = new double[n][2];
        for (int it = 0; it < maxIter; it++) {
            double ll = 0;
            for (int i = 0; i < n; i++) { // E step
                double a = w[0] * normal(x[i], mean[0], var[0]);
                double b = w[1] * normal(x[i], mean[1], var[1]);
                double t = a + b;
                if (t <= 0) { // far from both: give it to the nearer mean
                    a = Math.abs(x[i] - mean[0]) <= Math.abs(x[i] - mean[1]) ? 1 : 0;
                    b = 1 - a;
                    t = 1;
                } else {
                    ll += Math.log(t);
                }
                r[i][0] = a / t;
                r[i][1] = b / t;
            }
            for (int k = 0; k < 2; k++) { // M step
                double nk = 1e-10;
                double m = 0;
                for (int i = 0; i < n; i++) {
                    nk += r[i][k];
                    m += r[i][k] * x[i];
                }
                m /= nk;
                double v = 0;
                for (int i = 0; i < n; i++) {
                    v += r[i][k] * (x[i] - m) * (x[i] - m);
                }
                mean[k] = m;
                var[k] = v / nk + REG_COVAR;
                w[k] = nk / n;
            }
            ll /= n;
            if (Math.abs(ll - prevLl) < tol) {
                break;
            }
            prevLl = ll;
        }
        return mean[0] <= mean[1] ? new Mixture(w, mean, var)
                : new Mixture(new double[]{w[1], w[0]}, new double[]{mean[1], mean[0]}, new double[]{var[1], var[0]});
    }

    /**
     * Weights every candidate predicted as a known class (0..numKnown-1) and returns the q highest, ties by id.
     * A class with a single candidate cannot be fitted; its candidate gets weight 0.5 (no evidence either way).
     */
    public static List<Weighted> select(List<Candidate> candidates, int numKnown, int q) {
        List<Weighted> all = new ArrayList<>();
        for (int c = 0; c < numKnown; c++) {
            List<Candidate> mine = new ArrayList<>();
            for (Candidate x : candidates) {
                if (x.predicted() == c) {
                    mine.add(x);
                }
            }
            if (mine.isEmpty()) {
                continue;
            }
            double[] v = mine.stream().mapToDouble(Candidate::mav).toArray();
            Mixture m = v.length >= 2 ? fit(v, MAX_ITER, TOL) : null;
            for (Candidate x : mine) {
                all.add(new Weighted(x.id(), c, x.mav(), m == null ? 0.5 : m.posteriorHigh(x.mav())));
            }
        }
        all.sort(Comparator.comparingDouble((Weighted x) -> -x.weight()).thenComparing(Weighted::id));
        return all.subList(0, Math.min(q, all.size()));
    }

    static double normal(double x, double mu, double var) {
        double d = x - mu;
        return Math.exp(-d * d / (2 * var)) / Math.sqrt(2 * Math.PI * var);
    }

    private static double mean(double[] s, int from, int to) {
        double m = 0;
        for (int i = from; i < to; i++) {
            m += s[i];
        }
        return m / (to - from);
    }

    private static double variance(double[] s, int from, int to, double m) {
        double v = 0;
        for (int i = from; i < to; i++) {
            v += (s[i] - m) * (s[i] - m);
        }
        return v / (to - from);
    }
}

package ai.sisom.posthoc;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;

import java.util.Arrays;

/**
 * The OpenOOD post-hoc baselines, transcribed from OpenOOD v1.5's postprocessors (openood/postprocessors/*.py) and
 * checked against NumPy transcriptions in {@code OodPostprocessorsTest}. Every score is an in-distribution score
 * (higher = more in-distribution). Inputs are per-sample rows: logits (K), penultimate features (P, the input of the
 * final linear layer). Methods that need training data are fitted on the labeled set, the same one SISOM's reference
 * is built from.
 */
public final class OodPostprocessors {
    private OodPostprocessors() {}

    /** Maximum softmax probability (Hendrycks and Gimpel 2017). */
    public static double msp(double[] logits) {
        double lse = logSumExp(logits);
        return Math.exp(max(logits) - lse);
    }

    public static double maxLogit(double[] logits) {
        return max(logits);
    }

    /** Negative free energy at temperature 1 (Liu et al. 2020): logsumexp of the logits. */
    public static double energy(double[] logits) {
        return logSumExp(logits);
    }

    /**
     * GEN (Liu et al. 2023), OpenOOD's defaults gamma = 0.1 and the top M = min(10, K) probabilities:
     * {@code -sum_top (p^gamma (1 - p)^gamma)}.
     */
    public static double gen(double[] logits, double gamma, int m) {
        double lse = logSumExp(logits);
        double[] p = new double[logits.length];
        for (int k = 0; k < p.length; k++) {
            p[k] = Math.exp(logits[k] - lse);
        }
        Arrays.sort(p);
        double s = 0;
        for (int i = 0; i < Math.min(m, p.length); i++) {
            double v = p[p.length - 1 - i];
            s += Math.pow(v, gamma) * Math.pow(1 - v, gamma);
        }
        return -s;
    }

    /** Minus the predictive entropy {@code sum p log p} (0 log 0 = 0). */
    public static double negEntropy(double[] logits) {
        double lse = logSumExp(logits);
        double s = 0;
        for (double l : logits) {
            double lp = l - lse;
            double p = Math.exp(lp);
            if (p > 0) {
                s += p * lp;
            }
        }
        return s;
    }

    /** The largest class probability minus the second largest. */
    public static double margin(double[] logits) {
        double lse = logSumExp(logits);
        double first = Double.NEGATIVE_INFINITY;
        double second = Double.NEGATIVE_INFINITY;
        for (double l : logits) {
            if (l > first) {
                second = first;
                first = l;
            } else if (l > second) {
                second = l;
            }
        }
        return Math.exp(first - lse) - Math.exp(second - lse);
    }

    /** The final linear layer, {@code logits = W x + b}: ReAct, ASH and ViM recompute logits from altered features. */
    public record Head(double[][] weight, double[] bias) implements java.io.Serializable {
        public Head {
            if (weight.length != bias.length || weight.length == 0) {
                throw new IllegalArgumentException("head: " + weight.length + " weight rows but " + bias.length
                        + " biases");
            }
        }

        /** A head from float32 parameters, as the model contract's metadata stores them. */
        public static Head of(float[][] weight, float[] bias) {
            double[][] w = new double[weight.length][];
            for (int k = 0; k < w.length; k++) {
                w[k] = new double[weight[k].length];
                for (int j = 0; j < w[k].length; j++) {
                    w[k][j] = weight[k][j];
                }
            }
            double[] b = new double[bias.length];
            for (int k = 0; k < b.length; k++) {
                b[k] = bias[k];
            }
            return new Head(w, b);
        }

        public int inputs() { return weight[0].length; }

        public double[] logits(double[] x) {
            if (x.length != inputs()) {
                throw new IllegalArgumentException("head expects " + inputs() + " features, got " + x.length);
            }
            double[] l = new double[weight.length];
            for (int k = 0; k < l.length; k++) {
                double s = bias[k];
                for (int j = 0; j < x.length; j++) {
                    s += weight[k][j] * x[j];
                }
                l[k] = s;
            }
            return l;
        }
    }

    /**
     * KNN (Sun et al. 2022): minus the squared distance (Faiss IndexFlatL2's unit, as OpenOOD) from the
     * L2-normalised feature to its k-th nearest L2-normalised fit feature.
     */
    public static final class Knn implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final double[][] fit;
        private final int k;

        private Knn(int k, double[][] normalisedFit) {
            this.fit = normalisedFit;
            this.k = k;
        }

        /** A KNN from already-normalised fit features (as {@link #normalisedFit} returns them). */
        public static Knn ofNormalised(double[][] normalisedFit, int k) {
            if (k < 1 || k > normalisedFit.length) {
                throw new IllegalArgumentException("KNN: k = " + k + " needs 1 <= k <= " + normalisedFit.length
                        + " fit samples");
            }
            return new Knn(k, normalisedFit);
        }

        public int k() { return k; }

        /** The L2-normalised fit features (shared, do not modify). */
        public double[][] normalisedFit() { return fit; }

        public Knn(double[][] fitFeatures, int k) {
            if (k < 1 || k > fitFeatures.length) {
                throw new IllegalArgumentException("KNN: k = " + k + " needs 1 <= k <= " + fitFeatures.length
                        + " fit samples");
            }
            this.fit = new double[fitFeatures.length][];
            for (int i = 0; i < fit.length; i++) {
                fit[i] = normalised(fitFeatures[i]);
            }
            this.k = k;
        }

        public double score(double[] x) {
            double[] q = normalised(x);
            double[] d = new double[fit.length];
            for (int i = 0; i < fit.length; i++) {
                d[i] = squaredDistance(q, fit[i]);
            }
            return -select(d, k - 1);
        }

        /** x / (||x|| + 1e-10), OpenOOD's normalisation. */
        public static double[] normalised(double[] x) {
            double n = 0;
            for (double v : x) {
                n += v * v;
            }
            n = Math.sqrt(n) + 1e-10;
            double[] y = new double[x.length];
            for (int j = 0; j < x.length; j++) {
                y[j] = x[j] / n;
            }
            return y;
        }
    }

    /**
     * Mahalanobis, OpenOOD's MDS (Lee et al. 2018 without input preprocessing): class means, one covariance of the
     * class-centred fit features (divided by n, as scikit-learn's EmpiricalCovariance), its pseudo-inverse; the
     * score is the maximum over classes of minus the squared Mahalanobis distance.
     */
    public static final class Mahalanobis implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final double[][] means;
        private final double[][] precision;

        private Mahalanobis(double[][] means, double[][] precision) {
            this.means = means;
            this.precision = precision;
        }

        /** A fitted one from its class means and precision matrix (as {@link #means} and {@link #precision} give). */
        public static Mahalanobis of(double[][] means, double[][] precision) {
            return new Mahalanobis(means, precision);
        }

        public double[][] means() { return means; }

        public double[][] precision() { return precision; }

        public Mahalanobis(double[][] fit, int[] labels, int classes) {
            int p = fit[0].length;
            means = new double[classes][p];
            int[] count = new int[classes];
            for (int i = 0; i < fit.length; i++) {
                if (labels[i] < 0 || labels[i] >= classes) {
                    throw new IllegalArgumentException("Mahalanobis: fit sample " + i + " has label " + labels[i]
                            + " outside 0.." + (classes - 1));
                }
                count[labels[i]]++;
                for (int j = 0; j < p; j++) {
                    means[labels[i]][j] += fit[i][j];
                }
            }
            for (int c = 0; c < classes; c++) {
                if (count[c] == 0) {
                    throw new IllegalArgumentException("Mahalanobis: class " + c + " has no fit sample");
                }
                for (int j = 0; j < p; j++) {
                    means[c][j] /= count[c];
                }
            }
            double[][] centred = new double[fit.length][];
            for (int i = 0; i < fit.length; i++) {
                centred[i] = minus(fit[i], means[labels[i]]);
            }
            precision = pseudoInverse(covariance(centred, false));
        }

        public double score(double[] x) {
            double best = Double.NEGATIVE_INFINITY;
            for (double[] mean : means) {
                double[] d = minus(x, mean);
                best = Math.max(best, -quadratic(d, precision));
            }
            return best;
        }

        /** The class whose Gaussian is nearest (the argmax of {@link #score}'s maximum). */
        public int nearestClass(double[] x) {
            int best = 0;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < means.length; c++) {
                double s = -quadratic(minus(x, means[c]), precision);
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            return best;
        }
    }

    /**
     * ReAct (Sun et al. 2021): clip the penultimate features at a percentile of all fit activations (OpenOOD's
     * default 90, NumPy's linear interpolation), recompute the logits, score with energy.
     */
    public static final class ReAct implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final Head head;
        private final double threshold;

        /** A ReAct with a known clipping threshold. */
        public ReAct(Head head, double threshold) {
            this.head = head;
            this.threshold = threshold;
        }

        public ReAct(double[][] fit, Head head, double percentile) {
            double[] all = new double[fit.length * fit[0].length];
            int n = 0;
            for (double[] row : fit) {
                for (double v : row) {
                    all[n++] = v;
                }
            }
            this.threshold = numpyPercentile(all, percentile);
            this.head = head;
        }

        public double threshold() { return threshold; }

        public double score(double[] x) {
            double[] c = new double[x.length];
            for (int j = 0; j < x.length; j++) {
                c[j] = Math.min(x[j], threshold);
            }
            return energy(head.logits(c));
        }
    }

    /**
     * ASH (Djurisic et al. 2023) on the pooled penultimate features, as OpenOOD applies it: keep each sample's top
     * {@code n - round(n * p / 100)} activations and zero the rest; ASH-S then scales by {@code exp(s1 / s2)} (sum
     * before / after pruning), ASH-B replaces the kept values by {@code s1 / k}. Scored with energy.
     */
    public static double ash(double[] x, Head head, double percentile, boolean binary) {
        int n = x.length;
        int k = n - (int) Math.round(n * percentile / 100.0);
        if (k < 1) {
            throw new IllegalArgumentException("ASH: percentile " + percentile + " keeps no activation of " + n);
        }
        Integer[] order = new Integer[n];
        double s1 = 0;
        for (int j = 0; j < n; j++) {
            order[j] = j;
            s1 += x[j];
        }
        Arrays.sort(order, (a, b) -> Double.compare(x[b], x[a]));
        double[] y = new double[n];
        double s2 = 0;
        for (int i = 0; i < k; i++) {
            int j = order[i];
            y[j] = binary ? s1 / k : x[j];
            s2 += x[j];
        }
        // an all-zero feature (s2 = 0) would be 0/0 in OpenOOD; it stays all zero here
        if (!binary && s2 != 0) {
            double scale = Math.exp(s1 / s2);
            for (int j = 0; j < n; j++) {
                y[j] *= scale;
            }
        }
        return energy(head.logits(y));
    }

    /**
     * ViM (Wang et al. 2022): origin {@code u = -pinv(W) b}; principal subspace of dimension D of the uncentred
     * covariance of {@code fit - u}; virtual logit = alpha times the norm of the residual outside it, with
     * alpha = mean max logit / mean residual norm on the fit set; score = energy - virtual logit.
     */
    public static final class Vim implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final Head head;
        private final double[] origin;
        private final double[][] residualBasis; // P x (P - D)
        private final double alpha;

        private Vim(Head head, double[] origin, double[][] residualBasis, double alpha) {
            this.head = head;
            this.origin = origin;
            this.residualBasis = residualBasis;
            this.alpha = alpha;
        }

        /** A fitted one from its parts (as {@link #origin}, {@link #residualBasis} and {@link #alpha} give). */
        public static Vim of(Head head, double[] origin, double[][] residualBasis, double alpha) {
            return new Vim(head, origin, residualBasis, alpha);
        }

        public double[] origin() { return origin; }

        /** P x (P - D): the eigenvectors outside the principal space, as columns. */
        public double[][] residualBasis() { return residualBasis; }

        /** The principal space's dimension D. */
        public int dim() { return origin.length - residualBasis[0].length; }

        public Vim(double[][] fit, Head head, int dim) {
            int p = head.inputs();
            if (dim < 1 || dim >= p) {
                throw new IllegalArgumentException("ViM: subspace dimension " + dim + " must be in 1.." + (p - 1));
            }
            this.head = head;
            RealMatrix pinv = new SingularValueDecomposition(new Array2DRowRealMatrix(head.weight())).getSolver()
                    .getInverse();
            double[] u = pinv.operate(head.bias());
            for (int j = 0; j < p; j++) {
                u[j] = -u[j];
            }
            this.origin = u;
            double[][] shifted = new double[fit.length][];
            for (int i = 0; i < fit.length; i++) {
                shifted[i] = minus(fit[i], origin);
            }
            EigenDecomposition eig = new EigenDecomposition(new Array2DRowRealMatrix(covariance(shifted, true)));
            double[] values = eig.getRealEigenvalues();
            Integer[] order = new Integer[p];
            for (int j = 0; j < p; j++) {
                order[j] = j;
            }
            Arrays.sort(order, (a, b) -> Double.compare(values[b], values[a]));
            residualBasis = new double[p][p - dim];
            for (int c = dim; c < p; c++) {
                double[] v = eig.getEigenvector(order[c]).toArray();
                for (int j = 0; j < p; j++) {
                    residualBasis[j][c - dim] = v[j];
                }
            }
            double maxLogits = 0;
            double norms = 0;
            for (double[] x : fit) {
                maxLogits += max(head.logits(x));
                norms += residualNorm(x);
            }
            this.alpha = maxLogits / norms;
        }

        public double alpha() { return alpha; }

        public double score(double[] x) {
            return energy(head.logits(x)) - alpha * residualNorm(x);
        }

        private double residualNorm(double[] x) {
            double[] d = minus(x, origin);
            double s = 0;
            for (int c = 0; c < residualBasis[0].length; c++) {
                double t = 0;
                for (int j = 0; j < d.length; j++) {
                    t += d[j] * residualBasis[j][c];
                }
                s += t * t;
            }
            return Math.sqrt(s);
        }
    }

    // ---- helpers

    static double logSumExp(double[] l) {
        double m = max(l);
        double s = 0;
        for (double v : l) {
            s += Math.exp(v - m);
        }
        return m + Math.log(s);
    }

    static double max(double[] a) {
        double m = Double.NEGATIVE_INFINITY;
        for (double v : a) {
            m = Math.max(m, v);
        }
        return m;
    }

    private static double[] minus(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int j = 0; j < a.length; j++) {
            d[j] = a[j] - b[j];
        }
        return d;
    }

    private static double squaredDistance(double[] a, double[] b) {
        double s = 0;
        for (int j = 0; j < a.length; j++) {
            double d = a[j] - b[j];
            s += d * d;
        }
        return s;
    }

    private static double quadratic(double[] d, double[][] m) {
        double s = 0;
        for (int i = 0; i < d.length; i++) {
            double t = 0;
            for (int j = 0; j < d.length; j++) {
                t += m[i][j] * d[j];
            }
            s += d[i] * t;
        }
        return s;
    }

    /** scikit-learn's EmpiricalCovariance: divided by n; centred on the column means unless assumeCentred. */
    private static double[][] covariance(double[][] x, boolean assumeCentred) {
        int n = x.length;
        int p = x[0].length;
        double[] mean = new double[p];
        if (!assumeCentred) {
            for (double[] row : x) {
                for (int j = 0; j < p; j++) {
                    mean[j] += row[j] / n;
                }
            }
        }
        double[][] c = new double[p][p];
        for (double[] row : x) {
            for (int i = 0; i < p; i++) {
                double di = row[i] - mean[i];
                for (int j = i; j < p; j++) {
                    c[i][j] += di * (row[j] - mean[j]);
                }
            }
        }
        for (int i = 0; i < p; i++) {
            for (int j = i; j < p; j++) {
                c[i][j] /= n;
                c[j][i] = c[i][j];
            }
        }
        return c;
    }

    /** Symmetric pseudo-inverse (scipy's pinvh, which EmpiricalCovariance uses): eigenvalues below a cut-off drop. */
    private static double[][] pseudoInverse(double[][] sym) {
        EigenDecomposition eig = new EigenDecomposition(new Array2DRowRealMatrix(sym));
        double[] values = eig.getRealEigenvalues();
        double largest = 0;
        for (double v : values) {
            largest = Math.max(largest, Math.abs(v));
        }
        double cut = largest * sym.length * Math.ulp(1.0);
        int p = sym.length;
        double[][] inv = new double[p][p];
        for (int c = 0; c < p; c++) {
            if (Math.abs(values[c]) <= cut) {
                continue;
            }
            double[] v = eig.getEigenvector(c).toArray();
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < p; j++) {
                    inv[i][j] += v[i] * v[j] / values[c];
                }
            }
        }
        return inv;
    }

    /** NumPy's default percentile (linear interpolation between closest ranks). */
    static double numpyPercentile(double[] values, double q) {
        double[] s = values.clone();
        Arrays.sort(s);
        double pos = q / 100.0 * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, s.length - 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    /** The k-th smallest value (0-based), by sorting a copy. */
    private static double select(double[] d, int k) {
        double[] s = d.clone();
        Arrays.sort(s);
        return s[k];
    }
}

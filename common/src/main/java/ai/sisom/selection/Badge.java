package ai.sisom.selection;

import ai.sisom.util.Chunks;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * BADGE (Ash et al. 2020): k-means++ seeding on the hallucinated gradient embeddings. A candidate's embedding is the
 * gradient of the cross-entropy at its predicted label with respect to the last layer's weights,
 * {@code (onehot(argmax p) - p) outer penultimate} with {@code p = softmax(logits)}, flattened class-major as in the
 * authors' {@code get_grad_embedding}. The first pick is the embedding of largest norm; every next one is drawn with
 * probability proportional to the squared distance to its nearest pick so far. Picked candidates have distance 0, so
 * none is drawn twice; when every remaining distance is 0 the draw is uniform over the candidates not yet picked.
 *
 * <p>Exact over the candidates it is given, and the same as {@code bench/python/al_strategies.py}'s
 * {@code badge_embedding} + {@code kmeans_pp_pick} given the same uniforms: each weighted draw takes one uniform u in
 * [0, 1) and picks as NumPy's {@code Generator.choice(n, p=d2 / d2.sum())} does ({@code cdf = p.cumsum();
 * cdf /= cdf[-1]; cdf.searchsorted(u, side='right')}, see {@link #draw}). The random numbers themselves differ from
 * NumPy's (a seeded {@link SplittableRandom}), and so does the all-zero fallback, which NumPy draws by
 * {@code integers} rather than from a uniform.
 *
 * <p>The K x D embedding is never stored: each candidate keeps {@code onehot - p} (K) and its penultimate features
 * (D), and a squared distance between two embeddings is summed over the K x D products in double, which are the
 * embedding's own values. Memory is O(candidates x (K + D)); one pick costs O(candidates x K x D).
 */
public final class Badge {
    private Badge() {}

    /** A candidate: its id, penultimate features and logits. */
    public record Candidate(String id, float[] penultimate, float[] logits) {}

    /** One pick (rank from 1) and its position in the candidate list. */
    public record Pick(int rank, String id, int position) {}

    /** {@code softmax(logits)} in double, the largest logit subtracted first. */
    public static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int k = 0; k < p.length; k++) {
            p[k] = Math.exp(logits[k] - max);
            sum += p[k];
        }
        for (int k = 0; k < p.length; k++) {
            p[k] /= sum;
        }
        return p;
    }

    /** {@code onehot(argmax p) - p} (the first of equal maxima), the gradient's class factor. */
    static double[] classFactor(float[] logits) {
        double[] p = softmax(logits);
        int top = 0;
        for (int k = 1; k < p.length; k++) {
            if (p[k] > p[top]) {
                top = k;
            }
        }
        double[] a = new double[p.length];
        for (int k = 0; k < p.length; k++) {
            a[k] = (k == top ? 1.0 : 0.0) - p[k];
        }
        return a;
    }

    /** The gradient embedding, class-major: element {@code k * D + d} is {@code (onehot - p)[k] * penultimate[d]}. */
    public static double[] embedding(float[] logits, float[] penultimate) {
        double[] a = classFactor(logits);
        int dim = penultimate.length;
        double[] g = new double[a.length * dim];
        for (int k = 0; k < a.length; k++) {
            for (int d = 0; d < dim; d++) {
                g[k * dim + d] = a[k] * penultimate[d];
            }
        }
        return g;
    }

    /** The q picks, in order, drawing from a {@link SplittableRandom} seeded with {@code seed}. */
    public static List<Pick> select(List<Candidate> candidates, int q, long seed) {
        return select(candidates, q, new SplittableRandom(seed)::nextDouble);
    }

    /**
     * The q picks, in order; every draw after the first pick takes one number in [0, 1) from {@code uniforms}.
     *
     * @throws IllegalArgumentException q outside 0..candidates, a penultimate or logits dimension that differs from the
     *                                  first candidate's, a non-finite value, a duplicate id
     */
    public static List<Pick> select(List<Candidate> candidates, int q, DoubleSupplier uniforms) {
        int n = candidates.size();
        CandidateChecks.checkQ(q, n);
        if (q == 0) {
            return List.of();
        }
        String[] ids = new String[n];
        float[][] h = new float[n][];
        float[][] logits = new float[n][];
        for (int i = 0; i < n; i++) {
            Candidate c = candidates.get(i);
            ids[i] = c.id();
            h[i] = c.penultimate();
            logits[i] = c.logits();
        }
        int dim = CandidateChecks.checkVectors(ids, h, "penultimate", -1);
        CandidateChecks.checkVectors(ids, logits, "logits", -1);
        CandidateChecks.checkUnique(ids);
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            a[i] = classFactor(logits[i]);
        }
        int perTask = Math.max(1, TERMS_PER_TASK / (a[0].length * dim));

        // the first pick: the largest norm (squared, summed over the embedding's own values; the first of equals)
        double[] norm2 = new double[n];
        Chunks.map(n, perTask, (from, to) -> {
            for (int i = from; i < to; i++) {
                double s = 0;
                for (double ak : a[i]) {
                    for (float hd : h[i]) {
                        double g = ak * hd;
                        s += g * g;
                    }
                }
                norm2[i] = s;
            }
            return null;
        });
        int first = 0;
        for (int i = 1; i < n; i++) {
            if (norm2[i] > norm2[first]) {
                first = i;
            }
        }

        boolean[] chosen = new boolean[n];
        double[] d2 = new double[n];
        java.util.Arrays.fill(d2, Double.POSITIVE_INFINITY);
        List<Pick> picks = new ArrayList<>(q);
        int p = first;
        while (true) {
            picks.add(new Pick(picks.size() + 1, ids[p], p));
            chosen[p] = true;
            if (picks.size() == q) {
                return picks;
            }
            int center = p;
            List<Double> sums = Chunks.map(n, perTask, (from, to) -> {
                double s = 0;
                for (int i = from; i < to; i++) {
                    d2[i] = chosen[i] ? 0.0 : Math.min(d2[i], squared(a[i], h[i], a[center], h[center]));
                    s += d2[i];
                }
                return s;
            });
            double total = 0;
            for (double s : sums) {
                total += s;
            }
            double u = uniforms.getAsDouble();
            if (!(u >= 0 && u < 1)) {
                throw new IllegalArgumentException("a uniform draw must be in [0, 1), got " + u);
            }
            p = total > 0 ? draw(d2, total, u) : uniformUnchosen(chosen, n - picks.size(), u);
        }
    }

    /**
     * The index NumPy's {@code Generator.choice(n, p=w / total)} takes given the uniform u it draws: the first index
     * whose normalised cumulative probability exceeds u ({@code cdf = p.cumsum(); cdf /= cdf[-1];
     * cdf.searchsorted(u, side='right')}). A weight of 0 is never taken.
     */
    public static int draw(double[] w, double total, double u) {
        int n = w.length;
        double[] cdf = new double[n];
        double run = 0;
        for (int i = 0; i < n; i++) {
            run += w[i] / total;       // the probabilities first, then their running sum, as NumPy
            cdf[i] = run;
        }
        double last = cdf[n - 1];
        for (int i = 0; i < n; i++) {
            if (cdf[i] / last > u) {
                return i;
            }
        }
        return n - 1;   // not reached for u < 1: cdf[n - 1] / last == 1
    }

    /** The {@code floor(u * m)}-th of the m candidates not yet chosen, in position order. */
    private static int uniformUnchosen(boolean[] chosen, int m, double u) {
        int target = Math.min(m - 1, (int) (u * m));
        for (int i = 0; i < chosen.length; i++) {
            if (!chosen[i] && target-- == 0) {
                return i;
            }
        }
        throw new IllegalStateException("no candidate left to draw");
    }

    /** Squared distance between the embeddings {@code a1 outer h1} and {@code a2 outer h2}, term by term. */
    static double squared(double[] a1, float[] h1, double[] a2, float[] h2) {
        double s = 0;
        for (int k = 0; k < a1.length; k++) {
            double x = a1[k];
            double y = a2[k];
            for (int d = 0; d < h1.length; d++) {
                double t = x * h1[d] - y * h2[d];
                s += t * t;
            }
        }
        return s;
    }

    /** Embedding terms per fork-join task: below this the fork costs more than the work. */
    private static final int TERMS_PER_TASK = 1 << 18;
}

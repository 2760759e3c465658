package ai.sisom.selection;

import ai.sisom.util.Chunks;

import java.util.ArrayList;
import java.util.List;

/**
 * CoreSet (Sener and Savarese 2018) by k-center greedy, the 2-approximation of the k-center problem the paper
 * selects with: the centers are the labeled samples' penultimate features plus the picks so far, and each pick is
 * the candidate farthest from its nearest center. With no labeled samples the first pick is the first candidate (the
 * paper starts from a random point; the candidates' order, best score first in the Spark layer, makes it
 * deterministic), as {@code bench/python/al_strategies.py}'s {@code k_center_greedy} does.
 *
 * <p>Exact over the candidates it is given: squared Euclidean distances are accumulated in double from the float
 * features (no |x|^2 - 2x.c + |c|^2 cancellation), ties go to the earliest candidate. Memory is O(candidates) beyond
 * the inputs: one nearest-center distance per candidate, updated in place after every pick. Which candidates it is
 * given is the caller's approximation (see {@code ai.sisom.spark.Selections#coreset}).
 */
public final class CoreSet {
    private CoreSet() {}

    /** A candidate: its id and its penultimate features. */
    public record Candidate(String id, float[] penultimate) {}

    /**
     * One pick (rank from 1), its position in the candidate list and its distance to the nearest center when it was
     * picked (the k-center radius at that step; infinite for a first pick without labeled samples).
     */
    public record Pick(int rank, String id, int position, double distance) {}

    /**
     * The q picks, in order.
     *
     * @param labeled the labeled samples' penultimate features (may be empty, never null)
     * @throws IllegalArgumentException q outside 0..candidates, a dimension that differs from the first candidate's,
     *                                  a non-finite feature, a duplicate id
     */
    public static List<Pick> select(List<Candidate> candidates, float[][] labeled, int q) {
        if (labeled == null) {
            throw new IllegalArgumentException("the labeled set is null; pass an empty array when nothing is labeled");
        }
        int n = candidates.size();
        CandidateChecks.checkQ(q, n);
        if (q == 0) {
            return List.of();
        }
        float[][] x = new float[n][];
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            Candidate c = candidates.get(i);
            ids[i] = c.id();
            x[i] = c.penultimate();
        }
        int dim = CandidateChecks.checkVectors(ids, x, "penultimate", -1);
        CandidateChecks.checkUnique(ids);
        for (int j = 0; j < labeled.length; j++) {
            float[] l = labeled[j];
            if (l == null || l.length != dim) {
                throw new IllegalArgumentException("labeled sample " + j + " has " + (l == null ? "no" : l.length + "-dim")
                        + " penultimate features; the candidates have " + dim);
            }
            CandidateChecks.checkFinite(l, "labeled sample " + j, "penultimate");
        }
        double[] mind = new double[n];     // squared distance to the nearest center; -1 once picked
        java.util.Arrays.fill(mind, Double.POSITIVE_INFINITY);
        if (labeled.length > 0) {
            Chunks.map(n, Math.max(1, PAIRS_PER_TASK / labeled.length), (from, to) -> {
                for (int i = from; i < to; i++) {
                    double m = Double.POSITIVE_INFINITY;
                    for (float[] l : labeled) {
                        m = Math.min(m, squared(x[i], l));
                    }
                    mind[i] = m;
                }
                return null;
            });
        }
        List<Pick> picks = new ArrayList<>(q);
        int next = labeled.length == 0 ? 0 : argmax(mind, 0, n);
        while (true) {
            int p = next;
            picks.add(new Pick(picks.size() + 1, ids[p], p, Math.sqrt(mind[p])));
            mind[p] = -1;   // never again, even when points coincide
            if (picks.size() == q) {
                return picks;
            }
            float[] center = x[p];
            List<Integer> best = Chunks.map(n, Math.max(1, PAIRS_PER_TASK / dim), (from, to) -> {
                for (int i = from; i < to; i++) {
                    if (mind[i] >= 0) {
                        mind[i] = Math.min(mind[i], squared(x[i], center));
                    }
                }
                return argmax(mind, from, to);
            });
            next = best.get(0);
            for (int b : best) {          // chunk order, strictly greater: the earliest of equal maxima
                if (mind[b] > mind[next]) {
                    next = b;
                }
            }
        }
    }

    /** The position of the largest value in from..to (the first of equal ones), as NumPy's argmax. */
    private static int argmax(double[] v, int from, int to) {
        int best = from;
        for (int i = from + 1; i < to; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static double squared(float[] a, float[] b) {
        double s = 0;
        for (int k = 0; k < a.length; k++) {
            double t = (double) a[k] - b[k];
            s += t * t;
        }
        return s;
    }

    /** Distance terms per fork-join task: below this the fork costs more than the work. */
    private static final int PAIRS_PER_TASK = 1 << 18;
}

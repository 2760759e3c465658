package ai.sisom.selection;

import ai.sisom.reference.Distances;
import ai.sisom.reference.DOutVariant;
import ai.sisom.reference.Ratio;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.util.Chunks;

import java.util.ArrayList;
import java.util.List;

/**
 * Greedy batch-diverse selection (METHOD.md section 5, the authors' AL code): q times, take the best remaining
 * candidate, add its z to the reference set under its pseudo-class, update the remaining candidates' d_in (same
 * class) and d_out (other classes, {@code sample} variant) and rescore them.
 *
 * <p>Exact over the candidates it is given. At lake scale the job gives it the top candidates by initial score
 * (a multiple of q, see the job's settings): adding points only lowers d_in of same-class candidates (their r falls)
 * and lowers d_out of other-class candidates (their r rises), so a sample outside that candidate set whose r would
 * have risen past the picked ones is the one approximation.
 */
public final class GreedySelection {
    private GreedySelection() {}

    /** A candidate with its current nearest-neighbour state. */
    public static final class Candidate {
        final String id;
        final float[] z;
        final int pseudoClass;
        final double energy;
        double dIn;
        double dOut;
        String inId;
        String outId;
        SisomScorer.Scored scored;

        public Candidate(String id, float[] z, int pseudoClass, double energy) {
            this.id = id;
            this.z = z;
            this.pseudoClass = pseudoClass;
            this.energy = energy;
        }

        public String id() { return id; }
    }

    /** One pick: the candidate and its score at the moment it was picked (rank from 1). */
    public record Pick(int rank, String id, int pseudoClass, SisomScorer.Scored scored) {}

    public static List<Pick> select(List<Candidate> candidates, int q, SisomScorer scorer) {
        return select(candidates, q, scorer, null);
    }

    /**
     * As {@link #select(List, int, SisomScorer)}, with at most {@code quota[c]} picks of pseudo-class c (a
     * class-balanced queue, {@link ClassBalance}); a class that has its quota drops out of the candidates, while its
     * picks still update the others. {@code quota} null: no limit.
     */
    public static List<Pick> select(List<Candidate> candidates, int q, SisomScorer scorer, int[] quota) {
        if (scorer.needsLogits()) {
            throw new IllegalArgumentException("greedy selection updates SISOM's distances as it picks, so it ranks by "
                    + "sisom or sisome with an OOD metric of the SISOM family; the scorer also computes the post-hoc "
                    + "scores " + scorer.posthocComputed() + " (sisom.score, sisom.ood.metric, sisom.scores.extra): use "
                    + "top-q, CoreSet or BADGE selection with them");
        }
        if (scorer.reference().variant() != DOutVariant.SAMPLE) {
            throw new IllegalArgumentException("greedy batch-diverse selection updates d_out as in the authors' AL code, "
                    + "which is the sample variant; build the reference with dOutVariant=sample");
        }
        if (q < 0) {
            throw new IllegalArgumentException("q must not be negative");
        }
        List<Candidate> cands = new ArrayList<>(candidates);   // input order; never shrinks
        int n = cands.size();
        int dim = scorer.reference().set().dimension();
        float[] z = new float[n * dim];
        int[] pc = new int[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            Candidate c = cands.get(i);
            System.arraycopy(c.z, 0, z, i * dim, dim);
            pc[i] = c.pseudoClass;
            e[i] = c.energy;
        }
        SisomScorer.Scored[] initial = scorer.scoreZBatch(z, n, pc, e);
        for (int i = 0; i < n; i++) {
            Candidate c = cands.get(i);
            SisomScorer.Scored s = initial[i];
            c.dIn = s.dIn();
            c.dOut = s.dOut();
            c.inId = s.nearestInId();
            c.outId = s.nearestOutId();
            c.scored = s;
        }
        // The state lives in the packed arrays and the candidates' fields; the alive candidates are alive[0..m).
        // Each pick is one pass over them (split over the fork-join pool when large) that updates d_in / d_out and
        // finds the next best at the same time. The order: highest score, then lowest id,
        // then input position.
        int[] alive = new int[n];
        int m = 0;
        int[] taken = quota == null ? null : new int[quota.length];
        for (int i = 0; i < n; i++) {
            if (quota == null || quota[pc[i]] > 0) {
                alive[m++] = i;
            }
        }
        List<Pick> picks = new ArrayList<>();
        int bestPos = m == 0 ? -1 : bestOf(cands, alive, 0, m);
        while (picks.size() < q && m > 0) {
            int b = alive[bestPos];
            Candidate best = cands.get(b);
            picks.add(new Pick(picks.size() + 1, best.id, best.pseudoClass, best.scored));
            alive[bestPos] = alive[--m];   // order within alive does not matter: ties go by input position
            if (quota != null && ++taken[best.pseudoClass] >= quota[best.pseudoClass]) {
                int keep = 0;
                for (int p = 0; p < m; p++) {
                    if (pc[alive[p]] != best.pseudoClass) {
                        alive[keep++] = alive[p];
                    }
                }
                m = keep;
            }
            if (m == 0 || picks.size() == q) {
                break;
            }
            float[] bz = best.z;
            List<Integer> chunkBest = Chunks.map(m, PER_TASK, (from, to) -> {
                int localBest = -1;
                for (int p = from; p < to; p++) {
                    int i = alive[p];
                    Candidate c = cands.get(i);
                    double d = Math.sqrt(Distances.squared(bz, z, i, dim));   // == Distances.distance(c.z, bz)
                    boolean changed = false;
                    if (c.pseudoClass == best.pseudoClass) {
                        if (d < c.dIn) {
                            c.dIn = d;
                            c.inId = best.id;
                            changed = true;
                        }
                    } else if (d < c.dOut) {
                        c.dOut = d;
                        c.outId = best.id;
                        changed = true;
                    }
                    if (changed) {
                        boolean zero = c.dOut == 0;
                        double r = zero ? Ratio.ZERO_D_OUT_RATIO : c.dIn / c.dOut;
                        c.scored = scorer.scored(c.dIn, c.dOut, r, zero, c.inId, c.outId, c.energy);
                    }
                    if (localBest < 0 || before(cands, i, alive[localBest])) {
                        localBest = p;
                    }
                }
                return localBest;
            });
            bestPos = chunkBest.get(0);   // chunks are never empty, so each has a best
            for (int p : chunkBest) {
                if (before(cands, alive[p], alive[bestPos])) {
                    bestPos = p;
                }
            }
        }
        return picks;
    }

    /** Whether candidate i goes before candidate j: higher score, then lower id, then earlier input position. */
    private static boolean before(List<Candidate> all, int i, int j) {
        Candidate a = all.get(i);
        Candidate b = all.get(j);
        int c = Double.compare(-a.scored.score(), -b.scored.score());
        if (c != 0) {
            return c < 0;
        }
        c = a.id.compareTo(b.id);
        return c != 0 ? c < 0 : i < j;
    }

    private static int bestOf(List<Candidate> all, int[] alive, int from, int to) {
        int best = from;
        for (int p = from + 1; p < to; p++) {
            if (before(all, alive[p], alive[best])) {
                best = p;
            }
        }
        return best;
    }

    /** Candidates per fork-join task: below this the fork costs more than the updates. */
    private static final int PER_TASK = 4096;
}

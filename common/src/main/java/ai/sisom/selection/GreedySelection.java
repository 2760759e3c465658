package ai.sisom.selection;

import ai.sisom.reference.Distances;
import ai.sisom.scoring.DOutVariant;
import ai.sisom.scoring.Ratio;
import ai.sisom.scoring.SisomScorer;

import java.util.ArrayList;
import java.util.Comparator;
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
        if (scorer.reference().variant() != DOutVariant.SAMPLE) {
            throw new IllegalArgumentException("greedy batch-diverse selection updates d_out as in the authors' AL code, "
                    + "which is the sample variant; build the reference with dOutVariant=sample");
        }
        if (q < 0) {
            throw new IllegalArgumentException("q must not be negative");
        }
        List<Candidate> remaining = new ArrayList<>(candidates);
        int n = remaining.size();
        int dim = scorer.reference().set().dimension();
        float[] z = new float[n * dim];
        int[] pc = new int[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            Candidate c = remaining.get(i);
            System.arraycopy(c.z, 0, z, i * dim, dim);
            pc[i] = c.pseudoClass;
            e[i] = c.energy;
        }
        SisomScorer.Scored[] initial = scorer.scoreZBatch(z, n, pc, e);
        for (int i = 0; i < n; i++) {
            Candidate c = remaining.get(i);
            SisomScorer.Scored s = initial[i];
            c.dIn = s.dIn();
            c.dOut = s.dOut();
            c.inId = s.nearestInId();
            c.outId = s.nearestOutId();
            c.scored = s;
        }
        Comparator<Candidate> order = Comparator.comparingDouble((Candidate c) -> -c.scored.score())
                .thenComparing(c -> c.id);
        List<Pick> picks = new ArrayList<>();
        while (picks.size() < q && !remaining.isEmpty()) {
            int bi = 0;
            for (int i = 1; i < remaining.size(); i++) {
                if (order.compare(remaining.get(i), remaining.get(bi)) < 0) {
                    bi = i;
                }
            }
            Candidate best = remaining.remove(bi);
            picks.add(new Pick(picks.size() + 1, best.id, best.pseudoClass, best.scored));
            for (Candidate c : remaining) {
                double d = Distances.distance(c.z, best.z);
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
            }
        }
        return picks;
    }
}

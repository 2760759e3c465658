package ai.sisom.reference;


import java.util.ArrayList;

import java.util.List;

/**
 * Sigmoid steepness search (METHOD.md section 7): every combination of the per-layer candidate lists is applied to
 * the stored u (no network pass) and the one with the lowest leave-one-out r_avg wins; ties go to the first
 * combination in grid order (first layer's list varying slowest).
 */
public final class SteepnessSearch {
    private SteepnessSearch() {}

    /** One evaluated combination. */
    public record Trial(double[] alphas, double rAvg) {}

    /** All trials in grid order and the winner. */
    public record Result(Steepness best, double bestRAvg, List<Trial> trials) {}

    /**
     * @param grid    candidate steepness values per layer
     * @param offsets layer boundaries in u
     * @param subset  labeled-set indexes forming the reference set (null: all)
     */
    public static Result search(LabeledSet labeled, List<String> classNames, int[] offsets, double[][] grid,
                                int[] subset, DOutVariant variant) {
        if (grid.length + 1 != offsets.length) {
            throw new IllegalArgumentException("the steepness grid needs one candidate list per layer ("
                    + (offsets.length - 1) + "), got " + grid.length);
        }
        for (double[] g : grid) {
            if (g.length == 0) {
                throw new IllegalArgumentException("every layer needs at least one steepness candidate");
            }
        }
        List<Trial> trials = new ArrayList<>();
        int[] idx = new int[grid.length];
        Trial best = null;
        Steepness bestS = null;
        while (true) {
            double[] alphas = new double[grid.length];
            for (int j = 0; j < grid.length; j++) {
                alphas[j] = grid[j][idx[j]];
            }
            Steepness s = new Steepness(alphas, offsets);
            List<float[]> z = apply(s, labeled.u());
            ReferenceSet ref = SisomReference.referenceSet(labeled, z, subset, classNames);
            Trial t = new Trial(alphas, ReferenceStats.rAvg(ref, z, labeled.labels(), variant));
            trials.add(t);
            if (best == null || t.rAvg() < best.rAvg()) {
                best = t;
                bestS = s;
            }
            int j = grid.length - 1;
            while (j >= 0 && ++idx[j] == grid[j].length) {
                idx[j] = 0;
                j--;
            }
            if (j < 0) {
                break;
            }
        }
        return new Result(bestS, best.rAvg(), trials);
    }

    static List<float[]> apply(Steepness s, List<float[]> u) {
        List<float[]> z = new ArrayList<>(u.size());
        for (float[] x : u) {
            z.add(s.apply(x));
        }
        return z;
    }

}

package ai.sisom.reference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Class-wise ProbCover (METHOD.md section 6): per class, on the plain penultimate features, the delta-ball graph
 * with self-edges; greedily pick the vertex that covers the most still-uncovered vertices until the class quota
 * ceil(subsetSize / K) is met or everything is covered.
 *
 * <p>Unlike the reference code, the whole graph is built (its block-wise construction dropped the last partial
 * block) and a vertex is never picked twice (once everything is covered, the reference code's argmax kept
 * returning vertex 0). Ties go to the lowest index.
 */
public final class ProbCover {
    private ProbCover() {}

    /** Picks up to {@code quota} of {@code features}; returns their indexes in pick order. */
    public static int[] select(List<float[]> features, double delta, int quota) {
        if (!(delta > 0)) {
            throw new IllegalArgumentException("ProbCover delta must be positive, got " + delta);
        }
        int n = features.size();
        // the graph is symmetric (distance is), so out-neighbours are also in-neighbours
        int[][] adj = new int[n][];
        for (int x = 0; x < n; x++) {
            List<Integer> nb = new ArrayList<>();
            for (int y = 0; y < n; y++) {
                if (Distances.distance(features.get(x), features.get(y)) < delta) {
                    nb.add(y);
                }
            }
            adj[x] = nb.stream().mapToInt(Integer::intValue).toArray();
        }
        int[] gain = new int[n];
        for (int x = 0; x < n; x++) {
            gain[x] = adj[x].length;
        }
        boolean[] covered = new boolean[n];
        int[] picks = new int[Math.min(quota, n)];
        int picked = 0;
        while (picked < picks.length) {
            int best = -1;
            for (int x = 0; x < n; x++) {
                if (best < 0 || gain[x] > gain[best]) {
                    best = x;
                }
            }
            if (best < 0 || gain[best] == 0) {
                break; // everything is covered
            }
            picks[picked++] = best;
            for (int y : adj[best]) {
                if (!covered[y]) {
                    covered[y] = true;
                    for (int x : adj[y]) {
                        gain[x]--;
                    }
                }
            }
        }
        return Arrays.copyOf(picks, picked);
    }

    /**
     * Class-wise selection over a labeled set.
     *
     * @return indexes into the labeled set, sorted ascending
     */
    public static int[] selectClasswise(List<float[]> features, int[] labels, int numClasses, double delta, int subsetSize) {
        if (subsetSize < numClasses) {
            throw new IllegalArgumentException("subset size " + subsetSize + " is below the number of classes " + numClasses);
        }
        int quota = (subsetSize + numClasses - 1) / numClasses;
        List<Integer> out = new ArrayList<>();
        for (int c = 0; c < numClasses; c++) {
            List<Integer> members = new ArrayList<>();
            List<float[]> f = new ArrayList<>();
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] == c) {
                    members.add(i);
                    f.add(features.get(i));
                }
            }
            for (int p : select(f, delta, quota)) {
                out.add(members.get(p));
            }
        }
        return out.stream().mapToInt(Integer::intValue).sorted().toArray();
    }
}

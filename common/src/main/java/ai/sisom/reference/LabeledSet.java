package ai.sisom.reference;

import java.util.List;

/**
 * The labeled samples' feature records, collected on the driver to build the reference.
 *
 * @param ids         sample ids
 * @param labels      true class indexes (0..K-1)
 * @param u           raw per-layer products a*g (steepness-free)
 * @param energies    energies
 * @param penultimate plain penultimate features (for the ProbCover subset)
 */
public record LabeledSet(List<String> ids, int[] labels, List<float[]> u, double[] energies, List<float[]> penultimate) {
    public LabeledSet {
        int n = ids.size();
        if (labels.length != n || u.size() != n || energies.length != n || penultimate.size() != n) {
            throw new IllegalArgumentException("labeled set columns differ in length");
        }
        if (new java.util.HashSet<>(ids).size() != n) {
            throw new IllegalArgumentException("labeled set ids are not unique");
        }
    }

    public int size() { return ids.size(); }
}

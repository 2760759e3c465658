package ai.sisom.reference;

import java.util.List;

/**
 * The labeled samples' feature records, collected on the driver to build the reference: the in-distribution ones
 * (a class label) and the ones annotators marked as not one of the model's classes ({@link Unknowns}). Unknowns never
 * enter R or the r_avg / mu_E statistics; they calibrate the OOD threshold.
 *
 * @param ids           in-distribution sample ids
 * @param labels        their true class indexes (0..K-1)
 * @param u             raw per-layer products a*g (steepness-free)
 * @param energies      energies
 * @param penultimate   plain penultimate features (for the ProbCover subset)
 * @param pseudoClasses the model's predicted class of each (the OOD calibration scores a labeled sample as the pool
 *                      would be scored, so with its prediction)
 * @param unknowns      the unknown-labeled samples (empty when there are none)
 * @param logits        the model's logits of each (the post-hoc scores' calibration), or null when not collected
 */
public record LabeledSet(List<String> ids, int[] labels, List<float[]> u, double[] energies, List<float[]> penultimate,
                         int[] pseudoClasses, Unknowns unknowns, List<float[]> logits) {
    public LabeledSet {
        int n = ids.size();
        if (labels.length != n || u.size() != n || energies.length != n || penultimate.size() != n
                || pseudoClasses.length != n || logits != null && logits.size() != n) {
            throw new IllegalArgumentException("labeled set columns differ in length");
        }
        java.util.Set<String> seen = new java.util.HashSet<>(ids);
        if (seen.size() != n) {
            throw new IllegalArgumentException("labeled set ids are not unique");
        }
        for (String id : unknowns.ids()) {
            if (!seen.add(id)) {
                throw new IllegalArgumentException("labeled set id '" + id + "' is both a class sample and an unknown, "
                        + "or an unknown twice");
            }
        }
    }

    /** A labeled set without logits. */
    public LabeledSet(List<String> ids, int[] labels, List<float[]> u, double[] energies, List<float[]> penultimate,
                      int[] pseudoClasses, Unknowns unknowns) {
        this(ids, labels, u, energies, penultimate, pseudoClasses, unknowns, null);
    }

    /**
     * A labeled set without unknowns whose model predictions are its labels (synthetic sets, tests, benchmarks on
     * features made up to be separable).
     */
    public LabeledSet(List<String> ids, int[] labels, List<float[]> u, double[] energies, List<float[]> penultimate) {
        this(ids, labels, u, energies, penultimate, labels.clone(), Unknowns.NONE);
    }

    /** The same in-distribution samples with other unknowns. */
    public LabeledSet withUnknowns(Unknowns unknowns) {
        return new LabeledSet(ids, labels, u, energies, penultimate, pseudoClasses, unknowns, logits);
    }

    /** In-distribution samples (the ones with a class). */
    public int size() { return ids.size(); }

    /**
     * Samples annotators marked as not one of the model's classes.
     *
     * @param ids           their ids
     * @param labels        the label each carried (one of the configured unknown-label values)
     * @param u             raw per-layer products a*g
     * @param energies      energies
     * @param pseudoClasses the model's predicted class of each (they are scored as pool samples are)
     * @param penultimate   their penultimate features, or null when not collected
     * @param logits        their logits, or null when not collected
     */
    public record Unknowns(List<String> ids, List<String> labels, List<float[]> u, double[] energies,
                           int[] pseudoClasses, List<float[]> penultimate, List<float[]> logits) {
        public static final Unknowns NONE = new Unknowns(List.of(), List.of(), List.of(), new double[0], new int[0],
                List.of(), List.of());

        public Unknowns {
            int n = ids.size();
            if (labels.size() != n || u.size() != n || energies.length != n || pseudoClasses.length != n
                    || penultimate != null && penultimate.size() != n || logits != null && logits.size() != n) {
                throw new IllegalArgumentException("unknown-labeled sample columns differ in length");
            }
        }

        /** Unknowns without penultimate features and logits. */
        public Unknowns(List<String> ids, List<String> labels, List<float[]> u, double[] energies,
                        int[] pseudoClasses) {
            this(ids, labels, u, energies, pseudoClasses, null, null);
        }

        public int size() { return ids.size(); }
    }
}

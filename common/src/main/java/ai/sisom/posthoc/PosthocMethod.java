package ai.sisom.posthoc;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The per-sample scores beside SISOM that the product computes in the same pass: OpenOOD's post-hoc OOD detectors and
 * the two uncertainty baselines of active learning. Each gives an in-distribution score (higher = more
 * in-distribution, OpenOOD's convention); the queue ranks by its negation. At OpenOOD v1.5's defaults, fixed before
 * any test data was looked at (docs/evaluation.md).
 */
public enum PosthocMethod {
    /** Maximum softmax probability (Hendrycks and Gimpel 2017). */
    MSP(false, false),
    /** The largest logit. */
    MAXLOGIT(false, false),
    /** logsumexp of the logits, T = 1 (Liu et al. 2020); the negation of SISOM's energy E. */
    ENERGY(false, false),
    /** GEN (Liu et al. 2023), gamma 0.1, M = min(100, K). */
    GEN(false, false),
    /** Minus the predictive entropy (AL's entropy sampling queues the highest entropy). */
    ENTROPY(false, false),
    /** The gap between the two largest class probabilities (AL's margin sampling queues the smallest). */
    MARGIN(false, false),
    /** KNN (Sun et al. 2022): minus the squared distance to the k-th nearest normalised labeled feature. */
    KNN(true, false),
    /** Mahalanobis (Lee et al. 2018, OpenOOD's MDS): class means and one tied covariance of the labeled set. */
    MAHALANOBIS(true, false),
    /** ReAct (Sun et al. 2021): features clipped at the labeled set's 90th percentile, then energy. */
    REACT(true, true),
    /**
     * ASH-B (Djurisic et al. 2023), as OpenOOD's ASHNet applies it: the top 10 % of each sample's activations kept and
     * set to the mean of all of them, the rest zeroed, then energy.
     */
    ASH(false, true),
    /** ViM (Wang et al. 2022): energy minus the scaled residual outside the labeled set's principal space. */
    VIM(true, true);

    private final boolean fitted;
    private final boolean needsHead;

    PosthocMethod(boolean fitted, boolean needsHead) {
        this.fitted = fitted;
        this.needsHead = needsHead;
    }

    /** Whether the reference build fits it on the labeled set (and the artifact stores what it fitted). */
    public boolean fitted() { return fitted; }

    /** Whether it recomputes logits from altered penultimate features, so needs the model's final linear layer. */
    public boolean needsHead() { return needsHead; }

    /** Whether it reads the penultimate features (not only the logits). */
    public boolean needsPenultimate() { return fitted || needsHead; }

    /** The lower-case name used in settings, params, the artifact and column names. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static PosthocMethod parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        for (PosthocMethod m : values()) {
            if (m.label().equals(t)) {
                return m;
            }
        }
        throw new IllegalArgumentException("post-hoc score must be one of " + labels() + ", got '" + s + "'");
    }

    /** Every name, comma-separated. */
    public static String labels() {
        return Arrays.stream(values()).map(PosthocMethod::label).collect(Collectors.joining(", "));
    }
}

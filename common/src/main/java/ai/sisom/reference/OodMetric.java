package ai.sisom.reference;

import ai.sisom.posthoc.PosthocMethod;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The quantities an OOD threshold can be put on, each oriented so that a higher value means more
 * out-of-distribution (a sample is flagged when its value is above the threshold). The names follow the authors'
 * JODA code where it has one (METHOD.md 10; docs/open-world.md says where we differ). {@code ai.sisom.scoring}
 * evaluates them; the artifact only names them.
 */
public enum OodMetric {
    /** SISOM, {@code (r - r_avg) / sigma_r}: ranks like the ratio, on a scale that is comparable across references. */
    SISOM,
    /** SISOMe, the self-balancing fusion of energy and ratio (JODA: {@code dsaenergy}). */
    SISOME,
    /** The energy {@code -logsumexp(logits)} (JODA: {@code energy}). */
    ENERGY,
    /** The distance ratio {@code r = d_in / d_out} (JODA: {@code dsa}). */
    RATIO,
    /**
     * {@code d_in + d_out}: how far the sample lies from the reference, own class and others together. JODA's
     * {@code AB} is {@code -(d_in + d_out)} with OOD as the positive class, the opposite orientation (see
     * docs/open-world.md).
     */
    AB,
    /** The post-hoc scores ({@link PosthocMethod}), negated so that higher = more out-of-distribution. */
    MSP(PosthocMethod.MSP),
    MAXLOGIT(PosthocMethod.MAXLOGIT),
    GEN(PosthocMethod.GEN),
    ENTROPY(PosthocMethod.ENTROPY),
    MARGIN(PosthocMethod.MARGIN),
    KNN(PosthocMethod.KNN),
    MAHALANOBIS(PosthocMethod.MAHALANOBIS),
    REACT(PosthocMethod.REACT),
    ASH(PosthocMethod.ASH),
    VIM(PosthocMethod.VIM);

    private final PosthocMethod posthoc;

    OodMetric() {
        this(null);
    }

    OodMetric(PosthocMethod posthoc) {
        this.posthoc = posthoc;
    }

    /** The post-hoc method whose negated score this is, or null (energy is E itself, the negated post-hoc energy). */
    public PosthocMethod posthoc() { return posthoc; }

    /** The metric of a post-hoc score: its negation (energy: E, which is the negated logsumexp). */
    public static OodMetric of(PosthocMethod m) {
        if (m == PosthocMethod.ENERGY) {
            return ENERGY;
        }
        for (OodMetric o : values()) {
            if (o.posthoc == m) {
                return o;
            }
        }
        throw new AssertionError(m);
    }

    public static OodMetric parse(String s) {
        for (OodMetric m : values()) {
            if (m.label().equals(s.trim().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("OOD metric must be one of " + Arrays.stream(values())
                .map(OodMetric::label).collect(Collectors.joining(", ")) + ", got '" + s + "'");
    }

    /** The lower-case name used in settings, params and the artifact. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}

package ai.sisom.scoring;

import ai.sisom.posthoc.PosthocMethod;
import ai.sisom.reference.OodMetric;
import ai.sisom.reference.ReferenceStats;

import java.io.Serializable;
import java.util.Locale;

/**
 * The SISOM scores of METHOD.md section 5.
 *
 * <ul>
 *   <li>SISOM: {@code (r - r_avg) / sigma_r}</li>
 *   <li>SISOMe: {@code min(w, 1) * (E - mu_E) / sigma_E + max(1 - w, 0) * (r - r_avg) / sigma_r}, with
 *       {@code w = r_avg} (self-balancing) or a fixed lambda</li>
 * </ul>
 *
 * @param score       which score drives selection and the OOD score
 * @param fixedLambda a fixed fusion weight replacing r_avg in both coefficients, or null
 */
public record Fusion(Score score, Double fixedLambda) implements Serializable {
    /**
     * The score the queue ranks by (and what the OOD metric {@code score} means): SISOM, SISOMe, or one of the
     * post-hoc scores ({@link PosthocMethod}), negated so that higher = more worth labeling.
     */
    public enum Score {
        SISOM, SISOME, MSP, MAXLOGIT, ENERGY, GEN, ENTROPY, MARGIN, KNN, MAHALANOBIS, REACT, ASH, VIM;

        public static Score parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("score must be one of " + labels() + ", got '" + s + "'");
            }
        }

        /** The post-hoc method it is, or null for SISOM and SISOMe. */
        public PosthocMethod posthoc() {
            return this == SISOM || this == SISOME ? null : PosthocMethod.valueOf(name());
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Every name, comma-separated. */
        public static String labels() {
            return java.util.Arrays.stream(values()).map(Score::label)
                    .collect(java.util.stream.Collectors.joining(", "));
        }

        /** The OOD metric that ranks as this score does. */
        public OodMetric metric() {
            return switch (this) {
                case SISOM -> OodMetric.SISOM;
                case SISOME -> OodMetric.SISOME;
                default -> OodMetric.of(posthoc());
            };
        }
    }

    public Fusion {
        if (fixedLambda != null && !(fixedLambda >= 0 && fixedLambda <= 1)) {
            throw new IllegalArgumentException("fixed lambda must be in [0, 1], got " + fixedLambda);
        }
    }

    /** The weight of the energy term: r_avg, or the fixed lambda. */
    public double weight(ReferenceStats st) {
        return fixedLambda != null ? fixedLambda : st.rAvg();
    }

    /** The coefficient of the z-normalised energy in the selected score (0 for SISOM). */
    public double energyCoefficient(ReferenceStats st) {
        return score == Score.SISOME ? sisomeEnergyWeight(st) : 0;
    }

    /** The coefficient of the z-normalised ratio in the selected score (1 for SISOM). */
    public double ratioCoefficient(ReferenceStats st) {
        return score == Score.SISOME ? sisomeRatioWeight(st) : 1;
    }

    public static double sisom(double r, ReferenceStats st) {
        return (r - st.rAvg()) / st.sigmaR();
    }

    public double sisome(double r, double energy, ReferenceStats st) {
        return sisomeEnergyWeight(st) * (energy - st.muE()) / st.sigmaE() + sisomeRatioWeight(st) * sisom(r, st);
    }

    private double sisomeEnergyWeight(ReferenceStats st) {
        return Math.min(weight(st), 1);
    }

    private double sisomeRatioWeight(ReferenceStats st) {
        return Math.max(1 - weight(st), 0);
    }
}

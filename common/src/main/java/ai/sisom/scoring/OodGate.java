package ai.sisom.scoring;

import ai.sisom.reference.OodMetric;
import ai.sisom.reference.OodThreshold;
import ai.sisom.reference.ReferenceStats;

import java.io.Serializable;

/**
 * Evaluates an {@link OodMetric} for a scored sample and flags it against an {@link OodThreshold} (METHOD.md 10).
 * The metric uses the threshold's own fusion weight, not the one the queue is ranked by, so a reference calibrated on
 * SISOMe flags the same samples whichever score selects.
 */
public final class OodGate implements Serializable {
    private static final long serialVersionUID = 1L;

    private final OodThreshold threshold;

    /** @param threshold the threshold, or null (no flags: a reference without calibration, scored ungated) */
    public OodGate(OodThreshold threshold) {
        this.threshold = threshold;
    }

    public OodThreshold threshold() { return threshold; }

    /**
     * The metric's value, higher = more out-of-distribution; {@code lambda}: SISOMe's fixed weight or null;
     * {@code posthoc}: the sample's post-hoc in-distribution scores by {@link ai.sisom.posthoc.PosthocMethod#ordinal()}
     * (null when the metric is not a post-hoc one).
     */
    public static double value(OodMetric metric, Double lambda, double dIn, double dOut, double r, double energy,
                               double[] posthoc, ReferenceStats st) {
        if (metric.posthoc() != null) {
            if (posthoc == null || Double.isNaN(posthoc[metric.posthoc().ordinal()])) {
                throw new IllegalStateException("OOD metric " + metric.label() + " was not computed for this sample");
            }
            return -posthoc[metric.posthoc().ordinal()];
        }
        return switch (metric) {
            case SISOM -> Fusion.sisom(r, st);
            case SISOME -> new Fusion(Fusion.Score.SISOME, lambda).sisome(r, energy, st);
            case ENERGY -> energy;
            case RATIO -> r;
            case AB -> dIn + dOut;
            default -> throw new AssertionError(metric);
        };
    }

    /** The threshold's metric for a sample, or null without a threshold. */
    public Double value(double dIn, double dOut, double r, double energy, double[] posthoc, ReferenceStats st) {
        return threshold == null ? null
                : value(threshold.metric(), threshold.lambda(), dIn, dOut, r, energy, posthoc, st);
    }

    /** Whether a metric value is flagged, or null without a threshold. */
    public Boolean flag(Double value) {
        return threshold == null || value == null ? null : threshold.flags(value);
    }
}

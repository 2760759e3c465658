package ai.sisom.reference;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The OOD threshold of a reference (METHOD.md 10, docs/open-world.md): on which metric, its value, how it was chosen
 * and on how many labeled samples. A pool sample is flagged when its metric value is above {@link #value}.
 *
 * @param metric                 the metric the threshold is on
 * @param lambda                 SISOMe's fixed fusion weight when the metric used one (null: r_avg)
 * @param mode                   how the value was chosen
 * @param value                  the threshold
 * @param keepShare              {@link Mode#KEEP_SHARE}: the share of labeled in-distribution samples kept
 * @param inDistribution         labeled in-distribution samples it was calibrated on (0 for a fixed value)
 * @param unknown                labeled unknowns it was calibrated on
 * @param youdenJ                TPR - FPR on the labeled samples at this threshold (null without unknowns)
 * @param unknownsFlagged        share of the labeled unknowns above the threshold (TPR; null without unknowns)
 * @param inDistributionFlagged  share of the labeled in-distribution samples above it (FPR; null for a fixed value)
 * @param auroc                  AUROC of the metric, unknowns against in-distribution (null without unknowns)
 * @param requested              the settings as given ({@code threshold}: auto, youden, keep or a value;
 *                               {@code metric}: auto or a metric)
 * @param candidates             with {@code metric=auto}: every metric tried, with its J and AUROC
 */
public record OodThreshold(OodMetric metric, Double lambda, Mode mode, double value, Double keepShare,
                           int inDistribution, int unknown, Double youdenJ, Double unknownsFlagged,
                           Double inDistributionFlagged, Double auroc, Map<String, String> requested,
                           List<Candidate> candidates) implements Serializable {

    /** How the value was chosen. */
    public enum Mode {
        /** Youden's J on labeled in-distribution (leave-one-out) against labeled unknowns. */
        YOUDEN,
        /** The value keeping a share of the labeled in-distribution samples (leave-one-out). */
        KEEP_SHARE,
        /** Given by the user. */
        FIXED;

        public String label() {
            return this == KEEP_SHARE ? "keep" : name().toLowerCase(Locale.ROOT);
        }

        static Mode parse(String s) {
            for (Mode m : values()) {
                if (m.label().equals(s)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown OOD threshold mode '" + s + "'");
        }
    }

    /** One metric the automatic choice tried. */
    public record Candidate(OodMetric metric, double value, double youdenJ, double auroc) implements Serializable {}

    public OodThreshold {
        // insertion-ordered, so that reference.json is the same bytes in every JVM
        requested = requested == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(requested));
        candidates = candidates == null ? List.of() : List.copyOf(candidates);
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("the OOD threshold must be a finite number, got " + value);
        }
    }

    /** A threshold the user gave, on a metric. */
    public static OodThreshold fixed(OodMetric metric, Double lambda, double value, String requested) {
        Map<String, String> asked = new LinkedHashMap<>();
        asked.put("threshold", requested);
        asked.put("metric", metric.label());
        return new OodThreshold(metric, lambda, Mode.FIXED, value, null, 0, 0, null, null, null, null, asked, List.of());
    }

    /** The same threshold with another value (a fixed override at scoring time). */
    public OodThreshold withValue(double v) {
        return fixed(metric, lambda, v, Double.toString(v));
    }

    /** Whether a metric value is out-of-distribution by this threshold. */
    public boolean flags(double metricValue) {
        return metricValue > value;
    }

    /** The JSON form (reference.json's {@code ood}, summary.json's {@code oodThreshold}). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("metric", metric.label());
        if (lambda != null) {
            m.put("lambda", lambda);
        }
        m.put("mode", mode.label());
        m.put("value", value);
        if (keepShare != null) {
            m.put("keepShare", keepShare);
        }
        m.put("inDistribution", inDistribution);
        m.put("unknown", unknown);
        putIf(m, "youdenJ", youdenJ);
        putIf(m, "unknownsFlagged", unknownsFlagged);
        putIf(m, "inDistributionFlagged", inDistributionFlagged);
        putIf(m, "auroc", auroc);
        m.put("requested", new LinkedHashMap<>(requested));
        if (!candidates.isEmpty()) {
            List<Map<String, Object>> c = new ArrayList<>();
            for (Candidate k : candidates) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("metric", k.metric().label());
                e.put("value", k.value());
                e.put("youdenJ", k.youdenJ());
                e.put("auroc", k.auroc());
                c.add(e);
            }
            m.put("candidates", c);
        }
        return m;
    }

    private static void putIf(Map<String, Object> m, String k, Object v) {
        if (v != null) {
            m.put(k, v);
        }
    }

    /** Reads {@link #toMap}'s form back (numbers come as Double from Gson). */
    @SuppressWarnings("unchecked")
    public static OodThreshold fromMap(Map<String, Object> m) {
        try {
            List<Candidate> cands = new ArrayList<>();
            Object c = m.get("candidates");
            if (c instanceof List<?> l) {
                for (Object o : l) {
                    Map<String, Object> e = (Map<String, Object>) o;
                    cands.add(new Candidate(OodMetric.parse((String) e.get("metric")), num(e.get("value")),
                            num(e.get("youdenJ")), num(e.get("auroc"))));
                }
            }
            Map<String, String> req = new LinkedHashMap<>();
            if (m.get("requested") instanceof Map<?, ?> r) {
                r.forEach((k, v) -> req.put(String.valueOf(k), String.valueOf(v)));
            }
            return new OodThreshold(OodMetric.parse((String) m.get("metric")), boxed(m.get("lambda")),
                    Mode.parse((String) m.get("mode")), num(m.get("value")), boxed(m.get("keepShare")),
                    (int) num(m.get("inDistribution")), (int) num(m.get("unknown")), boxed(m.get("youdenJ")),
                    boxed(m.get("unknownsFlagged")), boxed(m.get("inDistributionFlagged")), boxed(m.get("auroc")),
                    req, cands);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the reference's OOD threshold (reference.json 'ood') is not valid: "
                    + e.getMessage(), e);
        }
    }

    private static double num(Object o) {
        if (!(o instanceof Number n)) {
            throw new IllegalArgumentException("expected a number, got " + o);
        }
        return n.doubleValue();
    }

    private static Double boxed(Object o) {
        return o == null ? null : num(o);
    }

    /** One line for logs and the report. */
    public String describe() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%s above %.6g", metric.label(), value));
        switch (mode) {
            case FIXED -> {
                b.append(" (fixed");
                if (inDistributionFlagged != null) {
                    b.append(String.format(Locale.ROOT, "; flags %.1f %% of %d labeled in-distribution samples",
                            100 * inDistributionFlagged, inDistribution));
                }
                if (unknownsFlagged != null) {
                    b.append(String.format(Locale.ROOT, " and %.1f %% of %d labeled unknowns", 100 * unknownsFlagged,
                            unknown));
                }
                b.append(")");
            }
            case KEEP_SHARE -> {
                b.append(String.format(Locale.ROOT, " (keeps %.1f %% of %d labeled in-distribution samples, "
                        + "leave-one-out", 100 * (1 - inDistributionFlagged), inDistribution));
                if (unknownsFlagged != null) {
                    b.append(String.format(Locale.ROOT, "; flags %.1f %% of %d labeled unknowns", 100 * unknownsFlagged,
                            unknown));
                }
                b.append(")");
            }
            case YOUDEN -> b.append(String.format(Locale.ROOT, " (Youden's J %.3f on %d labeled in-distribution "
                            + "samples, leave-one-out, and %d labeled unknowns: flags %.1f %% of the unknowns, %.1f %% "
                            + "of the in-distribution samples)", youdenJ, inDistribution, unknown,
                    100 * unknownsFlagged, 100 * inDistributionFlagged));
        }
        return b.toString();
    }
}

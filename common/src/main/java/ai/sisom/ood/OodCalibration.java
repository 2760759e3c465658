package ai.sisom.ood;

import ai.sisom.posthoc.OodPostprocessors;
import ai.sisom.posthoc.PosthocMethod;
import ai.sisom.posthoc.PosthocModels;
import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.OodMetric;
import ai.sisom.reference.OodThreshold;
import ai.sisom.reference.Ratio;
import ai.sisom.reference.ReferenceStats;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.OodGate;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The OOD threshold of a reference, chosen from its labeled set only (METHOD.md 10, docs/open-world.md): every labeled
 * sample is scored as a pool sample would be (its predicted class as the inner class), the in-distribution ones with
 * themselves left out of R; then
 * <ul>
 *   <li>{@code youden}: the threshold maximising Youden's J, labeled unknowns against labeled in-distribution;</li>
 *   <li>{@code keep}: the value keeping a share (default 95 %) of the labeled in-distribution samples;</li>
 *   <li>{@code auto}: youden when the labeled set has unknowns, keep otherwise;</li>
 *   <li>or a fixed value.</li>
 * </ul>
 * The metric is one of {@link OodMetric}, the score that ranks the queue ({@code score}), or {@code auto}: with
 * unknowns, the metric of largest J on them; without, the score.
 */
public final class OodCalibration {
    private OodCalibration() {}

    /** How the threshold's value is chosen. */
    public enum Mode {
        AUTO, YOUDEN, KEEP;

        public static Mode parse(String s) {
            for (Mode m : values()) {
                if (m.label().equals(s.trim().toLowerCase(Locale.ROOT))) {
                    return m;
                }
            }
            throw new IllegalArgumentException("OOD threshold mode must be auto, youden or keep, got '" + s + "'");
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The metric asked for: a fixed one (the SISOM family's or a post-hoc score's), the selected score, or chosen on
     * the labeled unknowns.
     */
    public enum MetricChoice {
        AUTO, SCORE, SISOM, SISOME, ENERGY, RATIO, AB, MSP, MAXLOGIT, GEN, ENTROPY, MARGIN, KNN, MAHALANOBIS, REACT, ASH,
        VIM;

        public static MetricChoice parse(String s) {
            for (MetricChoice m : values()) {
                if (m.label().equals(s.trim().toLowerCase(Locale.ROOT))) {
                    return m;
                }
            }
            throw new IllegalArgumentException("OOD metric must be one of " + labels() + ", got '" + s + "'");
        }

        /** Every name, comma-separated. */
        public static String labels() {
            return java.util.Arrays.stream(values()).map(MetricChoice::label)
                    .collect(java.util.stream.Collectors.joining(", "));
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * What to calibrate.
     *
     * @param mode       auto, youden or keep (ignored when {@code fixedValue} is given)
     * @param fixedValue a threshold given by the user, or null
     * @param metric     the metric choice
     * @param keepShare  keep mode: the share of labeled in-distribution samples kept, in (0, 1)
     * @param fusion     the score the queue ranks by (what {@code score} means, and SISOMe's weight)
     */
    public record Spec(Mode mode, Double fixedValue, MetricChoice metric, double keepShare, Fusion fusion) {
        public static final double DEFAULT_KEEP_SHARE = 0.95;

        public Spec {
            if (!(keepShare > 0 && keepShare < 1)) {
                throw new IllegalArgumentException("the share of labeled in-distribution samples the OOD threshold "
                        + "keeps (sisom.ood.keepShare / oodKeepShare) must be in (0, 1), got " + keepShare);
            }
            if (fixedValue != null && !Double.isFinite(fixedValue)) {
                throw new IllegalArgumentException("a fixed OOD threshold must be a finite number, got " + fixedValue);
            }
            if (fixedValue != null && metric == MetricChoice.AUTO) {
                throw new IllegalArgumentException("a fixed OOD threshold needs a named metric (sisom.ood.metric / "
                        + "oodMetric), not auto: the value means nothing without one");
            }
        }

        /** The defaults: mode and metric auto, 95 % kept without unknowns. */
        public static Spec defaults(Fusion fusion) {
            return new Spec(Mode.AUTO, null, MetricChoice.AUTO, DEFAULT_KEEP_SHARE, fusion);
        }

        /** What the user asked for, as recorded in the artifact. */
        public Map<String, String> requested() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("threshold", fixedValue != null ? Double.toString(fixedValue) : mode.label());
            m.put("metric", metric.label());
            return m;
        }
    }

    /**
     * The labeled samples' values on every metric, each scored as a pool sample would be.
     *
     * @param inDistribution per metric ({@link OodMetric#ordinal()}), one value per labeled in-distribution sample
     * @param unknown        per metric, one value per labeled unknown
     */
    public record Values(double[][] inDistribution, double[][] unknown) {
        public double[] inDistribution(OodMetric m) { return inDistribution[m.ordinal()]; }

        public double[] unknown(OodMetric m) { return unknown[m.ordinal()]; }
    }

    /** The reference built from the labeled set, with its OOD threshold, without post-hoc scorers. */
    public static SisomReference build(LabeledSet labeled, List<String> classNames, List<String> layerNames,
                                       int[] offsets, SisomReference.Settings settings, Spec spec) {
        return build(labeled, classNames, layerNames, offsets, settings, spec, false, null);
    }

    /**
     * The reference built from the labeled set, with the post-hoc scorers fitted on it when {@code posthoc}
     * ({@code head}: the model's final linear layer, or null), and its OOD threshold.
     */
    public static SisomReference build(LabeledSet labeled, List<String> classNames, List<String> layerNames,
                                       int[] offsets, SisomReference.Settings settings, Spec spec, boolean posthoc,
                                       OodPostprocessors.Head head) {
        requireClassSamples(labeled, classNames);
        SisomReference ref = SisomReference.build(labeled, classNames, layerNames, offsets, settings);
        if (posthoc) {
            ref = ref.withPosthoc(PosthocModels.fit(labeled.penultimate(), labeled.labels(), classNames.size(), head));
        }
        return ref.withOod(calibrate(ref, labeled, spec));
    }

    /**
     * Unknowns never stand in for a class: a labeled set of unknowns only, or one where a class has unknowns but no
     * class sample, is refused here with the counts (the reference build would only say a class is empty).
     */
    static void requireClassSamples(LabeledSet labeled, List<String> classNames) {
        int nu = labeled.unknowns().size();
        if (nu == 0) {
            return;
        }
        java.util.Set<String> labels = new java.util.TreeSet<>(labeled.unknowns().labels());
        if (labeled.size() == 0) {
            throw new IllegalArgumentException("the labeled set has only unknown-labeled samples (" + nu + ", labels "
                    + labels + "): the reference needs labeled samples of every class " + classNames);
        }
        int[] perClass = new int[classNames.size()];
        for (int c : labeled.labels()) {
            perClass[c]++;
        }
        List<String> empty = new ArrayList<>();
        for (int c = 0; c < perClass.length; c++) {
            if (perClass[c] == 0) {
                empty.add(classNames.get(c));
            }
        }
        if (!empty.isEmpty()) {
            throw new IllegalArgumentException("no labeled sample of class(es) " + empty + ": the labeled set has "
                    + labeled.size() + " class samples and " + nu + " unknown-labeled ones (labels " + labels
                    + "), and unknowns never stand in for a class (d_in would be undefined for pool samples predicted "
                    + "as " + empty + ")");
        }
    }

    /** The threshold for a reference built from {@code labeled}. */
    public static OodThreshold calibrate(SisomReference ref, LabeledSet labeled, Spec spec) {
        int nu = labeled.unknowns().size();
        Double lambda = spec.fusion().fixedLambda();
        OodMetric scoreMetric = spec.fusion().score().metric();
        if (spec.fixedValue() != null) {
            // nothing to choose; how the value splits the labeled samples is still worth recording
            OodMetric m = resolve(spec.metric(), scoreMetric);
            Values v = values(ref, labeled, lambda, posthocOf(List.of(m)));
            requireComputed(v, m);
            double[] in = v.inDistribution(m);
            double[] unk = v.unknown(m);
            Thresholds.Cut c = Thresholds.rates(spec.fixedValue(), in, unk);
            return new OodThreshold(m, m == OodMetric.SISOME ? lambda : null, OodThreshold.Mode.FIXED,
                    spec.fixedValue(), null, in.length, nu, nu > 0 ? c.youdenJ() : null,
                    nu > 0 ? c.unknownsFlagged() : null, c.inDistFlagged(), nu > 0 ? Thresholds.auroc(in, unk) : null,
                    spec.requested(), List.of());
        }
        if (spec.mode() == Mode.YOUDEN && nu == 0) {
            throw new IllegalArgumentException("OOD threshold mode 'youden' (sisom.ood.threshold / oodThresholdMode) "
                    + "needs labeled unknowns, and the labeled set has none: label rejected samples with one of the "
                    + "unknown labels (sisom.labeled.unknownLabels / unknownLabels), or use 'auto' or 'keep'");
        }
        boolean youden = spec.mode() == Mode.YOUDEN || spec.mode() == Mode.AUTO && nu > 0;
        boolean choose = spec.metric() == MetricChoice.AUTO && youden;
        List<OodMetric> candidates = choose ? autoCandidates(scoreMetric) : List.of(resolve(spec.metric(), scoreMetric));
        // only the post-hoc scores a candidate needs: KNN on the labeled set is a labeled x labeled product
        Values v = values(ref, labeled, lambda, posthocOf(candidates));
        List<OodThreshold.Candidate> tried = new ArrayList<>();
        OodMetric metric;
        if (choose) {
            metric = null;
            double bestJ = Double.NEGATIVE_INFINITY;
            for (OodMetric m : candidates) {
                requireComputed(v, m);
                Thresholds.Cut c = Thresholds.youden(v.inDistribution(m), v.unknown(m));
                tried.add(new OodThreshold.Candidate(m, c.value(), c.youdenJ(),
                        Thresholds.auroc(v.inDistribution(m), v.unknown(m))));
                if (c.youdenJ() > bestJ) {
                    bestJ = c.youdenJ();
                    metric = m;
                }
            }
        } else {
            metric = candidates.get(0);
        }
        requireComputed(v, metric);
        double[] in = v.inDistribution(metric);
        double[] unk = v.unknown(metric);
        Thresholds.Cut cut = youden ? Thresholds.youden(in, unk) : Thresholds.keepShare(in, spec.keepShare(), unk);
        return new OodThreshold(metric, metric == OodMetric.SISOME ? lambda : null,
                youden ? OodThreshold.Mode.YOUDEN : OodThreshold.Mode.KEEP_SHARE, cut.value(),
                youden ? null : spec.keepShare(), in.length, nu, nu > 0 ? cut.youdenJ() : null,
                nu > 0 ? cut.unknownsFlagged() : null, cut.inDistFlagged(),
                nu > 0 ? Thresholds.auroc(in, unk) : null, spec.requested(), tried);
    }

    /** The post-hoc methods behind some metrics. */
    private static Set<PosthocMethod> posthocOf(List<OodMetric> metrics) {
        Set<PosthocMethod> s = EnumSet.noneOf(PosthocMethod.class);
        for (OodMetric m : metrics) {
            if (m.posthoc() != null) {
                s.add(m.posthoc());
            }
        }
        return s;
    }

    private static void requireComputed(Values v, OodMetric m) {
        double[] in = v.inDistribution(m);
        if (in.length > 0 && Double.isNaN(in[0]) || v.unknown(m).length > 0 && Double.isNaN(v.unknown(m)[0])) {
            throw new IllegalArgumentException("the OOD metric " + m.label() + " is a post-hoc score, and this reference "
                    + "has no post-hoc scorers or the labeled set's logits were not collected: build the reference "
                    + "from a feature table with logits (the extract job writes them)");
        }
    }

    /**
     * The metrics {@code auto} compares, the selected score first (it wins ties). SISOM and the ratio rank alike, so
     * only one of them is tried.
     */
    static List<OodMetric> autoCandidates(OodMetric scoreMetric) {
        if (scoreMetric == OodMetric.SISOM) {
            return List.of(OodMetric.SISOM, OodMetric.SISOME, OodMetric.ENERGY, OodMetric.AB);
        }
        if (scoreMetric == OodMetric.SISOME) {
            return List.of(OodMetric.SISOME, OodMetric.ENERGY, OodMetric.RATIO, OodMetric.AB);
        }
        // a post-hoc score first; energy is one of the SISOM family already
        return scoreMetric == OodMetric.ENERGY
                ? List.of(OodMetric.ENERGY, OodMetric.SISOME, OodMetric.RATIO, OodMetric.AB)
                : List.of(scoreMetric, OodMetric.SISOME, OodMetric.ENERGY, OodMetric.RATIO, OodMetric.AB);
    }

    private static OodMetric resolve(MetricChoice c, OodMetric scoreMetric) {
        return c == MetricChoice.AUTO || c == MetricChoice.SCORE ? scoreMetric : OodMetric.parse(c.label());
    }

    /**
     * Every metric's values on the labeled set: in-distribution samples leave-one-out with their predicted class
     * (as r_avg, but with the class a pool sample would get), unknowns as pool samples (they are not in R); every
     * post-hoc score the reference can compute.
     */
    public static Values values(SisomReference ref, LabeledSet labeled, Double lambda) {
        return values(ref, labeled, lambda, ref.posthoc() == null ? Set.of() : ref.posthoc().available());
    }

    /** As {@link #values(SisomReference, LabeledSet, Double)}, with the post-hoc scores of {@code posthoc} only (NaN for the others). */
    public static Values values(SisomReference ref, LabeledSet labeled, Double lambda, Set<PosthocMethod> posthoc) {
        ReferenceStats st = ref.stats();
        int n = labeled.size();
        int[] self = new int[n];
        java.util.Arrays.setAll(self, i -> i);
        Ratio[] in = Ratio.ofLabeled(ref.set(), zPacked(ref, labeled.u()), n,
                labeled.pseudoClasses(), self, ref.variant());
        LabeledSet.Unknowns u = labeled.unknowns();
        int nu = u.size();
        int[] none = new int[nu];
        java.util.Arrays.fill(none, -1);
        for (int c : u.pseudoClasses()) {
            if (c < 0 || c >= ref.set().numClasses()) {
                throw new IllegalArgumentException("pseudo-class " + c + " is outside 0.." + (ref.set().numClasses() - 1));
            }
        }
        Ratio[] out = nu == 0 ? new Ratio[0] : Ratio.of(ref.set(), zPacked(ref, u.u()),
                nu, u.pseudoClasses(), none, ref.variant());
        int k = OodMetric.values().length;
        double[][] vi = new double[k][n];
        double[][] vu = new double[k][nu];
        Set<PosthocMethod> wanted = EnumSet.noneOf(PosthocMethod.class);
        if (ref.posthoc() != null) {
            posthoc.stream().filter(ref.posthoc()::has).forEach(wanted::add);
        }
        double[][] pi = posthoc(ref, wanted, labeled.logits(), labeled.penultimate(), n, true);
        double[][] pu = posthoc(ref, wanted, u.logits(), u.penultimate(), nu, false);
        for (OodMetric m : OodMetric.values()) {
            if (m.posthoc() != null && (pi == null || pu == null || !wanted.contains(m.posthoc()))) {
                // not computable without the logits or the fitted scorers: NaN, and a metric resolving to it is refused
                java.util.Arrays.fill(vi[m.ordinal()], Double.NaN);
                java.util.Arrays.fill(vu[m.ordinal()], Double.NaN);
                continue;
            }
            for (int i = 0; i < n; i++) {
                vi[m.ordinal()][i] = OodGate.value(m, lambda, in[i].dIn(), in[i].dOut(), in[i].r(),
                        labeled.energies()[i], pi == null ? null : pi[i], st);
            }
            for (int i = 0; i < nu; i++) {
                vu[m.ordinal()][i] = OodGate.value(m, lambda, out[i].dIn(), out[i].dOut(), out[i].r(),
                        u.energies()[i], pu == null ? null : pu[i], st);
            }
        }
        return new Values(vi, vu);
    }

    /**
     * The labeled samples' post-hoc scores of {@code methods}, or null when the reference has no post-hoc scorers or
     * the samples' logits were not collected. In-distribution samples are the fit set: KNN leaves each one out, the
     * other fitted methods score it in-sample (slightly optimistic, as they were fitted on it).
     */
    private static double[][] posthoc(SisomReference ref, Set<PosthocMethod> methods, List<float[]> logits,
                                      List<float[]> penultimate, int n, boolean fitSamples) {
        if (ref.posthoc() == null || n > 0 && (logits == null || penultimate == null)) {
            return null;
        }
        if (n == 0 || methods.isEmpty()) {
            double[][] none = new double[n][PosthocMethod.values().length];
            for (double[] row : none) {
                java.util.Arrays.fill(row, Double.NaN);
            }
            return none;
        }
        return ref.posthoc().score(methods, logits.toArray(new float[0][]),
                penultimate.toArray(new float[0][]), ai.djl.Device.cpu(), fitSamples);
    }

    /** z = sigmoid(alpha * u) of each row, packed row-major. */
    private static float[] zPacked(SisomReference ref, List<float[]> u) {
        int d = ref.set().dimension();
        float[] out = new float[u.size() * d];
        for (int i = 0; i < u.size(); i++) {
            float[] z = ref.steepness().apply(u.get(i));
            if (z.length != d) {
                throw new IllegalArgumentException("a labeled sample has " + z.length + " features, the reference " + d);
            }
            System.arraycopy(z, 0, out, i * d, d);
        }
        return out;
    }
}

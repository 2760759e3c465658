package ai.sisom.scoring;

import ai.djl.Device;
import ai.sisom.posthoc.PosthocMethod;
import ai.sisom.posthoc.PosthocModels;
import ai.sisom.reference.OodThreshold;
import ai.sisom.reference.Ratio;
import ai.sisom.reference.ReferenceSet;
import ai.sisom.reference.SisomReference;

import java.io.Serializable;
import java.util.EnumSet;
import java.util.Set;

/**
 * Scores pool samples against a reference: z from u with the reference's steepness, the distance ratio with the
 * pseudo-class as inner class, then SISOM, SISOMe, the OOD score and the OOD gate's metric and flag (the reference's
 * calibrated threshold, or a fixed one given here). Stateless and thread-safe; it is what the executors run on the
 * broadcast reference.
 */
public final class SisomScorer implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * Everything the score table holds for one sample. {@code oodMetric} is the OOD gate's metric (higher = more
     * out-of-distribution) and {@code oodFlag} whether it is above the threshold; both are null when the scorer has
     * no threshold.
     */
    public record Scored(double dIn, double dOut, double r, boolean dOutZero, String nearestInId, String nearestOutId,
                         double sisom, double sisome, double score, double oodScore, Double oodMetric,
                         Boolean oodFlag, double[] posthoc) {
        /** The in-distribution score of a post-hoc method this scorer computed. */
        public double posthoc(PosthocMethod m) {
            if (posthoc == null || Double.isNaN(posthoc[m.ordinal()])) {
                throw new IllegalStateException("post-hoc score " + m.label() + " was not computed");
            }
            return posthoc[m.ordinal()];
        }
    }

    private final SisomReference reference;
    private final Fusion fusion;
    private final OodGate gate;
    private final Set<PosthocMethod> extra;
    private final Set<PosthocMethod> computed;

    /** A scorer that flags by the reference's calibrated OOD threshold (none for an uncalibrated reference). */
    public SisomScorer(SisomReference reference, Fusion fusion) {
        this(reference, fusion, reference.ood());
    }

    /** A scorer that flags by the given threshold (null: no flags). */
    public SisomScorer(SisomReference reference, Fusion fusion, OodThreshold threshold) {
        this(reference, fusion, threshold, Set.of());
    }

    /**
     * A scorer that flags by the given threshold (null: no flags) and also computes the post-hoc scores {@code extra}
     * (their columns in the score table). A post-hoc score the reference cannot compute is refused here, before any
     * sample is read.
     */
    public SisomScorer(SisomReference reference, Fusion fusion, OodThreshold threshold, Set<PosthocMethod> extra) {
        this.reference = reference;
        this.fusion = fusion;
        this.gate = new OodGate(threshold);
        this.extra = extra.isEmpty() ? EnumSet.noneOf(PosthocMethod.class) : EnumSet.copyOf(extra);
        EnumSet<PosthocMethod> all = EnumSet.copyOf(this.extra);
        if (fusion.score().posthoc() != null) {
            all.add(fusion.score().posthoc());
        }
        if (threshold != null && threshold.metric().posthoc() != null) {
            all.add(threshold.metric().posthoc());
        }
        for (PosthocMethod m : all) {
            if (m.fitted() || m.needsHead()) {
                PosthocModels models = reference.posthoc();
                if (models == null) {
                    throw new IllegalArgumentException("post-hoc score '" + m.label() + "' is fitted on the labeled set, "
                            + "and this reference (format version " + reference.formatVersion() + ") has no fitted "
                            + "post-hoc scorers: rebuild the reference");
                }
                if (!models.has(m)) {
                    throw new IllegalArgumentException("post-hoc score '" + m.label() + "' needs the model's final "
                            + "linear layer, and the reference was built from a model exported without it: add it with "
                            + "`python3 python/sisom_export.py add-head MODEL.pt` and rebuild the reference");
                }
            }
        }
        this.computed = all;
    }

    /** The post-hoc scores beside the ranking one that the score table gets columns for. */
    public Set<PosthocMethod> extra() { return extra; }

    /** Every post-hoc score this scorer computes (the extra ones, the ranking one, the OOD metric's). */
    public Set<PosthocMethod> posthocComputed() { return computed; }

    /** Whether scoring needs each sample's logits. */
    public boolean needsLogits() { return !computed.isEmpty(); }

    /** Whether scoring needs each sample's penultimate features. */
    public boolean needsPenultimate() {
        return computed.stream().anyMatch(PosthocMethod::needsPenultimate);
    }

    public SisomReference reference() { return reference; }

    public Fusion fusion() { return fusion; }

    /** The threshold this scorer flags by, or null. */
    public OodThreshold oodThreshold() { return gate.threshold(); }

    public Scored score(float[] u, int pseudoClass, double energy) {
        return scoreZ(reference.steepness().apply(u), pseudoClass, energy);
    }

    /** Scores an enhanced feature z directly. */
    public Scored scoreZ(float[] z, int pseudoClass, double energy) {
        ReferenceSet set = reference.set();
        if (pseudoClass < 0 || pseudoClass >= set.numClasses()) {
            throw new IllegalArgumentException("pseudo-class " + pseudoClass + " is outside 0.." + (set.numClasses() - 1));
        }
        Ratio ratio = Ratio.of(set, z, pseudoClass, -1, reference.variant());
        return scored(ratio.dIn(), ratio.dOut(), ratio.r(), ratio.dOutZero(),
                set.id(ratio.in().cls(), ratio.in().row()), set.id(ratio.out().cls(), ratio.out().row()), energy);
    }

    /**
     * Scores n samples at once (u packed n x D) with the batched distance kernel; identical to calling
     * {@link #score} for each.
     */
    public Scored[] scoreBatch(float[] u, int n, int[] pseudoClass, double[] energy) {
        return scoreBatch(u, n, pseudoClass, energy, Device.cpu());
    }

    /** As {@link #scoreBatch(float[], int, int[], double[])}, with the distance kernel on {@code device}. */
    public Scored[] scoreBatch(float[] u, int n, int[] pseudoClass, double[] energy, Device device) {
        return scoreBatch(u, n, pseudoClass, energy, null, null, device);
    }

    /**
     * As {@link #scoreBatch(float[], int, int[], double[], Device)}, with each sample's logits and penultimate
     * features for the post-hoc scores (null when {@link #needsLogits()} / {@link #needsPenultimate()} say so).
     */
    public Scored[] scoreBatch(float[] u, int n, int[] pseudoClass, double[] energy, float[][] logits,
                               float[][] penultimate, Device device) {
        int d = reference.set().dimension();
        float[] z = new float[n * d];
        for (int i = 0; i < n; i++) {
            System.arraycopy(reference.steepness().apply(java.util.Arrays.copyOfRange(u, i * d, (i + 1) * d)), 0, z, i * d, d);
        }
        double[][] post = posthocScores(logits, penultimate, device);
        return scoreZBatch(z, n, pseudoClass, energy, post, device);
    }

    /** The post-hoc in-distribution scores of n samples, or null when this scorer computes none. */
    private double[][] posthocScores(float[][] logits, float[][] penultimate, Device device) {
        if (computed.isEmpty()) {
            return null;
        }
        if (logits == null || needsPenultimate() && penultimate == null) {
            throw new IllegalArgumentException("the post-hoc scores " + computed + " need each sample's logits"
                    + (needsPenultimate() ? " and penultimate features" : ""));
        }
        // without fitted models the constructor admitted logit-only methods
        return reference.posthoc() != null ? reference.posthoc().score(computed, logits, penultimate, device)
                : PosthocModels.logitScores(computed, logits);
    }

    /** As {@link #scoreBatch}, for enhanced features z (packed n x D). */
    public Scored[] scoreZBatch(float[] z, int n, int[] pseudoClass, double[] energy) {
        return scoreZBatch(z, n, pseudoClass, energy, Device.cpu());
    }

    /** As {@link #scoreZBatch(float[], int, int[], double[])}, with the distance kernel on {@code device}. */
    public Scored[] scoreZBatch(float[] z, int n, int[] pseudoClass, double[] energy, Device device) {
        if (!computed.isEmpty()) {
            throw new IllegalArgumentException("the post-hoc scores " + computed + " need each sample's logits: use "
                    + "scoreBatch with them");
        }
        return scoreZBatch(z, n, pseudoClass, energy, null, device);
    }

    private Scored[] scoreZBatch(float[] z, int n, int[] pseudoClass, double[] energy, double[][] posthoc,
                                 Device device) {
        ReferenceSet set = reference.set();
        int[] none = new int[n];
        java.util.Arrays.fill(none, -1);
        for (int c : pseudoClass) {
            if (c < 0 || c >= set.numClasses()) {
                throw new IllegalArgumentException("pseudo-class " + c + " is outside 0.." + (set.numClasses() - 1));
            }
        }
        Ratio[] ratios = Ratio.of(set, z, n, pseudoClass, none, reference.variant(), device);
        Scored[] out = new Scored[n];
        for (int i = 0; i < n; i++) {
            Ratio r = ratios[i];
            out[i] = scored(r.dIn(), r.dOut(), r.r(), r.dOutZero(), set.id(r.in().cls(), r.in().row()),
                    set.id(r.out().cls(), r.out().row()), energy[i], posthoc == null ? null : posthoc[i]);
        }
        return out;
    }

    /** Builds the score record from distances (also used by greedy selection when it updates them). */
    public Scored scored(double dIn, double dOut, double r, boolean dOutZero, String inId, String outId, double energy) {
        if (!computed.isEmpty()) {
            throw new IllegalArgumentException("the post-hoc scores " + computed + " need each sample's logits");
        }
        return scored(dIn, dOut, r, dOutZero, inId, outId, energy, null);
    }

    private Scored scored(double dIn, double dOut, double r, boolean dOutZero, String inId, String outId,
                          double energy, double[] posthoc) {
        var st = reference.stats();
        double sisom = Fusion.sisom(r, st);
        double sisome = fusion.sisome(r, energy, st);
        PosthocMethod p = fusion.score().posthoc();
        // higher = more worth labeling: a post-hoc in-distribution score is negated
        double s = p != null ? -posthoc[p.ordinal()] : fusion.score() == Fusion.Score.SISOM ? sisom : sisome;
        Double ood = gate.value(dIn, dOut, r, energy, posthoc, st);
        return new Scored(dIn, dOut, r, dOutZero, inId, outId, sisom, sisome, s, -s, ood, gate.flag(ood), posthoc);
    }
}

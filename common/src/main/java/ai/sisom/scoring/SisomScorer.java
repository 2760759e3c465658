package ai.sisom.scoring;

import ai.djl.Device;
import ai.sisom.reference.OodThreshold;
import ai.sisom.reference.Ratio;
import ai.sisom.reference.ReferenceSet;
import ai.sisom.reference.SisomReference;

import java.io.Serializable;

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
                         Boolean oodFlag) {}

    private final SisomReference reference;
    private final Fusion fusion;
    private final OodGate gate;

    /** A scorer that flags by the reference's calibrated OOD threshold (none for an uncalibrated reference). */
    public SisomScorer(SisomReference reference, Fusion fusion) {
        this(reference, fusion, reference.ood());
    }

    /** A scorer that flags by the given threshold (null: no flags). */
    public SisomScorer(SisomReference reference, Fusion fusion, OodThreshold threshold) {
        this.reference = reference;
        this.fusion = fusion;
        this.gate = new OodGate(threshold);
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
        int d = reference.set().dimension();
        float[] z = new float[n * d];
        for (int i = 0; i < n; i++) {
            System.arraycopy(reference.steepness().apply(java.util.Arrays.copyOfRange(u, i * d, (i + 1) * d)), 0, z, i * d, d);
        }
        return scoreZBatch(z, n, pseudoClass, energy, device);
    }

    /** As {@link #scoreBatch}, for enhanced features z (packed n x D). */
    public Scored[] scoreZBatch(float[] z, int n, int[] pseudoClass, double[] energy) {
        return scoreZBatch(z, n, pseudoClass, energy, Device.cpu());
    }

    /** As {@link #scoreZBatch(float[], int, int[], double[])}, with the distance kernel on {@code device}. */
    public Scored[] scoreZBatch(float[] z, int n, int[] pseudoClass, double[] energy, Device device) {
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
                    set.id(r.out().cls(), r.out().row()), energy[i]);
        }
        return out;
    }

    /** Builds the score record from distances (also used by greedy selection when it updates them). */
    public Scored scored(double dIn, double dOut, double r, boolean dOutZero, String inId, String outId, double energy) {
        var st = reference.stats();
        double sisom = Fusion.sisom(r, st);
        double sisome = fusion.sisome(r, energy, st);
        double s = fusion.score() == Fusion.Score.SISOM ? sisom : sisome;
        Double ood = gate.value(dIn, dOut, r, energy, st);
        return new Scored(dIn, dOut, r, dOutZero, inId, outId, sisom, sisome, s, -s, ood, gate.flag(ood));
    }
}

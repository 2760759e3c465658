package ai.sisom.reference;

import ai.djl.Device;
import ai.sisom.reference.NearestKernel;
import ai.sisom.reference.ReferenceSet;
import ai.sisom.reference.ReferenceSet.Nearest;

/**
 * The distance ratio of one sample (METHOD.md section 3): d_in to the nearest reference point of its class (the
 * anchor), d_out by the chosen variant, r = d_in / d_out.
 *
 * @param in        the anchor
 * @param out       the nearest other-class point (to the sample, or to the anchor for the anchor variant)
 * @param dOutZero  d_out was 0; r is then {@link #ZERO_D_OUT_RATIO}, as in the reference code, and the case is
 *                  counted and reported by the callers
 */
public record Ratio(double dIn, double dOut, double r, boolean dOutZero, Nearest in, Nearest out) {
    /** The reference code's value of r when d_out = 0. */
    public static final double ZERO_D_OUT_RATIO = 1e-6;

    /** Below this many query x reference pairs, the scalar search is cheaper than setting up the kernel. */
    static final long KERNEL_MIN_PAIRS = 200_000;

    /**
     * Ratios of n queries (z packed n x D), with the batched kernel when the work is large enough; the answers are
     * identical to {@link #of} either way.
     */
    public static Ratio[] of(ReferenceSet ref, float[] z, int n, int[] cls, int[] exclude, DOutVariant variant) {
        return of(ref, z, n, cls, exclude, variant, Device.cpu());
    }

    /** As {@link #of(ReferenceSet, float[], int, int[], int[], DOutVariant)}, with the kernel on {@code device}. */
    public static Ratio[] of(ReferenceSet ref, float[] z, int n, int[] cls, int[] exclude, DOutVariant variant,
                             Device device) {
        int d = ref.dimension();
        if ((long) n * ref.size() < KERNEL_MIN_PAIRS) {
            Ratio[] out = new Ratio[n];
            for (int i = 0; i < n; i++) {
                out[i] = of(ref, java.util.Arrays.copyOfRange(z, i * d, (i + 1) * d), cls[i], exclude[i], variant);
            }
            return out;
        }
        return fromHits(ref, ref.kernel(device).search(z, n, cls, exclude, variant == DOutVariant.SAMPLE), cls,
                variant);
    }

    /** Ratios from a kernel's answers ({@code search(..., outside = variant == SAMPLE)}). */
    public static Ratio[] fromHits(ReferenceSet ref, NearestKernel.Hits[] hits, int[] cls, DOutVariant variant) {
        int n = hits.length;
        Ratio[] out = new Ratio[n];
        for (int i = 0; i < n; i++) {
            Nearest in = hits[i].in();
            if (in == null) {
                throw new IllegalArgumentException("class '" + ref.classNames().get(cls[i]) + "' has no reference "
                        + "point besides the sample itself; leave-one-out needs at least two per class");
            }
            out[i] = from(in, variant == DOutVariant.SAMPLE ? hits[i].out() : ref.anchorOut(in.cls(), in.row()));
        }
        return out;
    }

    /**
     * Ratios of labeled samples scored as pool samples would be, with class {@code cls[i]} (their prediction) as the
     * inner class and each sample left out of R entirely ({@code self[i]}: its labeled-set index). With the true
     * label as {@code cls} this is r_avg's leave-one-out; with another class the sample sits among the other-class
     * points, so the d_out search (or, for the anchor variant, the anchor's) must skip it too, which the kernel's
     * own-class exclusion does not do: those few samples are re-searched here when the kernel's answer is the sample
     * itself (any other answer is already the minimum without it).
     */
    public static Ratio[] ofLabeled(ReferenceSet ref, float[] z, int n, int[] cls, int[] self, DOutVariant variant) {
        Ratio[] out = of(ref, z, n, cls, self, variant);
        int d = ref.dimension();
        for (int i = 0; i < n; i++) {
            Nearest o = out[i].out();
            if (o == null || ref.sourceIndex(o.cls(), o.row()) != self[i]) {
                continue;
            }
            float[] from = variant == DOutVariant.SAMPLE ? java.util.Arrays.copyOfRange(z, i * d, (i + 1) * d)
                    : ref.point(out[i].in().cls(), out[i].in().row());
            Nearest again = ref.nearestOutside(from, cls[i], self[i]);
            if (again == null) {
                throw new IllegalArgumentException("no reference point outside class '" + ref.classNames().get(cls[i])
                        + "' besides the sample itself; d_out is undefined");
            }
            out[i] = from(out[i].in(), again);
        }
        return out;
    }

    private static Ratio from(Nearest in, Nearest out) {
        double dOut = out.distance();
        boolean zero = dOut == 0;
        return new Ratio(in.distance(), dOut, zero ? ZERO_D_OUT_RATIO : in.distance() / dOut, zero, in, out);
    }

    /**
     * @param cls     the class whose points are "inner": the pseudo-class for pool samples, the true label for r_avg
     * @param exclude labeled-set index to leave out of the inner class (leave-one-out), or -1
     */
    public static Ratio of(ReferenceSet ref, float[] z, int cls, int exclude, DOutVariant variant) {
        Nearest in = ref.nearestIn(z, cls, exclude);
        if (in == null) {
            throw new IllegalArgumentException("class '" + ref.classNames().get(cls) + "' has no reference point "
                    + "besides the sample itself; leave-one-out needs at least two per class");
        }
        return from(in, variant == DOutVariant.SAMPLE ? ref.nearestOutside(z, cls) : ref.anchorOut(in.cls(), in.row()));
    }
}

package ai.sisom.scoring;

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

    /**
     * @param cls     the class whose points are "inner": the pseudo-class for pool samples, the true label for r_avg
     * @param exclude labeled-set index to leave out (leave-one-out), or -1
     */
    public static Ratio of(ReferenceSet ref, float[] z, int cls, int exclude, DOutVariant variant) {
        Nearest in = ref.nearestIn(z, cls, exclude);
        if (in == null) {
            throw new IllegalArgumentException("class '" + ref.classNames().get(cls) + "' has no reference point "
                    + "besides the sample itself; leave-one-out needs at least two per class");
        }
        Nearest out = variant == DOutVariant.SAMPLE ? ref.nearestOutside(z, cls) : ref.anchorOut(in.cls(), in.row());
        double dOut = out.distance();
        boolean zero = dOut == 0;
        return new Ratio(in.distance(), dOut, zero ? ZERO_D_OUT_RATIO : in.distance() / dOut, zero, in, out);
    }
}

package ai.sisom.reference;


import java.io.Serializable;
import java.util.List;

/**
 * Feature-space separability of the labeled set (METHOD.md section 4): r_avg and sigma_r over the labeled samples,
 * each scored with its true label and leave-one-out, and mu_E, sigma_E of their energies. Standard deviations are
 * population deviations (divide by n, numpy's default).
 *
 * @param dOutZero how many labeled samples had d_out = 0 (their r was set to {@link Ratio#ZERO_D_OUT_RATIO})
 */
public record ReferenceStats(double rAvg, double sigmaR, double muE, double sigmaE, int n, int dOutZero)
        implements Serializable {

    /**
     * @param z        enhanced features of the labeled samples
     * @param labels   their true class indexes
     * @param energies their energies
     * @param ref      the reference set built from them (or from a subset); point i of the labeled set is left out
     *                 by its index
     */
    public static ReferenceStats leaveOneOut(ReferenceSet ref, List<float[]> z, int[] labels, double[] energies,
                                             DOutVariant variant) {
        int n = z.size();
        if (n < 2) {
            throw new IllegalArgumentException("r_avg needs at least two labeled samples, got " + n);
        }
        double[] r = new double[n];
        int zero = 0;
        Ratio[] ratios = Ratio.of(ref, pack(z), n, labels, identity(n), variant);
        for (int i = 0; i < n; i++) {
            r[i] = ratios[i].r();
            if (ratios[i].dOutZero()) {
                zero++;
            }
        }
        double[] rs = meanStd(r);
        double[] es = meanStd(energies);
        return new ReferenceStats(rs[0], rs[1], es[0], es[1], n, zero);
    }

    /** r_avg only: what the steepness search minimises. */
    public static double rAvg(ReferenceSet ref, List<float[]> z, int[] labels, DOutVariant variant) {
        double s = 0;
        for (Ratio ratio : Ratio.of(ref, pack(z), z.size(), labels, identity(z.size()), variant)) {
            s += ratio.r();
        }
        return s / z.size();
    }

    static float[] pack(List<float[]> rows) {
        int d = rows.isEmpty() ? 0 : rows.get(0).length;
        float[] out = new float[rows.size() * d];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, out, i * d, d);
        }
        return out;
    }

    /** Labeled sample i leaves out labeled index i. */
    private static int[] identity(int n) {
        int[] a = new int[n];
        java.util.Arrays.setAll(a, i -> i);
        return a;
    }

    /** Mean and population standard deviation, two-pass for accuracy. */
    static double[] meanStd(double[] v) {
        double m = 0;
        for (double x : v) {
            m += x;
        }
        m /= v.length;
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return new double[]{m, Math.sqrt(s / v.length)};
    }
}

package ai.sisom.scoring;

import java.util.List;

/**
 * Independent, deliberately naive re-implementation of METHOD.md sections 3-5 for tests: every distance recomputed
 * from scratch over all pairs, no class layout, no precomputation.
 */
public final class BruteForce {
    private BruteForce() {}

    public static double dist(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        }
        return Math.sqrt(s);
    }

    /** {d_in, d_out, r, inIndex, outIndex} of z with inner class c against points (labels), skipping index skip. */
    public static double[] ratio(float[] z, int c, List<float[]> pts, int[] labels, int skip, boolean anchor) {
        int in = -1;
        for (int i = 0; i < pts.size(); i++) {
            if (i != skip && labels[i] == c && (in < 0 || dist(z, pts.get(i)) < dist(z, pts.get(in)))) {
                in = i;
            }
        }
        float[] from = anchor ? pts.get(in) : z;
        int out = -1;
        for (int i = 0; i < pts.size(); i++) {
            if (labels[i] != c && (out < 0 || dist(from, pts.get(i)) < dist(from, pts.get(out)))) {
                out = i;
            }
        }
        double dIn = dist(z, pts.get(in));
        double dOut = dist(from, pts.get(out));
        return new double[]{dIn, dOut, dOut == 0 ? 1e-6 : dIn / dOut, in, out};
    }

    /** {r_avg, sigma_r, mu_E, sigma_E} with leave-one-out on true labels. */
    public static double[] stats(List<float[]> z, int[] labels, double[] energy, boolean anchor) {
        int n = z.size();
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            r[i] = ratio(z.get(i), labels[i], z, labels, i, anchor)[2];
        }
        return new double[]{mean(r), std(r), mean(energy), std(energy)};
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    static double std(double[] v) {
        double m = mean(v);
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / v.length);
    }

    public static float[] sigmoid(float[] u, double[] alphas, int[] offsets) {
        float[] z = new float[u.length];
        for (int j = 0; j < alphas.length; j++) {
            for (int i = offsets[j]; i < offsets[j + 1]; i++) {
                z[i] = (float) (1 / (1 + Math.exp(-(double) ((float) alphas[j] * u[i]))));
            }
        }
        return z;
    }
}

package ai.sisom.reference;

/**
 * Euclidean distances for the SISOM workload. Squared differences are accumulated in double, so a distance is
 * exact to float32 input precision (no |x|^2 + |y|^2 - 2xy cancellation for near-duplicates).
 */
public final class Distances {
    private Distances() {}

    /** Squared distance between row i of {@code a} (dimension d) and vector {@code z}. */
    public static double squared(float[] z, float[] a, int row, int d) {
        double s = 0;
        int o = row * d;
        for (int k = 0; k < d; k++) {
            double t = (double) z[k] - a[o + k];
            s += t * t;
        }
        return s;
    }

    public static double distance(float[] x, float[] y) {
        double s = 0;
        for (int k = 0; k < x.length; k++) {
            double t = (double) x[k] - y[k];
            s += t * t;
        }
        return Math.sqrt(s);
    }
}

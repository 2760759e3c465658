package ai.sisom.reference;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Per-layer sigmoid steepness alpha_j: turns the stored raw products u into the enhanced feature
 * z_j = sigmoid(alpha_j * u_j) (METHOD.md section 1).
 */
public final class Steepness implements Serializable {
    private static final long serialVersionUID = 1L;
    private final double[] alphas;
    private final int[] offsets;

    /**
     * @param alphas  one steepness per layer, in the model's layer order
     * @param offsets layer boundaries in u (length layers + 1), from {@code ModelMetadata.layerOffsets()}
     */
    public Steepness(double[] alphas, int[] offsets) {
        if (alphas.length + 1 != offsets.length) {
            throw new IllegalArgumentException("need one steepness per layer: " + (offsets.length - 1) + " layers, "
                    + alphas.length + " values " + Arrays.toString(alphas));
        }
        for (double a : alphas) {
            if (!(a > 0) || Double.isInfinite(a)) {
                throw new IllegalArgumentException("steepness values must be positive and finite, got " + Arrays.toString(alphas));
            }
        }
        this.alphas = alphas.clone();
        this.offsets = offsets.clone();
    }

    public double[] alphas() { return alphas.clone(); }

    public int[] offsets() { return offsets.clone(); }

    public int dimension() { return offsets[offsets.length - 1]; }

    /** z = sigmoid(alpha_j * u) per layer, in float32 like the network's own arithmetic. */
    public float[] apply(float[] u) {
        if (u.length != dimension()) {
            throw new IllegalArgumentException("u has " + u.length + " values, the layers need " + dimension());
        }
        float[] z = new float[u.length];
        for (int j = 0; j < alphas.length; j++) {
            float a = (float) alphas[j];
            for (int i = offsets[j]; i < offsets[j + 1]; i++) {
                z[i] = (float) (1.0 / (1.0 + Math.exp(-(double) (a * u[i]))));
            }
        }
        return z;
    }

    @Override
    public String toString() {
        return Arrays.toString(alphas);
    }
}

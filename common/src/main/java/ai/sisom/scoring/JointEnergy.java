package ai.sisom.scoring;

/**
 * JointEnergy for multi-label models (Wang et al., METHOD.md section 8): {@code sum_k log(1 + exp(l_k))} over the
 * per-label logits; higher means more in-distribution. Known weakness: a sample whose labels are rare (tail) labels
 * has smaller logits on them and so looks out-of-distribution; the README says so next to the scorer. The same
 * score as a Spark column is {@code ai.sisom.spark.SparkColumns.jointEnergy}.
 */
public final class JointEnergy {
    private JointEnergy() {}

    /** The score of one sample, with the overflow-safe softplus max(l, 0) + log1p(exp(-|l|)). */
    public static double score(float[] logits) {
        double s = 0;
        for (float l : logits) {
            s += Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs((double) l)));
        }
        return s;
    }
}

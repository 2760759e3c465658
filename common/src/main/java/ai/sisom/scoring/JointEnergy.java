package ai.sisom.scoring;

import org.apache.spark.sql.Column;

import static org.apache.spark.sql.functions.expr;

/**
 * JointEnergy for multi-label models (Wang et al., METHOD.md section 8): {@code sum_k log(1 + exp(l_k))} over the
 * per-label logits; higher means more in-distribution. Known weakness: a sample whose labels are rare (tail) labels
 * has smaller logits on them and so looks out-of-distribution; the README says so next to the scorer.
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

    /** The same as a Spark SQL column over an array of logits (no UDF: stays in Spark's optimised code). */
    public static Column column(String logitsColumn) {
        return expr("aggregate(" + logitsColumn + ", cast(0 as double), (acc, l) -> acc + greatest(cast(l as double), 0D)"
                + " + log1p(exp(-abs(cast(l as double)))))");
    }
}

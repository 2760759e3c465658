package ai.sisom.spark;

import org.apache.spark.sql.Column;

import static org.apache.spark.sql.functions.expr;

/** Scores of the library as Spark SQL columns, computed without a UDF so they stay in Spark's generated code. */
public final class SparkColumns {
    private SparkColumns() {}

    /** A column by its exact name (dots and all). */
    public static Column byName(String name) {
        return org.apache.spark.sql.functions.col("`" + name.replace("`", "``") + "`");
    }

    /**
     * {@link ai.sisom.scoring.JointEnergy#score} over an array-of-logits column: {@code sum_k log(1 + exp(l_k))}
     * with the same overflow-safe softplus.
     */
    public static Column jointEnergy(String logitsColumn) {
        return expr("aggregate(" + logitsColumn + ", cast(0 as double), (acc, l) -> acc + greatest(cast(l as double), 0D)"
                + " + log1p(exp(-abs(cast(l as double)))))");
    }
}

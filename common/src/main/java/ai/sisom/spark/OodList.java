package ai.sisom.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import static org.apache.spark.sql.functions.asc;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.desc;

/**
 * The flagged list ({@code ood/}): the score table's rows whose OOD metric is above the threshold, most
 * out-of-distribution first (ties by id), with {@link ScoreTable#OOD_RANK}. Every column of the score table comes along,
 * the nearest same-class and other-class reference ids among them, which explain the flag. Ranked by a distributed
 * sort and a zip with the row index, so a pool with millions of flagged samples never comes to the driver.
 */
public final class OodList {
    private OodList() {}

    public static Dataset<Row> ranked(Dataset<Row> scores) {
        Dataset<Row> sorted = scores.filter(col(ScoreTable.OOD_FLAG).equalTo(true))
                .orderBy(desc(ScoreTable.OOD_METRIC), asc(ScoreTable.ID));
        StructType schema = sorted.schema().add(ScoreTable.OOD_RANK, DataTypes.LongType, false);
        JavaRDD<Row> rows = sorted.javaRDD().zipWithIndex().map(t -> {
            Row r = t._1();
            Object[] v = new Object[r.size() + 1];
            for (int i = 0; i < r.size(); i++) {
                v[i] = r.get(i);
            }
            v[v.length - 1] = t._2() + 1;
            return RowFactory.create(v);
        });
        return scores.sparkSession().createDataFrame(rows, schema);
    }
}

package ai.sisom.spark;

import ai.sisom.selection.Lfosa;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.array_max;
import static org.apache.spark.sql.functions.col;

/** LfOSA on Spark (METHOD.md section 8). */
public final class LfosaSelection {
    private LfosaSelection() {}

    /**
     * LfOSA selection over a feature table made with a (K+1)-way detector (its last class is "unknown"): the
     * predicted class and maximum activation value of every sample are computed on the executors; only those
     * two numbers per sample reach the driver, where the per-class mixtures are fitted ({@link Lfosa}).
     * Output: id, predicted_class, mav, weight, rank.
     */
    public static Dataset<Row> select(SparkSession spark, Dataset<Row> detectorFeatures, int q) {
        List<String> classes = FeatureColumns.classNamesOf(detectorFeatures.schema());
        if (classes == null || classes.size() < 3) {
            throw new IllegalArgumentException("LfOSA needs features from a (K+1)-way detector whose last class is the "
                    + "unknown class, with at least two known classes; got classes " + classes);
        }
        List<Row> rows = detectorFeatures.select(col(FeatureTable.ID), col(FeatureTable.PSEUDO_CLASS),
                array_max(col(FeatureTable.LOGITS)).cast(DataTypes.DoubleType))
                .collectAsList();
        List<Lfosa.Candidate> cands = new ArrayList<>(rows.size());
        for (Row r : rows) {
            cands.add(new Lfosa.Candidate(r.getString(0), r.getInt(1), r.getDouble(2)));
        }
        List<Lfosa.Weighted> picked = Lfosa.select(cands, classes.size() - 1, q);
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < picked.size(); i++) {
            var w = picked.get(i);
            out.add(RowFactory.create(w.id(), w.predicted(), w.mav(), w.weight(), i + 1));
        }
        StructType schema = new StructType().add(FeatureTable.ID, DataTypes.StringType).add("predicted_class",
                DataTypes.IntegerType).add("mav", DataTypes.DoubleType).add("weight", DataTypes.DoubleType)
                .add(ScoreTable.RANK, DataTypes.IntegerType);
        return spark.createDataFrame(out, schema);
    }

}

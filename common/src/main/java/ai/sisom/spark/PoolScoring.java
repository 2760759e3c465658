package ai.sisom.spark;

import ai.djl.Device;
import ai.sisom.features.Batches;
import ai.sisom.model.DeviceBinding;
import ai.sisom.scoring.SisomScorer;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Features -> scores on Spark. The scorer (reference set, statistics, steepness) is broadcast; each executor scores
 * its partitions independently in batches, so the cost is linear in the pool and nothing reaches the driver. The
 * distance kernel runs on the task's GPU when it has one and the natives can use it, else on the CPU.
 */
public final class PoolScoring {
    /** Pool rows scored per kernel call on an executor: the distance kernel wants many queries per call. */
    static final int BATCH = 2048;

    private PoolScoring() {}

    /**
     * Scores every row of a feature table into {@link ScoreTable}'s layout, pass-through columns kept; a task
     * assigned a GPU the natives cannot use scores on the CPU, with a warning (the scores are the same either way).
     */
    public static Dataset<Row> score(SparkSession spark, Dataset<Row> features, SisomScorer scorer) {
        return score(spark, features, scorer, TaskGpus.binding(true));
    }

    /** As {@link #score(SparkSession, Dataset, SisomScorer)}, each task on the device {@code binding} gives it. */
    public static Dataset<Row> score(SparkSession spark, Dataset<Row> features, SisomScorer scorer,
                                     DeviceBinding binding) {
        StructType in = features.schema();
        for (String c : List.of(FeatureTable.ID, FeatureTable.U, FeatureTable.PSEUDO_CLASS, FeatureTable.ENERGY)) {
            if (!Arrays.asList(in.fieldNames()).contains(c)) {
                throw new IllegalArgumentException("feature table has no column '" + c + "': is it the output of extract?");
            }
        }
        requireType(in, FeatureTable.ID, DataTypes.StringType);
        requireType(in, FeatureTable.PSEUDO_CLASS, DataTypes.IntegerType);
        requireType(in, FeatureTable.ENERGY, DataTypes.DoubleType);
        requireType(in, FeatureTable.U, DataTypes.createArrayType(DataTypes.FloatType));
        List<StructField> pass = new ArrayList<>();
        for (StructField f : in.fields()) {
            String n = f.name();
            if (!ScoreTable.DROPPED.contains(n) && !n.equals(FeatureTable.ID) && !n.equals(FeatureTable.PSEUDO_CLASS)
                    && !n.equals(FeatureTable.ENERGY)) {
                pass.add(f);
            }
        }
        boolean needLogits = scorer.needsLogits();
        boolean needPen = scorer.needsPenultimate();
        for (String c : needPen ? List.of(FeatureTable.LOGITS, FeatureTable.PENULTIMATE)
                : needLogits ? List.of(FeatureTable.LOGITS) : List.<String>of()) {
            if (!Arrays.asList(in.fieldNames()).contains(c)) {
                throw new IllegalArgumentException("feature table has no column '" + c + "', which the post-hoc scores "
                        + scorer.posthocComputed() + " need");
            }
            requireType(in, c, DataTypes.createArrayType(DataTypes.FloatType));
        }
        // only what the scorer reads and what passes through: Spark's Row decoder boxes every float of an array
        // column, and the logits and penultimate arrays a scorer does not need were a third of that work
        List<String> read = new ArrayList<>(List.of(FeatureTable.ID, FeatureTable.U, FeatureTable.PSEUDO_CLASS,
                FeatureTable.ENERGY));
        if (needLogits) {
            read.add(FeatureTable.LOGITS);
        }
        if (needPen) {
            read.add(FeatureTable.PENULTIMATE);
        }
        pass.forEach(f -> read.add(f.name()));
        Dataset<Row> used = features.select(read.stream().map(SparkColumns::byName)
                .toArray(org.apache.spark.sql.Column[]::new));
        StructType cols = used.schema();
        List<ai.sisom.posthoc.PosthocMethod> extra = ScoreTable.ordered(scorer.extra());
        StructType out = ScoreTable.schema(scorer.extra(), pass);
        Broadcast<SisomScorer> b = spark.sparkContext().broadcast(scorer,
                scala.reflect.ClassTag$.MODULE$.apply(SisomScorer.class));
        int idIdx = cols.fieldIndex(FeatureTable.ID);
        int uIdx = cols.fieldIndex(FeatureTable.U);
        int classIdx = cols.fieldIndex(FeatureTable.PSEUDO_CLASS);
        int energyIdx = cols.fieldIndex(FeatureTable.ENERGY);
        int logitsIdx = needLogits ? cols.fieldIndex(FeatureTable.LOGITS) : -1;
        int penIdx = needPen ? cols.fieldIndex(FeatureTable.PENULTIMATE) : -1;
        int[] p = pass.stream().mapToInt(f -> cols.fieldIndex(f.name())).toArray();
        MapPartitionsFunction<Row, Row> fn = rows -> {
            SisomScorer s = b.value();
            Device device = binding.device();
            List<String> names = s.reference().classNames();
            int d = s.reference().set().dimension();
            return new Batches<>(rows, () -> {
                List<Row> batch = new ArrayList<>(BATCH);
                while (batch.size() < BATCH && rows.hasNext()) {
                    batch.add(rows.next());
                }
                int n = batch.size();
                float[] u = new float[n * d];
                int[] pc = new int[n];
                double[] e = new double[n];
                float[][] logits = needLogits ? new float[n][] : null;
                float[][] pen = needPen ? new float[n][] : null;
                for (int i = 0; i < n; i++) {
                    Row r = batch.get(i);
                    String id = r.getString(idIdx);
                    float[] ui = FeatureTable.floats(r, uIdx);
                    if (ui.length != d) {
                        throw new IllegalArgumentException("sample '" + id + "' has " + ui.length
                                + " features, the reference has " + d);
                    }
                    for (int j = 0; j < d; j++) {
                        if (!Float.isFinite(ui[j])) {
                            throw new IllegalArgumentException("sample '" + id + "' has a non-finite feature: u[" + j
                                    + "] = " + ui[j]);
                        }
                    }
                    System.arraycopy(ui, 0, u, i * d, d);
                    pc[i] = r.getInt(classIdx);
                    e[i] = r.getDouble(energyIdx);
                    if (!Double.isFinite(e[i])) {
                        throw new IllegalArgumentException("sample '" + id + "' has a non-finite energy: " + e[i]);
                    }
                    if (needLogits) {
                        logits[i] = FeatureTable.floats(r, logitsIdx);
                    }
                    if (needPen) {
                        pen[i] = FeatureTable.floats(r, penIdx);
                    }
                }
                SisomScorer.Scored[] scored = s.scoreBatch(u, n, pc, e, logits, pen, device);
                List<Row> rowsOut = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    Row r = batch.get(i);
                    Object[] passValues = new Object[extra.size() + p.length];
                    for (int k = 0; k < extra.size(); k++) {
                        passValues[k] = scored[i].posthoc(extra.get(k));
                    }
                    for (int k = 0; k < p.length; k++) {
                        passValues[extra.size() + k] = r.get(p[k]);
                    }
                    rowsOut.add(ScoreTable.LAYOUT.row(new ScoreTable.Entry(r.getString(idIdx), pc[i], names.get(pc[i]),
                            e[i], scored[i]), passValues));
                }
                return rowsOut;
            });
        };
        return used.mapPartitions(fn, Encoders.row(out));
    }

    private static void requireType(StructType schema, String column, DataType type) {
        DataType actual = schema.apply(column).dataType();
        boolean ok = actual instanceof org.apache.spark.sql.types.ArrayType a
                && type instanceof org.apache.spark.sql.types.ArrayType t
                ? a.elementType().equals(t.elementType()) : actual.equals(type);
        if (!ok) {
            throw new IllegalArgumentException("feature table column '" + column + "' is " + actual.simpleString()
                    + ", expected " + type.simpleString());
        }
    }
}

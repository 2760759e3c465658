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
        // what the scorer reads as a bean, whose float[] properties Spark fills element by element into primitive
        // arrays; a Row boxes every float (Spark's Row decoder builds a Seq of Float objects): 44 % of the scoring
        // tasks' Java samples in a profile, 27 % with the bean.
        // The pass-through columns come along as a Row (the id again, so that the struct is never empty).
        org.apache.spark.sql.Column none = org.apache.spark.sql.functions.lit(null)
                .cast(DataTypes.createArrayType(DataTypes.FloatType, false));
        org.apache.spark.sql.Column scored = org.apache.spark.sql.functions.struct(
                SparkColumns.byName(FeatureTable.ID).as("id"), SparkColumns.byName(FeatureTable.U).as("u"),
                SparkColumns.byName(FeatureTable.PSEUDO_CLASS).as("pseudoClass"),
                SparkColumns.byName(FeatureTable.ENERGY).as("energy"),
                (needLogits ? SparkColumns.byName(FeatureTable.LOGITS) : none).as("logits"),
                (needPen ? SparkColumns.byName(FeatureTable.PENULTIMATE) : none).as("penultimate"));
        List<org.apache.spark.sql.Column> passCols = new ArrayList<>(List.of(SparkColumns.byName(FeatureTable.ID)));
        pass.forEach(f -> passCols.add(SparkColumns.byName(f.name())));
        Dataset<Row> used = features.select(scored.as("_1"), org.apache.spark.sql.functions.struct(
                passCols.toArray(org.apache.spark.sql.Column[]::new)).as("_2"));
        StructType passSchema = (StructType) used.schema().apply("_2").dataType();
        Dataset<scala.Tuple2<Input, Row>> typed = used.as(Encoders.tuple(Encoders.bean(Input.class),
                Encoders.row(passSchema)));
        List<ai.sisom.posthoc.PosthocMethod> extra = ScoreTable.ordered(scorer.extra());
        StructType out = ScoreTable.schema(scorer.extra(), pass);
        Broadcast<SisomScorer> b = spark.sparkContext().broadcast(scorer,
                scala.reflect.ClassTag$.MODULE$.apply(SisomScorer.class));
        int passed = pass.size();
        MapPartitionsFunction<scala.Tuple2<Input, Row>, Row> fn = rows -> {
            SisomScorer s = b.value();
            Device device = binding.device();
            List<String> names = s.reference().classNames();
            int d = s.reference().set().dimension();
            return new Batches<>(rows, () -> {
                List<scala.Tuple2<Input, Row>> batch = new ArrayList<>(BATCH);
                while (batch.size() < BATCH && rows.hasNext()) {
                    batch.add(decoded(rows));
                }
                int n = batch.size();
                float[] u = new float[n * d];
                int[] pc = new int[n];
                double[] e = new double[n];
                float[][] logits = needLogits ? new float[n][] : null;
                float[][] pen = needPen ? new float[n][] : null;
                for (int i = 0; i < n; i++) {
                    Input r = batch.get(i)._1();
                    String id = r.getId();
                    float[] ui = r.getU();
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
                    pc[i] = r.getPseudoClass();
                    e[i] = r.getEnergy();
                    if (!Double.isFinite(e[i])) {
                        throw new IllegalArgumentException("sample '" + id + "' has a non-finite energy: " + e[i]);
                    }
                    if (needLogits) {
                        logits[i] = r.getLogits();
                    }
                    if (needPen) {
                        pen[i] = r.getPenultimate();
                    }
                }
                SisomScorer.Scored[] scoredBatch = s.scoreBatch(u, n, pc, e, logits, pen, device);
                List<Row> rowsOut = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    Row r = batch.get(i)._2();
                    Object[] passValues = new Object[extra.size() + passed];
                    for (int k = 0; k < extra.size(); k++) {
                        passValues[k] = scoredBatch[i].posthoc(extra.get(k));
                    }
                    for (int k = 0; k < passed; k++) {
                        passValues[extra.size() + k] = r.get(k + 1);
                    }
                    rowsOut.add(ScoreTable.LAYOUT.row(new ScoreTable.Entry(batch.get(i)._1().getId(), pc[i],
                            names.get(pc[i]), e[i], scoredBatch[i]), passValues));
                }
                return rowsOut;
            });
        };
        return typed.mapPartitions(fn, Encoders.row(out));
    }

    /**
     * The next row; a null inside a feature array fails in Spark's decoder, before any code of ours sees the row, so
     * that failure is turned into a message that names the columns.
     */
    private static <T> T decoded(java.util.Iterator<T> rows) {
        try {
            return rows.next();
        } catch (RuntimeException e) {
            // Spark 4 names the error class; Spark 3.5 throws a NullPointerException with the text alone
            String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
            if (m.contains("not_null_assert_violation") || m.contains("value appeared in non-nullable field")) {
                throw new IllegalArgumentException("a row of the feature table has a null pseudo class or energy, "
                        + "or a null inside its '" + FeatureTable.U + "', '" + FeatureTable.LOGITS + "' or '"
                        + FeatureTable.PENULTIMATE + "' array: is it the output of extract?", e);
            }
            throw e;
        }
    }

    /** What the scorer reads of one feature row (a bean: Spark decodes its arrays without boxing). */
    public static final class Input implements java.io.Serializable {
        private String id;
        private float[] u;
        private int pseudoClass;
        private double energy;
        private float[] logits;
        private float[] penultimate;

        public String getId() { return id; }
        public void setId(String id) { this.id = id; }
        public float[] getU() { return u; }
        public void setU(float[] u) { this.u = u; }
        public int getPseudoClass() { return pseudoClass; }
        public void setPseudoClass(int pseudoClass) { this.pseudoClass = pseudoClass; }
        public double getEnergy() { return energy; }
        public void setEnergy(double energy) { this.energy = energy; }
        public float[] getLogits() { return logits; }
        public void setLogits(float[] logits) { this.logits = logits; }
        public float[] getPenultimate() { return penultimate; }
        public void setPenultimate(float[] penultimate) { this.penultimate = penultimate; }
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

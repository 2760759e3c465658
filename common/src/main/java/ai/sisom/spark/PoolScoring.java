package ai.sisom.spark;

import ai.sisom.features.Batches;
import ai.sisom.reference.LabeledSet;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.selection.GreedySelection;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.asc;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.desc;


/**
 * Features -> scores -> selection on Spark. The scorer (reference set, statistics, steepness) is broadcast; each
 * executor scores its partitions independently, so the cost is linear in the pool and nothing is collected on the
 * driver except the selection.
 */
public final class PoolScoring {
    public static final String PSEUDO_LABEL = "pseudo_label";
    public static final String D_IN = "d_in";
    public static final String D_OUT = "d_out";
    public static final String R = "r";
    public static final String D_OUT_ZERO = "d_out_zero";
    public static final String NEAREST_IN = "nearest_in_id";
    public static final String NEAREST_OUT = "nearest_out_id";
    public static final String SISOM = "sisom";
    public static final String SISOME = "sisome";
    public static final String SCORE = "score";
    public static final String OOD_SCORE = "ood_score";
    public static final String RANK = "rank";

    /** Pool rows scored per kernel call on an executor. */
    static final int BATCH = 2048;

    private PoolScoring() {}

    /** The feature columns that are not carried into the score table (large arrays). */
    private static final List<String> DROPPED = List.of(FeatureTable.LOGITS, FeatureTable.PENULTIMATE, FeatureTable.U,
            FeatureTable.REJECTED);

    /**
     * Scores every row of a feature table. Output: id, pseudo_class, pseudo_label, energy, d_in, d_out, r,
     * d_out_zero, nearest_in_id, nearest_out_id, sisom, sisome, score, ood_score, then pass-through columns.
     */
    public static Dataset<Row> score(SparkSession spark, Dataset<Row> features, SisomScorer scorer) {
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
        List<Integer> passIdx = new ArrayList<>();
        for (int i = 0; i < in.fields().length; i++) {
            String n = in.fields()[i].name();
            if (!DROPPED.contains(n) && !n.equals(FeatureTable.ID) && !n.equals(FeatureTable.PSEUDO_CLASS)
                    && !n.equals(FeatureTable.ENERGY)) {
                pass.add(in.fields()[i]);
                passIdx.add(i);
            }
        }
        StructType out = new StructType()
                .add(FeatureTable.ID, DataTypes.StringType, false)
                .add(FeatureTable.PSEUDO_CLASS, DataTypes.IntegerType, false)
                .add(PSEUDO_LABEL, DataTypes.StringType, false)
                .add(FeatureTable.ENERGY, DataTypes.DoubleType, false)
                .add(D_IN, DataTypes.DoubleType, false)
                .add(D_OUT, DataTypes.DoubleType, false)
                .add(R, DataTypes.DoubleType, false)
                .add(D_OUT_ZERO, DataTypes.BooleanType, false)
                .add(NEAREST_IN, DataTypes.StringType, false)
                .add(NEAREST_OUT, DataTypes.StringType, false)
                .add(SISOM, DataTypes.DoubleType, false)
                .add(SISOME, DataTypes.DoubleType, false)
                .add(SCORE, DataTypes.DoubleType, false)
                .add(OOD_SCORE, DataTypes.DoubleType, false);
        for (StructField f : pass) {
            out = out.add(f);
        }
        Broadcast<SisomScorer> b = spark.sparkContext().broadcast(scorer,
                scala.reflect.ClassTag$.MODULE$.apply(SisomScorer.class));
        int[] idx = {in.fieldIndex(FeatureTable.ID), in.fieldIndex(FeatureTable.U),
                in.fieldIndex(FeatureTable.PSEUDO_CLASS), in.fieldIndex(FeatureTable.ENERGY)};
        int[] p = passIdx.stream().mapToInt(Integer::intValue).toArray();
        int nOut = out.fields().length;
        MapPartitionsFunction<Row, Row> fn = rows -> {
            SisomScorer s = b.value();
            List<String> names = s.reference().classNames();
            int d = s.reference().set().dimension();
            return new Batches<>(rows, () -> {
                // up to BATCH rows at once: the distance kernel wants many queries per call
                List<Row> batch = new ArrayList<>(BATCH);
                while (batch.size() < BATCH && rows.hasNext()) {
                    batch.add(rows.next());
                }
                int n = batch.size();
                float[] u = new float[n * d];
                int[] pc = new int[n];
                double[] e = new double[n];
                for (int i = 0; i < n; i++) {
                    Row r = batch.get(i);
                    float[] ui = FeatureTable.floats(r, idx[1]);
                    if (ui.length != d) {
                        throw new IllegalArgumentException("sample '" + r.getString(idx[0]) + "' has " + ui.length
                                + " features, the reference has " + d);
                    }
                    for (int j = 0; j < d; j++) {
                        if (!Float.isFinite(ui[j])) {
                            throw new IllegalArgumentException("sample '" + r.getString(idx[0]) + "' has a non-finite "
                                    + "feature: u[" + j + "] = " + ui[j]);
                        }
                    }
                    System.arraycopy(ui, 0, u, i * d, d);
                    pc[i] = r.getInt(idx[2]);
                    e[i] = r.getDouble(idx[3]);
                    if (!Double.isFinite(e[i])) {
                        throw new IllegalArgumentException("sample '" + r.getString(idx[0]) + "' has a non-finite "
                                + "energy: " + e[i]);
                    }
                }
                SisomScorer.Scored[] scored = s.scoreBatch(u, n, pc, e);
                List<Row> rowsOut = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    Row r = batch.get(i);
                    SisomScorer.Scored sc = scored[i];
                    Object[] v = new Object[nOut];
                    v[0] = r.getString(idx[0]);
                    v[1] = pc[i];
                    v[2] = names.get(pc[i]);
                    v[3] = e[i];
                    v[4] = sc.dIn();
                    v[5] = sc.dOut();
                    v[6] = sc.r();
                    v[7] = sc.dOutZero();
                    v[8] = sc.nearestInId();
                    v[9] = sc.nearestOutId();
                    v[10] = sc.sisom();
                    v[11] = sc.sisome();
                    v[12] = sc.score();
                    v[13] = sc.oodScore();
                    for (int k = 0; k < p.length; k++) {
                        v[14 + k] = r.get(p[k]);
                    }
                    rowsOut.add(RowFactory.create(v));
                }
                return rowsOut;
            });
        };
        return features.mapPartitions(fn, Encoders.row(out));
    }

    private static void requireType(StructType schema, String column, org.apache.spark.sql.types.DataType type) {
        org.apache.spark.sql.types.DataType actual = schema.apply(column).dataType();
        boolean ok = actual instanceof org.apache.spark.sql.types.ArrayType a && type instanceof org.apache.spark.sql.types.ArrayType t
                ? a.elementType().equals(t.elementType()) : actual.equals(type);
        if (!ok) {
            throw new IllegalArgumentException("feature table column '" + column + "' is " + actual.simpleString()
                    + ", expected " + type.simpleString());
        }
    }

    /**
     * The q highest scores, ties broken by id, ranked from 1. Spark plans {@code orderBy + limit} as a distributed
     * top-k (each partition keeps its own q best), so the pool is never collected.
     */
    public static Dataset<Row> topQ(Dataset<Row> scores, int q) {
        // the q rows come to the driver anyway (they are the answer); ranking them there avoids a global window
        List<Row> top = scores.orderBy(desc(SCORE), asc(FeatureTable.ID)).limit(q).collectAsList();
        List<Row> ranked = new ArrayList<>(top.size());
        for (int i = 0; i < top.size(); i++) {
            Object[] v = new Object[top.get(i).size() + 1];
            for (int k = 0; k < top.get(i).size(); k++) {
                v[k] = top.get(i).get(k);
            }
            v[v.length - 1] = i + 1;
            ranked.add(RowFactory.create(v));
        }
        return scores.sparkSession().createDataFrame(ranked, scores.schema().add(RANK, DataTypes.IntegerType, false));
    }

    /**
     * Greedy batch-diverse selection over the top {@code candidates} samples by initial score (see
     * {@link GreedySelection} for what is exact): the candidates' u are fetched by a broadcast join and the greedy
     * loop runs on the driver.
     */
    public static Dataset<Row> greedy(SparkSession spark, Dataset<Row> scores, Dataset<Row> features,
                                      SisomScorer scorer, int q, int candidates) {
        Dataset<Row> top = scores.orderBy(desc(SCORE), asc(FeatureTable.ID)).limit(Math.max(candidates, q))
                .select(FeatureTable.ID);
        List<Row> rows = features.join(org.apache.spark.sql.functions.broadcast(top), FeatureTable.ID)
                .select(col(FeatureTable.ID), col(FeatureTable.U), col(FeatureTable.PSEUDO_CLASS), col(FeatureTable.ENERGY))
                .collectAsList();
        List<GreedySelection.Candidate> cands = new ArrayList<>();
        for (Row r : rows) {
            cands.add(new GreedySelection.Candidate(r.getString(0), scorer.reference().steepness().apply(
                    FeatureTable.floats(r, 1)), r.getInt(2), r.getDouble(3)));
        }
        List<GreedySelection.Pick> picks = GreedySelection.select(cands, q, scorer);
        Map<String, Integer> rank = new HashMap<>();
        Map<String, Double> greedyScore = new HashMap<>();
        for (GreedySelection.Pick p : picks) {
            rank.put(p.id(), p.rank());
            greedyScore.put(p.id(), p.scored().score());
        }
        List<Row> rankRows = new ArrayList<>();
        rank.forEach((id, rk) -> rankRows.add(RowFactory.create(id, rk, greedyScore.get(id))));
        StructType rs = new StructType().add(FeatureTable.ID, DataTypes.StringType).add(RANK, DataTypes.IntegerType)
                .add("greedy_score", DataTypes.DoubleType);
        Dataset<Row> ranks = spark.createDataFrame(rankRows, rs);
        return scores.join(org.apache.spark.sql.functions.broadcast(ranks), FeatureTable.ID).orderBy(RANK);
    }

    /**
     * LfOSA selection over a feature table made with a (K+1)-way detector (its last class is "unknown"): the
     * predicted class and maximum activation value of every sample are computed on the executors; only those
     * two numbers per sample reach the driver, where the per-class mixtures are fitted ({@link Lfosa}).
     * Output: id, predicted_class, mav, weight, rank.
     */
    public static Dataset<Row> lfosa(SparkSession spark, Dataset<Row> detectorFeatures, int q) {
        java.util.List<String> classes = ai.sisom.ml.FeatureColumns.classNamesOf(detectorFeatures.schema());
        if (classes == null || classes.size() < 3) {
            throw new IllegalArgumentException("LfOSA needs features from a (K+1)-way detector whose last class is the "
                    + "unknown class, with at least two known classes; got classes " + classes);
        }
        List<Row> rows = detectorFeatures.select(col(FeatureTable.ID), col(FeatureTable.PSEUDO_CLASS),
                org.apache.spark.sql.functions.array_max(col(FeatureTable.LOGITS)).cast(DataTypes.DoubleType))
                .collectAsList();
        List<ai.sisom.selection.Lfosa.Candidate> cands = new ArrayList<>(rows.size());
        for (Row r : rows) {
            cands.add(new ai.sisom.selection.Lfosa.Candidate(r.getString(0), r.getInt(1), r.getDouble(2)));
        }
        List<ai.sisom.selection.Lfosa.Weighted> picked = ai.sisom.selection.Lfosa.select(cands, classes.size() - 1, q);
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < picked.size(); i++) {
            var w = picked.get(i);
            out.add(RowFactory.create(w.id(), w.predicted(), w.mav(), w.weight(), i + 1));
        }
        StructType schema = new StructType().add(FeatureTable.ID, DataTypes.StringType).add("predicted_class",
                DataTypes.IntegerType).add("mav", DataTypes.DoubleType).add("weight", DataTypes.DoubleType)
                .add(RANK, DataTypes.IntegerType);
        return spark.createDataFrame(out, schema);
    }

    /** The labeled feature table collected for the reference build; labels are mapped to the model's classes. */
    public static LabeledSet collectLabeled(Dataset<Row> labeledFeatures, List<String> classNames, String labelColumn) {
        List<String> cols = Arrays.asList(labeledFeatures.columns());
        if (!cols.contains(labelColumn)) {
            throw new IllegalArgumentException("labeled feature table has no '" + labelColumn
                    + "' column: extract the labeled set with sisom.input.labeled=true");
        }
        Column label = col(labelColumn).cast(DataTypes.StringType);
        List<Row> rows = labeledFeatures.select(col(FeatureTable.ID), label, col(FeatureTable.U), col(FeatureTable.ENERGY),
                col(FeatureTable.PENULTIMATE)).orderBy(FeatureTable.ID).collectAsList();
        Map<String, Integer> index = new HashMap<>();
        for (int c = 0; c < classNames.size(); c++) {
            index.put(classNames.get(c), c);
        }
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        List<float[]> pen = new ArrayList<>();
        int[] labels = new int[rows.size()];
        double[] e = new double[rows.size()];
        List<String> unknown = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            Integer c = r.isNullAt(1) ? null : index.get(r.getString(1));
            if (c == null) {
                unknown.add(r.getString(0) + " (label " + (r.isNullAt(1) ? "missing" : "'" + r.getString(1) + "'") + ")");
                continue;
            }
            ids.add(r.getString(0));
            labels[ids.size() - 1] = c;
            u.add(FeatureTable.floats(r, 2));
            e[ids.size() - 1] = r.getDouble(3);
            pen.add(FeatureTable.floats(r, 4));
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(unknown.size() + " labeled samples have a label that is not one of the "
                    + "model's classes " + classNames + ": " + unknown.subList(0, Math.min(10, unknown.size()))
                    + (unknown.size() > 10 ? " ..." : ""));
        }
        return new LabeledSet(ids, Arrays.copyOf(labels, ids.size()), u, Arrays.copyOf(e, ids.size()), pen);
    }

}

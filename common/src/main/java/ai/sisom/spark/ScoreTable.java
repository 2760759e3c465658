package ai.sisom.spark;

import ai.sisom.posthoc.PosthocMethod;
import ai.sisom.scoring.SisomScorer;
import org.apache.spark.sql.types.DataTypes;

import java.io.Serializable;
import java.util.List;

/**
 * The score table: one row per scored pool sample with the distances that explain it, both SISOM scores, the
 * selected score, the OOD score and the OOD gate's metric and flag, then the feature table's pass-through columns.
 * Selections add {@link #RANK} (and greedy {@link #GREEDY_SCORE}); the flagged list ({@link OodList}) adds
 * {@link #OOD_RANK}.
 */
public final class ScoreTable {
    public static final String ID = FeatureTable.ID;
    public static final String PSEUDO_CLASS = FeatureTable.PSEUDO_CLASS;
    public static final String PSEUDO_LABEL = "pseudo_label";
    public static final String ENERGY = FeatureTable.ENERGY;
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
    /** The OOD gate's metric (higher = more out-of-distribution); null when the reference has no threshold. */
    public static final String OOD_METRIC = "ood_metric";
    /** Whether the OOD metric is above the threshold; null when the reference has no threshold. */
    public static final String OOD_FLAG = "ood_flag";
    public static final String RANK = "rank";
    /** The flagged list's order: 1 = the highest OOD metric. */
    public static final String OOD_RANK = "ood_rank";
    public static final String GREEDY_SCORE = "greedy_score";

    /** The feature columns that are not carried into the score table (large arrays, the rejection reason). */
    static final List<String> DROPPED = List.of(FeatureTable.LOGITS, FeatureTable.PENULTIMATE, FeatureTable.U,
            FeatureTable.REJECTED);

    private ScoreTable() {}

    /** What one row is made from. */
    public record Entry(String id, int pseudoClass, String pseudoLabel, double energy, SisomScorer.Scored s)
            implements Serializable {}

    static final TableLayout<Entry> LAYOUT = TableLayout.<Entry>builder()
            .add(ID, DataTypes.StringType, false, Entry::id)
            .add(PSEUDO_CLASS, DataTypes.IntegerType, false, Entry::pseudoClass)
            .add(PSEUDO_LABEL, DataTypes.StringType, false, Entry::pseudoLabel)
            .add(ENERGY, DataTypes.DoubleType, false, Entry::energy)
            .add(D_IN, DataTypes.DoubleType, false, e -> e.s().dIn())
            .add(D_OUT, DataTypes.DoubleType, false, e -> e.s().dOut())
            .add(R, DataTypes.DoubleType, false, e -> e.s().r())
            .add(D_OUT_ZERO, DataTypes.BooleanType, false, e -> e.s().dOutZero())
            .add(NEAREST_IN, DataTypes.StringType, false, e -> e.s().nearestInId())
            .add(NEAREST_OUT, DataTypes.StringType, false, e -> e.s().nearestOutId())
            .add(SISOM, DataTypes.DoubleType, false, e -> e.s().sisom())
            .add(SISOME, DataTypes.DoubleType, false, e -> e.s().sisome())
            .add(SCORE, DataTypes.DoubleType, false, e -> e.s().score())
            .add(OOD_SCORE, DataTypes.DoubleType, false, e -> e.s().oodScore())
            .add(OOD_METRIC, DataTypes.DoubleType, true, e -> e.s().oodMetric())
            .add(OOD_FLAG, DataTypes.BooleanType, true, e -> e.s().oodFlag())
            .build();

    /** The readable CSV copy of the queue ({@code selection-csv/}), in this column order. */
    public static final List<String> SELECTION_CSV = List.of(RANK, ID, SCORE, PSEUDO_LABEL, R, ENERGY, OOD_METRIC,
            NEAREST_IN, NEAREST_OUT);

    /** The readable CSV copy of the flagged list ({@code ood-csv/}): why each sample is out-of-distribution. */
    public static final List<String> OOD_CSV = List.of(OOD_RANK, ID, OOD_METRIC, PSEUDO_LABEL, ENERGY, D_IN, D_OUT, R,
            NEAREST_IN, NEAREST_OUT, SCORE);

    /** The schema of a score table: the declared columns, then {@code passThrough} (Spark ML's transformSchema). */
    public static org.apache.spark.sql.types.StructType schema(List<org.apache.spark.sql.types.StructField> passThrough) {
        return LAYOUT.schema(passThrough);
    }

    /**
     * The schema of a score table with post-hoc score columns: the declared columns, one {@link #posthocColumn} per
     * method in {@code extra} (in {@link PosthocMethod} order), then {@code passThrough}.
     */
    public static org.apache.spark.sql.types.StructType schema(java.util.Set<PosthocMethod> extra,
                                                               List<org.apache.spark.sql.types.StructField> passThrough) {
        List<org.apache.spark.sql.types.StructField> tail = new java.util.ArrayList<>();
        for (PosthocMethod m : ordered(extra)) {
            tail.add(DataTypes.createStructField(posthocColumn(m), DataTypes.DoubleType, false));
        }
        tail.addAll(passThrough);
        return LAYOUT.schema(tail);
    }

    /**
     * A post-hoc score's column: {@code ood_score_<method>}, the method's in-distribution score (higher = more
     * in-distribution, as {@link #OOD_SCORE} and OpenOOD).
     */
    public static String posthocColumn(PosthocMethod m) {
        return "ood_score_" + m.label();
    }

    /** The methods in their declaration order (the column order). */
    static List<PosthocMethod> ordered(java.util.Set<PosthocMethod> extra) {
        return java.util.Arrays.stream(PosthocMethod.values()).filter(extra::contains).toList();
    }

    /** The declared columns' names, in order. */
    public static List<String> columns() {
        return LAYOUT.names();
    }
}

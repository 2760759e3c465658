package ai.sisom.ml;

import ai.sisom.posthoc.PosthocMethod;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.PoolScoring;
import ai.sisom.spark.ScoreTable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The columns a SISOM stage reads and writes, as its column params name them, and the mapping to the fixed names
 * the Spark layer ({@link PoolScoring}, Selections) works with. The output is the score table's declared columns
 * (id, pseudo-class and energy under their input names) followed by every other input column, the feature arrays
 * included unless {@code keepFeatureArrays} is false.
 */
final class ScoreColumns {
    private static final String KEPT = "_sisom_kept_";

    /** Fixed name -> this stage's name, for the input columns the score table repeats and the renamed outputs. */
    private final Map<String, String> names;
    private final String features;
    private final Set<String> arrays;
    private final boolean keepArrays;
    private final String logits;
    private final String penultimate;
    private final Set<PosthocMethod> extra;

    ScoreColumns(String id, String features, String pseudoClass, String energy, String logits, String penultimate,
                 boolean keepArrays, Map<String, String> outputs, Set<PosthocMethod> extra) {
        this.logits = logits;
        this.penultimate = penultimate;
        this.extra = extra;
        names = new LinkedHashMap<>();
        names.put(FeatureTable.ID, id);
        names.put(FeatureTable.PSEUDO_CLASS, pseudoClass);
        names.put(FeatureTable.ENERGY, energy);
        names.putAll(outputs);
        this.features = features;
        this.arrays = Set.of(features, logits, penultimate);
        this.keepArrays = keepArrays;
    }

    String id() { return names.get(FeatureTable.ID); }

    String pseudoClass() { return names.get(FeatureTable.PSEUDO_CLASS); }

    String energy() { return names.get(FeatureTable.ENERGY); }

    String features() { return features; }

    /** Checks that {@code name} is a column of {@code schema} of the given type. */
    static void require(StructType schema, String name, DataType type, String param, String table) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException("the " + table + " has no column '" + name + "' (" + param
                    + "); columns: " + Arrays.asList(schema.fieldNames()));
        }
        DataType actual = schema.apply(name).dataType();
        boolean ok = type instanceof ArrayType t ? actual instanceof ArrayType a && a.elementType().equals(t.elementType())
                : actual.equals(type);
        if (!ok) {
            throw new IllegalArgumentException("column '" + name + "' (" + param + ") is " + actual.simpleString()
                    + ", expected " + type.simpleString());
        }
    }

    /** Checks the pool columns the scores are computed from. */
    void requireInputs(StructType schema, String table) {
        require(schema, id(), DataTypes.StringType, "idCol", table);
        require(schema, features, DataTypes.createArrayType(DataTypes.FloatType), "featuresCol", table);
        require(schema, pseudoClass(), DataTypes.IntegerType, "pseudoClassCol", table);
        require(schema, energy(), DataTypes.DoubleType, "energyCol", table);
    }

    /** The input columns carried into the output, in input order. */
    private List<StructField> kept(StructType in) {
        List<StructField> k = new ArrayList<>();
        for (StructField f : in.fields()) {
            String n = f.name();
            if (!n.equals(id()) && !n.equals(pseudoClass()) && !n.equals(energy()) && (keepArrays || !arrays.contains(n))) {
                k.add(f);
            }
        }
        return k;
    }

    /** transform's output schema for an input schema whose columns {@link #requireInputs} accepted. */
    StructType outputSchema(StructType in) {
        List<StructField> kept = kept(in);
        List<StructField> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (StructField f : ScoreTable.schema(extra, List.of()).fields()) {
            String n = names.getOrDefault(f.name(), f.name());
            if (!seen.add(n)) {
                throw new IllegalArgumentException("two output columns are named '" + n + "': give the column "
                        + "params distinct names");
            }
            out.add(new StructField(n, f.dataType(), f.nullable(), f.metadata()));
        }
        for (StructField f : kept) {
            if (seen.contains(f.name())) {
                throw new IllegalArgumentException("output column '" + f.name() + "' already exists in the input; "
                        + "drop it first or rename the output with its column param");
            }
            out.add(f);
        }
        return new StructType(out.toArray(new StructField[0]));
    }

    /** Scores a pool table: the score table under this stage's names, the input's other columns kept. */
    Dataset<Row> score(Dataset<Row> in, SisomScorer scorer) {
        List<StructField> kept = kept(in.schema());
        List<Column> prepared = new ArrayList<>(List.of(col(id()).as(FeatureTable.ID), col(features).as(FeatureTable.U),
                col(pseudoClass()).as(FeatureTable.PSEUDO_CLASS), col(energy()).as(FeatureTable.ENERGY)));
        // the kept columns travel under names PoolScoring passes through (it drops the feature arrays by name)
        for (int i = 0; i < kept.size(); i++) {
            prepared.add(col(kept.get(i).name()).as(KEPT + i));
        }
        // the post-hoc scores read the logits and penultimate features; PoolScoring drops them from its output
        if (scorer.needsLogits()) {
            require(in.schema(), logits, DataTypes.createArrayType(DataTypes.FloatType), "logitsCol", "pool table");
            prepared.add(col(logits).as(FeatureTable.LOGITS));
        }
        if (scorer.needsPenultimate()) {
            require(in.schema(), penultimate, DataTypes.createArrayType(DataTypes.FloatType), "penultimateCol",
                    "pool table");
            prepared.add(col(penultimate).as(FeatureTable.PENULTIMATE));
        }
        if (!scorer.extra().equals(extra)) {
            throw new IllegalArgumentException("the scorer's extra scores " + scorer.extra() + " are not the stage's "
                    + extra);
        }
        Dataset<Row> scored = PoolScoring.score(in.sparkSession(), in.select(prepared.toArray(new Column[0])), scorer);
        List<Column> out = new ArrayList<>();
        for (String n : ScoreTable.columns()) {
            out.add(col(n).as(names.getOrDefault(n, n)));
        }
        for (PosthocMethod m : extra) {
            out.add(col(ScoreTable.posthocColumn(m)));
        }
        for (int i = 0; i < kept.size(); i++) {
            out.add(col(KEPT + i).as(kept.get(i).name()));
        }
        return scored.select(out.toArray(new Column[0]));
    }

    /** A table under this stage's names -> the Spark layer's fixed names (features too when {@code withFeatures}). */
    Dataset<Row> toFixed(Dataset<Row> t, boolean withFeatures) {
        Map<String, String> m = new LinkedHashMap<>();
        names.forEach((fixed, ours) -> m.put(ours, fixed));
        if (withFeatures) {
            m.put(features, FeatureTable.U);
        }
        return rename(t, m);
    }

    /** The inverse of {@link #toFixed} for a score table (selections add their own columns, which keep their names). */
    Dataset<Row> fromFixed(Dataset<Row> t) {
        return rename(t, names);
    }

    private static Dataset<Row> rename(Dataset<Row> t, Map<String, String> from) {
        List<String> cols = Arrays.asList(t.columns());
        List<Column> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String c : cols) {
            String n = from.getOrDefault(c, c);
            if (!seen.add(n) || !n.equals(c) && cols.contains(n) && !from.containsKey(n)) {
                throw new IllegalArgumentException("column '" + c + "' maps to '" + n + "', which the table already "
                        + "has: drop or rename that column first");
            }
            out.add(col(c).as(n));
        }
        return t.select(out.toArray(new Column[0]));
    }

    /** A column by its exact name (dots and all). */
    static Column col(String name) {
        return ai.sisom.spark.SparkColumns.byName(name);
    }
}

package ai.sisom.spark;

import ai.sisom.features.FeatureRecord;
import ai.sisom.model.ModelMetadata;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.List;

/**
 * The feature table: one row per input item, either a feature record or a rejection (reason set, features null).
 * Arrays are float32, as the network produced them. The model's class names and layers travel in the column
 * metadata of pseudo_class and u ({@link FeatureColumns}).
 */
public final class FeatureTable {
    public static final String ID = "id";
    public static final String LOGITS = "logits";
    public static final String PSEUDO_CLASS = "pseudo_class";
    public static final String ENERGY = "energy";
    public static final String PENULTIMATE = "penultimate";
    public static final String U = "u";
    public static final String REJECTED = "rejected_reason";
    /** SHA-256 of the image bytes (hex), a pass-through column: finds the same image under two ids. */
    public static final String CONTENT_HASH = "content_hash";

    private static final DataType FLOATS = DataTypes.createArrayType(DataTypes.FloatType, false);

    private FeatureTable() {}

    /** What one row is made from: a record, or the id and reason of a rejection. */
    public record Entry(String id, FeatureRecord record, String rejected) implements Serializable {
        public static Entry of(FeatureRecord r) {
            return new Entry(r.id(), r, null);
        }

        public static Entry rejection(String id, String reason) {
            return new Entry(id, null, reason);
        }
    }

    /** The table's layout for a model (its classes and layers go into the column metadata). */
    public static TableLayout<Entry> layout(ModelMetadata model) {
        return layout(FeatureColumns.classMetadata(model), FeatureColumns.layerMetadata(model));
    }

    private static TableLayout<Entry> layout(Metadata classes, Metadata layers) {
        return TableLayout.<Entry>builder()
                .add(ID, DataTypes.StringType, false, Entry::id)
                .add(LOGITS, FLOATS, true, e -> e.record() == null ? null : boxed(e.record().logits()))
                .add(PSEUDO_CLASS, DataTypes.IntegerType, true, classes,
                        e -> e.record() == null ? null : e.record().pseudoClass())
                .add(ENERGY, DataTypes.DoubleType, true, e -> e.record() == null ? null : e.record().energy())
                .add(PENULTIMATE, FLOATS, true, e -> e.record() == null ? null : boxed(e.record().penultimate()))
                .add(U, FLOATS, true, layers, e -> e.record() == null ? null : boxed(e.record().u()))
                .add(REJECTED, DataTypes.StringType, true, Entry::rejected)
                .build();
    }

    /** Schema of extraction output: the feature columns, then any pass-through columns of the input. */
    public static StructType schema(List<StructField> passThrough, ModelMetadata model) {
        return layout(model).schema(passThrough);
    }

    /** Spark's array encoder for Row wants a boxed array (or a Seq). */
    private static Float[] boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return b;
    }

    /** Reads a float array column back (for scoring stages). */
    public static float[] floats(Row row, int field) {
        List<Float> l = row.getList(field);
        float[] a = new float[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }
}

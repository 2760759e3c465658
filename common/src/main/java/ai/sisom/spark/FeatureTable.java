package ai.sisom.spark;

import ai.sisom.features.FeatureRecord;
import ai.sisom.ml.FeatureColumns;
import ai.sisom.model.ModelMetadata;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.List;

/**
 * The feature table's schema: one row per input item, either a feature record or a rejection (reason set,
 * features null). Arrays are float32, as the network produced them.
 */
public final class FeatureTable {
    public static final String ID = "id";
    public static final String LOGITS = "logits";
    public static final String PSEUDO_CLASS = "pseudo_class";
    public static final String ENERGY = "energy";
    public static final String PENULTIMATE = "penultimate";
    public static final String U = "u";
    public static final String REJECTED = "rejected_reason";

    private FeatureTable() {}

    private static final StructField[] FIELDS = {
            DataTypes.createStructField(ID, DataTypes.StringType, false),
            DataTypes.createStructField(LOGITS, DataTypes.createArrayType(DataTypes.FloatType, false), true),
            DataTypes.createStructField(PSEUDO_CLASS, DataTypes.IntegerType, true),
            DataTypes.createStructField(ENERGY, DataTypes.DoubleType, true),
            DataTypes.createStructField(PENULTIMATE, DataTypes.createArrayType(DataTypes.FloatType, false), true),
            DataTypes.createStructField(U, DataTypes.createArrayType(DataTypes.FloatType, false), true),
            DataTypes.createStructField(REJECTED, DataTypes.StringType, true),
    };

    /**
     * Schema of extraction output: the feature columns, then any pass-through columns of the input. The model's
     * class names and layers travel in the column metadata of pseudo_class and u ({@link FeatureColumns}).
     */
    public static StructType schema(List<StructField> passThrough, ModelMetadata model) {
        StructField[] fields = FIELDS.clone();
        fields[2] = new StructField(PSEUDO_CLASS, DataTypes.IntegerType, true, FeatureColumns.classMetadata(model));
        fields[5] = new StructField(U, DataTypes.createArrayType(DataTypes.FloatType, false), true,
                FeatureColumns.layerMetadata(model));
        StructType s = new StructType(fields);
        for (StructField f : passThrough) {
            s = s.add(f);
        }
        return s;
    }

    static Row row(FeatureRecord r, Object[] passThrough) {
        Object[] v = new Object[FIELDS.length + passThrough.length];
        v[0] = r.id();
        v[1] = boxed(r.logits());
        v[2] = r.pseudoClass();
        v[3] = r.energy();
        v[4] = boxed(r.penultimate());
        v[5] = boxed(r.u());
        System.arraycopy(passThrough, 0, v, FIELDS.length, passThrough.length);
        return RowFactory.create(v);
    }

    static Row rejection(String id, String reason, Object[] passThrough) {
        Object[] v = new Object[FIELDS.length + passThrough.length];
        v[0] = id;
        v[6] = reason;
        System.arraycopy(passThrough, 0, v, FIELDS.length, passThrough.length);
        return RowFactory.create(v);
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

package ai.sisom.spark;

import ai.sisom.model.ModelMetadata;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.MetadataBuilder;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;

/**
 * The model facts a feature table carries in its Spark column metadata, the way Spark ML attaches attributes to
 * columns: the class names on {@code pseudo_class}, the layer names and sizes on {@code u}. Parquet keeps column
 * metadata, so a feature table read back from the lake still knows which model made it.
 */
public final class FeatureColumns {
    static final String CLASSES = "sisom.classNames";
    static final String LAYERS = "sisom.layerNames";
    static final String SIZES = "sisom.layerSizes";

    private FeatureColumns() {}

    public static Metadata classMetadata(ModelMetadata m) {
        return new MetadataBuilder().putStringArray(CLASSES, m.classNames().toArray(new String[0])).build();
    }

    public static Metadata layerMetadata(ModelMetadata m) {
        long[] sizes = m.layers().stream().mapToLong(ModelMetadata.Layer::size).toArray();
        return new MetadataBuilder().putStringArray(LAYERS, m.layerNames().toArray(new String[0]))
                .putLongArray(SIZES, sizes).build();
    }

    /** Class names from the column's metadata, or null. */
    public static List<String> classNames(StructType schema, String column) {
        Metadata md = schema.apply(column).metadata();
        return md.contains(CLASSES) ? Arrays.asList(md.getStringArray(CLASSES)) : null;
    }

    /** Class names carried by a feature table's pseudo_class column, or null. */
    public static List<String> classNamesOf(StructType schema) {
        return java.util.Arrays.asList(schema.fieldNames()).contains("pseudo_class")
                ? classNames(schema, "pseudo_class") : null;
    }

    public static List<String> layerNames(StructType schema, String column) {
        Metadata md = schema.apply(column).metadata();
        return md.contains(LAYERS) ? Arrays.asList(md.getStringArray(LAYERS)) : null;
    }

    public static int[] layerOffsets(StructType schema, String column) {
        Metadata md = schema.apply(column).metadata();
        if (!md.contains(SIZES)) {
            return null;
        }
        long[] sizes = md.getLongArray(SIZES);
        int[] off = new int[sizes.length + 1];
        for (int j = 0; j < sizes.length; j++) {
            off[j + 1] = off[j] + (int) sizes[j];
        }
        return off;
    }

    /** A column with metadata attached (for tables made outside {@code FeatureExtraction}). */
    public static Column withMetadata(Column c, String name, Metadata md) {
        return c.as(name, md);
    }
}

package ai.sisom.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.substring;

/**
 * Reads image pools in the formats users keep in their data lake, local or {@code s3a://}, into one shape:
 * {@code id: string, image: binary (nullable), source_error: string (nullable)} plus pass-through columns such
 * as {@code label} or Hive-style partition columns. A row whose image could not be read keeps its id and says why
 * in {@code source_error}, so it is counted as a rejection downstream rather than lost.
 */
public final class ImageSources {
    public static final String ID = "id";
    public static final String IMAGE = "image";
    public static final String SOURCE_ERROR = "source_error";
    public static final String LABEL = "label";

    /** Where the images are. */
    public enum Format {
        /** Parquet with an id column and an image-bytes column (names configurable). */
        PARQUET,
        /** A directory tree of image files; id = path relative to the root; optional label = first directory. */
        IMAGES,
        /** A CSV manifest with header {@code path,id[,label]}; relative paths are resolved against its folder. */
        MANIFEST,
        /** A metastore (catalog) table, named instead of a path: columns as for PARQUET. */
        TABLE,
        /** Any other Spark data source ({@code delta}, {@code iceberg}, {@code orc}, {@code avro}, ...): columns as
         *  for PARQUET, read with {@code spark.read().format(name).load(path)}. */
        DATA_SOURCE;

        public static Format parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException("unknown input format '" + s + "': use parquet, images or manifest");
            }
        }
    }

    /**
     * A format as users name it: {@code parquet}, {@code images}, {@code manifest}, {@code table} (the path is a
     * metastore table name), or the name of any other Spark data source, passed to {@code spark.read().format}.
     */
    public record SourceFormat(Format kind, String dataSource) implements Serializable {
        public static SourceFormat of(Format kind) {
            return new SourceFormat(kind, null);
        }

        public static SourceFormat parse(String s) {
            String v = s.trim();
            if (!v.matches("[A-Za-z][A-Za-z0-9_.-]*")) {
                throw new IllegalArgumentException("must be parquet, images, manifest, table or a Spark data source name");
            }
            for (Format f : List.of(Format.PARQUET, Format.IMAGES, Format.MANIFEST, Format.TABLE)) {
                if (f.name().equalsIgnoreCase(v)) {
                    return of(f);
                }
            }
            List<String> sources = dataSources();
            if (!sources.contains(v.toLowerCase(Locale.ROOT)) && !isClass(v)) {
                throw new IllegalArgumentException("must be parquet, images, manifest, table or a Spark data source on "
                        + "the classpath (" + String.join(", ", sources) + ", or a provider class name)");
            }
            return new SourceFormat(Format.DATA_SOURCE, v);
        }

        /**
         * The short names of the data sources on the classpath, as Spark finds them (the ServiceLoader of
         * DataSourceRegister): checked before Spark starts, so a typo is a setting error, not a failed job.
         */
        static List<String> dataSources() {
            List<String> names = new ArrayList<>();
            ClassLoader cl = Thread.currentThread().getContextClassLoader();
            java.util.ServiceLoader<org.apache.spark.sql.sources.DataSourceRegister> loader = java.util.ServiceLoader.load(
                    org.apache.spark.sql.sources.DataSourceRegister.class, cl);
            for (var it = loader.stream().iterator(); it.hasNext(); ) {
                try {
                    names.add(it.next().get().shortName().toLowerCase(Locale.ROOT));
                } catch (java.util.ServiceConfigurationError | RuntimeException | LinkageError ignored) {
                    // a provider that cannot load here cannot read the pool either
                }
            }
            names.sort(null);
            return names.stream().distinct().toList();
        }

        private static boolean isClass(String name) {
            try {
                Class.forName(name, false, Thread.currentThread().getContextClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }

        @Override
        public String toString() {
            return kind == Format.DATA_SOURCE ? dataSource : kind.name().toLowerCase(Locale.ROOT);
        }
    }

    /** Column names and options; defaults fit the bundled samples. */
    public static final class Options implements Serializable {
        private static final long serialVersionUID = 1L;
        public String idColumn = ID;
        public String imageColumn = IMAGE;
        public String labelColumn = LABEL;
        /** Require a label column (labeled sets); for IMAGES the label is the first directory under the root. */
        public boolean labeled = false;
    }

    private ImageSources() {}

    public static Dataset<Row> read(SparkSession spark, Format format, String path, Options o) {
        return read(spark, SourceFormat.of(format), path, o);
    }

    /** Reads a pool or labeled set; for {@code table} the path is the table's name. */
    public static Dataset<Row> read(SparkSession spark, SourceFormat format, String path, Options o) {
        Dataset<Row> df = switch (format.kind()) {
            case PARQUET -> columns(spark.read().parquet(path), path, o);
            case IMAGES -> imageTree(spark, path, o);
            case MANIFEST -> manifest(spark, path, o);
            case TABLE -> columns(spark.table(path), "table " + path, o);
            case DATA_SOURCE -> columns(spark.read().format(format.dataSource()).load(path),
                    format.dataSource() + " " + path, o);
        };
        if (o.labeled && !Arrays.asList(df.columns()).contains(LABEL)) {
            throw new IllegalArgumentException("labeled input " + path + " has no label column '" + o.labelColumn + "'");
        }
        return df;
    }

    private static void require(StructType schema, String column, DataType type, String path, String option) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException("input " + path + " has no column '" + column + "' (set " + option
                    + "); its columns are " + Arrays.toString(schema.fieldNames()));
        }
        DataType actual = schema.apply(column).dataType();
        if (type != null && !actual.equals(type)) {
            throw new IllegalArgumentException("input " + path + ": column '" + column + "' is " + actual.simpleString()
                    + ", expected " + type.simpleString());
        }
    }

    /** A table of id and image bytes (Parquet, a catalog table, any data source) in the common shape. */
    static Dataset<Row> columns(Dataset<Row> raw, String path, Options o) {
        StructType s = raw.schema();
        require(s, o.imageColumn, DataTypes.BinaryType, path, "imageColumn");
        require(s, o.idColumn, null, path, "idColumn");
        if (o.labeled) {
            require(s, o.labelColumn, null, path, "labelColumn");
        }
        List<Column> cols = new ArrayList<>();
        // a row without an id is a counted rejection that says in which file it is, under an id made unique
        Column id = col(o.idColumn).cast(DataTypes.StringType);
        Column missing = id.isNull().or(org.apache.spark.sql.functions.trim(id).equalTo(""));
        Column file = org.apache.spark.sql.functions.input_file_name();
        cols.add(org.apache.spark.sql.functions.when(missing, org.apache.spark.sql.functions.concat(
                lit("<no id> "), file, lit(" row "), org.apache.spark.sql.functions.monotonically_increasing_id()
                        .cast(DataTypes.StringType))).otherwise(id).as(ID));
        cols.add(org.apache.spark.sql.functions.when(missing, lit(null).cast(DataTypes.BinaryType))
                .otherwise(col(o.imageColumn)).as(IMAGE));
        cols.add(org.apache.spark.sql.functions.when(missing, org.apache.spark.sql.functions.concat(
                lit("row without an id (column '" + o.idColumn + "') in "), file)).as(SOURCE_ERROR));
        if (o.labeled) {
            cols.add(col(o.labelColumn).cast(DataTypes.StringType).as(LABEL));
        }
        for (String c : s.fieldNames()) {
            if (!c.equals(o.idColumn) && !c.equals(o.imageColumn) && !(o.labeled && c.equals(o.labelColumn))
                    && !c.equals(ID) && !c.equals(IMAGE) && !c.equals(LABEL) && !c.equals(SOURCE_ERROR)) {
                cols.add(col(c));
            }
        }
        return raw.select(cols.toArray(new Column[0]));
    }

    /**
     * Every file under the root, listed through Hadoop's FileSystem rather than Spark's file index: Spark's index
     * hides names starting with {@code _} or {@code .} (and the binary-file source skips empty files), and a file
     * that silently disappears is a lost sample. Each file is then read on an executor like a manifest entry; one
     * that is not an image, is empty or is truncated becomes a counted rejection.
     */
    static Dataset<Row> imageTree(SparkSession spark, String path, Options o) {
        String root = qualified(spark, path);
        String prefix = root.endsWith("/") ? root : root + "/";
        List<Row> entries = new ArrayList<>();
        try {
            Path rootPath = new Path(root);
            FileSystem fs = rootPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(rootPath)) {
                throw new IllegalArgumentException("image directory " + path + " does not exist");
            }
            var it = fs.listFiles(rootPath, true);
            while (it.hasNext()) {
                String file = fs.makeQualified(it.next().getPath()).toString();
                String rel = file.startsWith(prefix) ? file.substring(prefix.length()) : file;
                String label = rel.contains("/") ? rel.substring(0, rel.indexOf('/')) : null;
                entries.add(o.labeled ? RowFactory.create(file, rel, label) : RowFactory.create(file, rel));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list " + path + ": " + e.getMessage(), e);
        }
        StructType listing = new StructType().add("path", DataTypes.StringType).add(ID, DataTypes.StringType);
        if (o.labeled) {
            listing = listing.add(LABEL, DataTypes.StringType);
        }
        return readEntries(spark, spark.createDataFrame(entries, listing), prefix, o.labeled, ID);
    }

    static final long MANIFEST_ROWS_PER_TASK = 20_000;

    static Dataset<Row> manifest(SparkSession spark, String path, Options o) {
        Dataset<Row> m = spark.read().option("header", "true").option("mode", "FAILFAST").csv(path);
        require(m.schema(), "path", DataTypes.StringType, path, "a 'path' column in the manifest header");
        require(m.schema(), o.idColumn, null, path, "idColumn");
        if (o.labeled) {
            require(m.schema(), o.labelColumn, null, path, "labelColumn");
        }
        String base = qualified(spark, path);
        base = base.substring(0, base.lastIndexOf('/') + 1);
        Dataset<Row> sel = o.labeled
                ? m.select(col("path"), col(o.idColumn), col(o.labelColumn))
                : m.select(col("path"), col(o.idColumn));
        return readEntries(spark, sel, base, o.labeled, o.idColumn);
    }

    /** Reads the files of (path, id[, label]) entries on the executors into the common shape. */
    private static Dataset<Row> readEntries(SparkSession spark, Dataset<Row> sel, String base, boolean labeled,
                                            String idColumn) {
        StructType out = new StructType()
                .add(ID, DataTypes.StringType, false)
                .add(IMAGE, DataTypes.BinaryType, true)
                .add(SOURCE_ERROR, DataTypes.StringType, true);
        if (labeled) {
            out = out.add(LABEL, DataTypes.StringType, true);
        }
        // a listing or manifest arrives as one partition: spread its rows over the cluster before the images are
        // fetched (by id hash, so a retried task sees the same rows), at most 20,000 rows per task
        long rows = sel.count();
        int parts = (int) Math.max(spark.sparkContext().defaultParallelism(), (rows + MANIFEST_ROWS_PER_TASK - 1)
                / MANIFEST_ROWS_PER_TASK);
        sel = sel.repartition(parts, col(idColumn));
        var conf = spark.sparkContext().broadcast(
                new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()),
                scala.reflect.ClassTag$.MODULE$.apply(SerializableConfiguration.class));
        return sel.mapPartitions(new ManifestReader(base, conf, labeled), Encoders.row(out));
    }

    /** Reads each manifest entry's bytes through Hadoop's FileSystem (local, HDFS or S3A alike). */
    private static final class ManifestReader implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final String base;
        private final Broadcast<SerializableConfiguration> conf;
        private final boolean labeled;

        ManifestReader(String base, Broadcast<SerializableConfiguration> conf, boolean labeled) {
            this.base = base;
            this.conf = conf;
            this.labeled = labeled;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            Configuration hc = conf.value().value();
            return new Iterator<>() {
                @Override
                public boolean hasNext() { return rows.hasNext(); }

                @Override
                public Row next() {
                    Row r = rows.next();
                    String p = r.getString(0);
                    String id = r.isNullAt(1) ? null : String.valueOf(r.get(1));
                    Object label = labeled ? r.get(2) : null;
                    byte[] bytes = null;
                    String error = null;
                    if (id == null || id.isBlank()) {
                        id = p == null ? "<no id, no path>" : p;
                        error = "manifest row without an id (path " + p + ")";
                    } else if (p == null || p.isBlank()) {
                        error = "manifest row without a path";
                    } else {
                        try {
                            bytes = readAll(resolve(p), hc);
                            if (bytes.length == 0) {
                                error = "empty file (0 bytes)";
                                bytes = null;
                            }
                        } catch (FileNotFoundException e) {
                            error = "file not found: " + p;
                        } catch (IOException | RuntimeException e) {
                            error = "cannot read " + p + ": " + e.getMessage();
                        }
                    }
                    return labeled ? RowFactory.create(id, bytes, error, label == null ? null : label.toString())
                            : RowFactory.create(id, bytes, error);
                }
            };
        }

        private Path resolve(String p) {
            URI u = URI.create(p.replace(" ", "%20"));
            return u.getScheme() != null || p.startsWith("/") ? new Path(p) : new Path(base + p);
        }
    }

    static byte[] readAll(Path p, Configuration hc) throws IOException {
        FileSystem fs = p.getFileSystem(hc);
        try (FSDataInputStream in = fs.open(p)) {
            return in.readAllBytes();
        }
    }

    /** The fully qualified form of a path as Spark lists it (scheme and authority included). */
    static String qualified(SparkSession spark, String path) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            String q = fs.makeQualified(p).toString();
            return q.endsWith("/") ? q.substring(0, q.length() - 1) : q;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot access " + path + ": " + e.getMessage(), e);
        }
    }
}

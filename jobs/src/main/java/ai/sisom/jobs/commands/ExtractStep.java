package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.JsonFiles;
import ai.sisom.model.ModelMetadata;
import ai.sisom.model.ModelCache;
import ai.sisom.spark.FeatureExtraction;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ImageSources;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.desc;
import static org.apache.spark.sql.functions.when;

/** Images -> features/, rejections/ and model.json under a staged output (extract, and run per partition). */
final class ExtractStep {
    private ExtractStep() {}

    /** The file beside the features that names the model they came from ({@link Fingerprints#model}). */
    static final String MODEL_FINGERPRINT = "model.fingerprint";

    /**
     * Counts of one extraction: scored items, rejections by reason (most frequent first) and the first rejected
     * items (id, reason).
     */
    record Counts(long scored, List<Row> reasons, List<Row> examples, long reused) {
        long rejected() {
            return reasons.stream().mapToLong(r -> r.getLong(1)).sum();
        }
    }

    /**
     * Runs the model over {@code input} into the staged output; with a partition column, the feature table is
     * written partitioned like the input.
     */
    static Counts into(SparkSession spark, Dataset<Row> input, FeatureExtraction.Settings settings,
                       AtomicOutput output, String partitionColumn) throws IOException {
        return into(spark, input, settings, output, partitionColumn, null);
    }

    /**
     * As above; images whose bytes (content hash) are in {@code known}, features the same model extracted before,
     * take those features instead of going through the network again.
     */
    static Counts into(SparkSession spark, Dataset<Row> input, FeatureExtraction.Settings settings,
                       AtomicOutput output, String partitionColumn, Dataset<Row> known) throws IOException {
        var hc = spark.sparkContext().hadoopConfiguration();
        checkModel(settings.modelUri(), hc);
        if (partitionColumn != null && !Arrays.asList(input.columns()).contains(partitionColumn)) {
            throw new IllegalArgumentException("partition column '" + partitionColumn + "' is not in the input "
                    + "(its columns: " + Arrays.toString(input.columns()) + ")");
        }
        if (Arrays.asList(input.columns()).contains(OUTCOME)) {
            throw new IllegalArgumentException("the input has a column '" + OUTCOME + "', a name the extraction "
                    + "reserves for itself: rename or drop it");
        }
        Dataset<Row> all = known == null ? FeatureExtraction.extract(spark, input, settings)
                : reusing(spark, input, settings, known);
        // one pass over the model, no cache: the features and the rejected rows are written together, split into two
        // directories by an outcome column, and the features' directory is then moved into place. A cache (the
        // output is needed twice) cost a tenth of the tasks' Java time and, in memory, ran a 1 GB heap out.
        String extracted = output.staged("extracted");
        var writer = all.withColumn(OUTCOME, when(col(FeatureTable.REJECTED).isNull(), lit(FEATURES))
                        .otherwise(lit(REJECTIONS))).write().mode(SaveMode.ErrorIfExists)
                // no dictionary: ids, hashes and float features are all distinct, so Parquet's dictionary encoder
                // only hashes every value and then falls back to plain encoding
                .option(PARQUET_DICTIONARY, "false");
        writer = partitionColumn == null ? writer.partitionBy(OUTCOME) : writer.partitionBy(OUTCOME, partitionColumn);
        writer.parquet(extracted);
        FileSystem fs = new Path(extracted).getFileSystem(hc);
        Path extractedFeatures = new Path(extracted, OUTCOME + "=" + FEATURES);
        Path extractedRejections = new Path(extracted, OUTCOME + "=" + REJECTIONS);
        Path features = new Path(output.staged("features"));
        if (fs.exists(extractedFeatures)) {
            if (!fs.rename(extractedFeatures, features)) {
                throw new IOException("could not move " + extractedFeatures + " to " + features);
            }
        } else {   // every item rejected: an empty feature table that still has the columns
            var empty = spark.createDataFrame(List.of(), all.schema()).write().mode(SaveMode.ErrorIfExists);
            (partitionColumn == null ? empty : empty.partitionBy(partitionColumn)).parquet(features.toString());
        }
        Dataset<Row> rejected = fs.exists(extractedRejections)
                ? spark.read().parquet(extractedRejections.toString()).select(col(FeatureTable.ID),
                        col(FeatureTable.REJECTED).as("reason"))
                : spark.createDataFrame(List.of(), new StructType().add(FeatureTable.ID, DataTypes.StringType)
                        .add("reason", DataTypes.StringType));
        rejected.coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true")
                .csv(output.staged("rejections"));
        fs.delete(new Path(extracted), true);
        long reused = known == null ? 0 : reusedCount(input, known);
        copy(spark, ModelCache.jsonUriOf(settings.modelUri()), output.staged("model.json"));
        JsonFiles.writeText(Fingerprints.model(settings.modelUri(), hc), output.staged(MODEL_FINGERPRINT), hc);
        long nFeatures = spark.read().parquet(features.toString()).count();
        Dataset<Row> rejections = spark.read().option("header", "true").csv(output.staged("rejections"));
        List<Row> reasons = rejections.groupBy("reason").agg(count("*").as("n")).orderBy(desc("n")).collectAsList();
        return new Counts(nFeatures, reasons, rejections.orderBy(FeatureTable.ID).limit(20).collectAsList(), reused);
    }

    /** The column of the one-pass write that splits features from rejected rows, and its two values. */
    private static final String OUTCOME = "sisom_outcome";
    private static final String FEATURES = "features";
    private static final String REJECTIONS = "rejected";

    /** The Parquet writer's setting (passed through the write's options) for dictionary encoding. */
    static final String PARQUET_DICTIONARY = "parquet.enable.dictionary";
    private static final List<String> COMPUTED = List.of(FeatureTable.LOGITS, FeatureTable.PSEUDO_CLASS,
            FeatureTable.ENERGY, FeatureTable.PENULTIMATE, FeatureTable.U);

    /**
     * Extraction output for {@code input} where rows whose image hash has features in {@code known} take them
     * (only the hashes cross the join, then the matched features), and only the others run the model.
     */
    private static Dataset<Row> reusing(SparkSession spark, Dataset<Row> input, FeatureExtraction.Settings settings,
                                        Dataset<Row> known) {
        Dataset<Row> hashed = hashed(input);
        List<Column> k = new ArrayList<>(List.of(col(FeatureTable.CONTENT_HASH).as(KNOWN_HASH)));
        COMPUTED.forEach(c -> k.add(col(c).as("_k_" + c)));
        Dataset<Row> byHash = known.filter(col(FeatureTable.CONTENT_HASH).isNotNull())
                .dropDuplicates(FeatureTable.CONTENT_HASH).select(k.toArray(new Column[0]));
        Dataset<Row> joined = hashed.join(byHash, hashed.col(FeatureTable.CONTENT_HASH).equalTo(byHash.col(KNOWN_HASH)),
                "left");
        Dataset<Row> fresh = joined.filter(col(KNOWN_HASH).isNull()).select(Arrays.stream(hashed.columns())
                .map(c -> joined.col(c)).toArray(Column[]::new));
        Dataset<Row> extracted = FeatureExtraction.extract(spark, fresh, settings);
        // the reused rows in the extraction output's layout: the earlier features, this input's id and columns
        List<Column> out = new ArrayList<>();
        for (String c : extracted.columns()) {
            if (COMPUTED.contains(c)) {
                out.add(col("_k_" + c).as(c));
            } else if (c.equals(FeatureTable.REJECTED)) {
                out.add(lit(null).cast("string").as(c));
            } else {
                out.add(col(c));
            }
        }
        return extracted.unionByName(joined.filter(col(KNOWN_HASH).isNotNull()).select(out.toArray(new Column[0])));
    }

    /** How many rows of {@code input} {@link #reusing} takes from {@code known}: the hashes alone, no network pass. */
    private static long reusedCount(Dataset<Row> input, Dataset<Row> known) {
        Dataset<Row> hashed = hashed(input);
        Dataset<Row> hashes = known.filter(col(FeatureTable.CONTENT_HASH).isNotNull())
                .select(col(FeatureTable.CONTENT_HASH).as(KNOWN_HASH)).distinct();
        return hashed.join(hashes, hashed.col(FeatureTable.CONTENT_HASH).equalTo(hashes.col(KNOWN_HASH)), "left_semi")
                .count();
    }

    private static Dataset<Row> hashed(Dataset<Row> input) {
        return Arrays.asList(input.columns()).contains(FeatureTable.CONTENT_HASH) ? input
                : input.withColumn(FeatureTable.CONTENT_HASH, sha2(col(ImageSources.IMAGE), 256));
    }

    private static final String KNOWN_HASH = "_k_hash";

    /**
     * Reads the model's metadata and loads the model once on the driver, so that a missing, corrupt or
     * contract-breaking model file is one clear error before any task starts.
     */
    static ModelMetadata checkModel(String modelUri, org.apache.hadoop.conf.Configuration hc) {
        try {
            ModelMetadata meta = ModelCache.metadata(modelUri, hc);
            ModelCache.get(modelUri, hc);
            return meta;
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new IllegalArgumentException("sisom.model " + modelUri + ": " + (e.getCause() != null
                    && e instanceof java.io.UncheckedIOException ? e.getCause().getMessage() : e.getMessage()), e);
        }
    }

    static void printRejections(PrintStream out, List<Row> reasons) {
        for (Row r : reasons) {
            out.printf(Locale.ROOT, "  rejected %d: %s%n", r.getLong(1), r.getString(0));
        }
    }

    private static void copy(SparkSession spark, String from, String to) throws IOException {
        var conf = spark.sparkContext().hadoopConfiguration();
        Path src = new Path(from);
        Path dst = new Path(to);
        FileSystem sfs = src.getFileSystem(conf);
        FileSystem dfs = dst.getFileSystem(conf);
        try (var in = sfs.open(src); var o = dfs.create(dst, false)) {
            in.transferTo(o);
        }
    }
}

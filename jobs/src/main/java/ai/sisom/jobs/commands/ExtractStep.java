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
import org.apache.spark.storage.StorageLevel;

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
        // read twice (features, rejections) and too costly to compute twice: kept on the executors' disks, not in
        // memory, because a task's block is as large as its input split (a Parquet split of small images holds
        // 100,000s of rows), and unrolling it in memory ran a 1 GB heap out at 333,333 images a night
        Dataset<Row> all = (known == null ? FeatureExtraction.extract(spark, input, settings).withColumn(REUSED, lit(false))
                : reusing(spark, input, settings, known)).persist(StorageLevel.DISK_ONLY());
        try {
            long reused = known == null ? 0 : all.filter(col(REUSED)).count();
            all = all.drop(REUSED);
            Dataset<Row> features = all.filter(col(FeatureTable.REJECTED).isNull()).drop(FeatureTable.REJECTED);
            Dataset<Row> rejected = all.filter(col(FeatureTable.REJECTED).isNotNull())
                    .select(col(FeatureTable.ID), col(FeatureTable.REJECTED).as("reason"));
            // no dictionary: ids, hashes and float features are all distinct, so Parquet's dictionary encoder only
            // hashes every value and then falls back to plain encoding (a tenth of a task's Java time went there)
            var writer = features.write().mode(SaveMode.ErrorIfExists).option(PARQUET_DICTIONARY, "false");
            if (partitionColumn != null) {
                if (!Arrays.asList(features.columns()).contains(partitionColumn)) {
                    throw new IllegalArgumentException("partition column '" + partitionColumn + "' is not in the input "
                            + "(its columns: " + Arrays.toString(input.columns()) + ")");
                }
                writer = writer.partitionBy(partitionColumn);
            }
            writer.parquet(output.staged("features"));
            rejected.coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true")
                    .csv(output.staged("rejections"));
            copy(spark, ModelCache.jsonUriOf(settings.modelUri()), output.staged("model.json"));
            JsonFiles.writeText(Fingerprints.model(settings.modelUri(), hc), output.staged(MODEL_FINGERPRINT), hc);
            long nFeatures = spark.read().parquet(output.staged("features")).count();
            Dataset<Row> rejections = spark.read().option("header", "true").csv(output.staged("rejections"));
            List<Row> reasons = rejections.groupBy("reason").agg(count("*").as("n")).orderBy(desc("n")).collectAsList();
            return new Counts(nFeatures, reasons, rejections.orderBy(FeatureTable.ID).limit(20).collectAsList(), reused);
        } finally {
            all.unpersist();
        }
    }

    /** The Parquet writer's setting (passed through the write's options) for dictionary encoding. */
    static final String PARQUET_DICTIONARY = "parquet.enable.dictionary";
    private static final String REUSED = "_sisom_reused";
    private static final List<String> COMPUTED = List.of(FeatureTable.LOGITS, FeatureTable.PSEUDO_CLASS,
            FeatureTable.ENERGY, FeatureTable.PENULTIMATE, FeatureTable.U);

    /**
     * Extraction output for {@code input} where rows whose image hash has features in {@code known} take them
     * (only the hashes cross the join, then the matched features), and only the others run the model.
     */
    private static Dataset<Row> reusing(SparkSession spark, Dataset<Row> input, FeatureExtraction.Settings settings,
                                        Dataset<Row> known) {
        Dataset<Row> hashed = Arrays.asList(input.columns()).contains(FeatureTable.CONTENT_HASH) ? input
                : input.withColumn(FeatureTable.CONTENT_HASH, sha2(col(ImageSources.IMAGE), 256));
        List<Column> k = new ArrayList<>(List.of(col(FeatureTable.CONTENT_HASH).as("_k_hash")));
        COMPUTED.forEach(c -> k.add(col(c).as("_k_" + c)));
        Dataset<Row> byHash = known.filter(col(FeatureTable.CONTENT_HASH).isNotNull())
                .dropDuplicates(FeatureTable.CONTENT_HASH).select(k.toArray(new Column[0]));
        Dataset<Row> joined = hashed.join(byHash, hashed.col(FeatureTable.CONTENT_HASH).equalTo(byHash.col("_k_hash")),
                "left");
        Dataset<Row> fresh = joined.filter(col("_k_hash").isNull()).select(Arrays.stream(hashed.columns())
                .map(c -> joined.col(c)).toArray(Column[]::new));
        Dataset<Row> extracted = FeatureExtraction.extract(spark, fresh, settings).withColumn(REUSED, lit(false));
        // the reused rows in the extraction output's layout: the earlier features, this input's id and columns
        List<Column> out = new ArrayList<>();
        for (String c : extracted.columns()) {
            if (c.equals(REUSED)) {
                out.add(lit(true).as(REUSED));
            } else if (COMPUTED.contains(c)) {
                out.add(col("_k_" + c).as(c));
            } else if (c.equals(FeatureTable.REJECTED)) {
                out.add(lit(null).cast("string").as(c));
            } else {
                out.add(col(c));
            }
        }
        return extracted.unionByName(joined.filter(col("_k_hash").isNotNull()).select(out.toArray(new Column[0])));
    }

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

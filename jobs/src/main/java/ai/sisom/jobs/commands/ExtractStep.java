package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.JsonFiles;
import ai.sisom.model.ModelMetadata;
import ai.sisom.model.ModelCache;
import ai.sisom.spark.FeatureExtraction;
import ai.sisom.spark.FeatureTable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
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
    record Counts(long scored, List<Row> reasons, List<Row> examples) {
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
        var hc = spark.sparkContext().hadoopConfiguration();
        checkModel(settings.modelUri(), hc);
        Dataset<Row> all = FeatureExtraction.extract(spark, input, settings).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Dataset<Row> features = all.filter(col(FeatureTable.REJECTED).isNull()).drop(FeatureTable.REJECTED);
            Dataset<Row> rejected = all.filter(col(FeatureTable.REJECTED).isNotNull())
                    .select(col(FeatureTable.ID), col(FeatureTable.REJECTED).as("reason"));
            var writer = features.write().mode(SaveMode.ErrorIfExists);
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
            return new Counts(nFeatures, reasons, rejections.orderBy(FeatureTable.ID).limit(20).collectAsList());
        } finally {
            all.unpersist();
        }
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

package ai.sisom.jobs;

import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.ModelCache;
import ai.sisom.spark.FeatureExtraction;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ImageSources;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

import java.io.PrintStream;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.desc;

/**
 * Command-line entry point for spark-submit and for the embedded local runner.
 *
 * <pre>
 *   SisomJob extract --conf conf/local-samples.properties [--set key=value ...]
 *   SisomJob import  --conf ... --set sisom.input.path=... --set sisom.output=...   (images/manifest -> Parquet)
 * </pre>
 */
public final class SisomJob {
    static final String USAGE = """
            usage: SisomJob <command> [--conf FILE] [--set key=value ...]
            commands:
              extract   run the model over a pool and write its feature table (Parquet) and rejections
              import    copy an image directory or manifest into Parquet (id, image[, label])
            settings (sisom.*):
              sisom.model           TorchScript model file (.pt, with its .json beside it)
              sisom.input.path      pool location (local path, hdfs:// or s3a://)
              sisom.input.format    parquet | images | manifest
              sisom.input.labeled   true for a labeled set (label column, or first directory for images)
              sisom.input.idColumn, sisom.input.imageColumn, sisom.input.labelColumn   Parquet column names
              sisom.output          result directory (replaced atomically on success)
              sisom.batchSize       images per network batch (default 64)
              sisom.resize          none | bilinear: what to do with images of another size (default none)
            """;

    static final List<String> KNOWN = List.of("sisom.model", "sisom.input.path", "sisom.input.format",
            "sisom.input.labeled", "sisom.input.idColumn", "sisom.input.imageColumn", "sisom.input.labelColumn",
            "sisom.output", "sisom.batchSize", "sisom.resize");

    private SisomJob() {}

    public static void main(String[] args) throws Exception {
        int rc;
        try {
            rc = run(args, System.out);
        } catch (IllegalArgumentException | java.io.FileNotFoundException | org.apache.spark.sql.AnalysisException e) {
            // bad configuration or input: the message says what and where; a stack trace would bury it
            System.err.println("sisom: error: " + e.getMessage());
            rc = 2;
        }
        if (rc != 0) {
            System.exit(rc);
        }
    }

    /** Runs one command; returns the process exit code. */
    public static int run(String[] args, PrintStream out) throws Exception {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            out.print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String command = args[0];
        String confFile = null;
        List<String> overrides = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--conf" -> confFile = value(args, ++i, "--conf");
                case "--set" -> overrides.add(value(args, ++i, "--set"));
                default -> throw new IllegalArgumentException("unexpected argument '" + args[i] + "'\n" + USAGE);
            }
        }
        JobConfig cfg = JobConfig.load(confFile == null ? null : Paths.get(confFile), overrides);
        cfg.checkKnown(KNOWN);
        return switch (command) {
            case "extract" -> withSpark(cfg, spark -> extract(spark, cfg, out));
            case "import" -> withSpark(cfg, spark -> importImages(spark, cfg, out));
            default -> throw new IllegalArgumentException("unknown command '" + command + "'\n" + USAGE);
        };
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    interface SparkWork {
        int run(SparkSession spark) throws Exception;
    }

    /** Starts Spark with the file's spark.* settings unless spark-submit (or a test) already set them. */
    static int withSpark(JobConfig cfg, SparkWork work) throws Exception {
        SparkConf conf = new SparkConf();
        cfg.sparkSettings().forEach(conf::setIfMissing);
        conf.setIfMissing("spark.master", "local[*]");
        conf.setIfMissing("spark.app.name", "sisom");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        return work.run(spark);
    }

    static ImageSources.Options sourceOptions(JobConfig cfg) {
        ImageSources.Options o = new ImageSources.Options();
        o.idColumn = cfg.get("sisom.input.idColumn", o.idColumn);
        o.imageColumn = cfg.get("sisom.input.imageColumn", o.imageColumn);
        o.labelColumn = cfg.get("sisom.input.labelColumn", o.labelColumn);
        o.labeled = cfg.getBoolean("sisom.input.labeled", false);
        return o;
    }

    static Dataset<Row> readInput(SparkSession spark, JobConfig cfg) {
        return ImageSources.read(spark, ImageSources.Format.parse(cfg.get("sisom.input.format")),
                cfg.get("sisom.input.path"), sourceOptions(cfg));
    }

    static int extract(SparkSession spark, JobConfig cfg, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        String model = cfg.get("sisom.model");
        ImagePreprocessor.Resize resize;
        try {
            resize = ImagePreprocessor.Resize.valueOf(cfg.get("sisom.resize", "none").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sisom.resize must be none or bilinear, got '" + cfg.get("sisom.resize") + "'");
        }
        var settings = new FeatureExtraction.Settings(model, cfg.getInt("sisom.batchSize", 64), resize);
        Dataset<Row> input = readInput(spark, cfg);
        Dataset<Row> all = FeatureExtraction.extract(spark, input, settings).persist(StorageLevel.MEMORY_AND_DISK());
        AtomicOutput output = new AtomicOutput(cfg.get("sisom.output"), spark.sparkContext().hadoopConfiguration());
        try {
            Dataset<Row> features = all.filter(col(FeatureTable.REJECTED).isNull()).drop(FeatureTable.REJECTED);
            Dataset<Row> rejected = all.filter(col(FeatureTable.REJECTED).isNotNull())
                    .select(col(FeatureTable.ID), col(FeatureTable.REJECTED).as("reason"));
            features.write().mode(SaveMode.ErrorIfExists).parquet(output.staged("features"));
            rejected.coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true")
                    .csv(output.staged("rejections"));
            copy(spark, ModelCache.jsonUriOf(model), output.staged("model.json"));
            long nFeatures = spark.read().parquet(output.staged("features")).count();
            List<Row> reasons = spark.read().option("header", "true").csv(output.staged("rejections"))
                    .groupBy("reason").agg(count("*").as("n")).orderBy(desc("n")).collectAsList();
            long nRejected = reasons.stream().mapToLong(r -> r.getLong(1)).sum();
            output.commit();
            double secs = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "sisom extract: %d items, %d scored, %d rejected, %.1f s (%.1f items/s)%n",
                    nFeatures + nRejected, nFeatures, nRejected, secs, (nFeatures + nRejected) / secs);
            for (Row r : reasons) {
                out.printf(Locale.ROOT, "  rejected %d: %s%n", r.getLong(1), r.getString(0));
            }
            out.println("  features:   " + cfg.get("sisom.output") + "/features");
            out.println("  rejections: " + cfg.get("sisom.output") + "/rejections");
            return 0;
        } catch (Exception | Error e) {
            output.abort();
            throw e;
        } finally {
            all.unpersist();
        }
    }

    static int importImages(SparkSession spark, JobConfig cfg, PrintStream out) throws Exception {
        Dataset<Row> input = readInput(spark, cfg).persist(StorageLevel.MEMORY_AND_DISK());
        AtomicOutput output = new AtomicOutput(cfg.get("sisom.output"), spark.sparkContext().hadoopConfiguration());
        try {
            long bad = input.filter(col(ImageSources.SOURCE_ERROR).isNotNull()).count();
            if (bad > 0) {
                List<Row> examples = input.filter(col(ImageSources.SOURCE_ERROR).isNotNull())
                        .select(ImageSources.ID, ImageSources.SOURCE_ERROR).limit(5).collectAsList();
                throw new IllegalArgumentException(bad + " input rows could not be read, e.g. " + examples);
            }
            // one file for a small sample set; large imports keep Spark's partitioning
            Dataset<Row> rows = input.drop(ImageSources.SOURCE_ERROR).orderBy(ImageSources.ID);
            rows.coalesce(1).write().mode(SaveMode.ErrorIfExists).parquet(output.staged("data"));
            long n = spark.read().parquet(output.staged("data")).count();
            output.commit();
            out.println("sisom import: " + n + " images -> " + cfg.get("sisom.output") + "/data");
            return 0;
        } catch (Exception | Error e) {
            output.abort();
            throw e;
        } finally {
            input.unpersist();
        }
    }

    private static void copy(SparkSession spark, String from, String to) throws java.io.IOException {
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

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
import java.util.stream.Stream;

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
              run       the nightly run: reference (built once), new pool partitions, scores, selection, summary
              extract   run the model over a pool and write its feature table (Parquet) and rejections
              import    copy an image directory or manifest into Parquet (id, image[, label])
              build-reference   labeled features -> reference artifact (r_avg, sigma_r, mu_E, sigma_E, R)
              score     pool features + reference -> score table, top-q selection, summary
              lfosa-select   LfOSA selection over pool features of a (K+1)-way detector (last class: unknown)
            settings (sisom.*):
              sisom.model           TorchScript model file (.pt, with its .json beside it)
              sisom.input.path      pool location (local path, hdfs:// or s3a://)
              sisom.input.format    parquet | images | manifest
              sisom.input.labeled   true for a labeled set (label column, or first directory for images)
              sisom.input.idColumn, sisom.input.imageColumn, sisom.input.labelColumn   Parquet column names
              sisom.output          result directory (replaced atomically on success)
              sisom.batchSize       images per network batch (default 64)
              sisom.progressSeconds how often long stages log their progress (default 30)
              sisom.resize          none | bilinear: what to do with images of another size (default none)
              sisom.work            run: working state (labeled and pool features, reference)
              sisom.labeled.path, sisom.labeled.format   run: the labeled set (format as sisom.input.format)
              sisom.input.partitionColumn   run: the pool's Hive-style partition column; only new partitions
                                    are extracted
              sisom.rebuildReference  run: true to rebuild the reference from the labeled set
              sisom.labeled.features, sisom.pool.features   feature tables written by extract (.../features)
              sisom.reference       reference artifact directory
              sisom.steepness       per layer, layer:value or layer:v1|v2|... (a grid is searched), e.g.
                                    layer1:0.05,layer2:1,layer3:10,avgpool:50
              sisom.dOut            sample (default) | anchor
              sisom.subset.delta, sisom.subset.size   class-wise ProbCover reference subset (both or neither)
              sisom.score           sisome (default) | sisom;  sisom.lambda  fixed fusion weight in [0, 1]
              sisom.q               selection size (default 100)
              sisom.selection       topq (default) | greedy;  sisom.greedy.candidateFactor (default 10)
              sisom.report          run, score: write report.html (default true); sisom.report.ood: how many of
                                    the most out-of-distribution samples it shows (default 24); score shows
                                    thumbnails when sisom.input.path/format name the pool's images
            """;

    static final List<String> KNOWN = java.util.stream.Stream.concat(Stream.of("sisom.model", "sisom.input.path",
            "sisom.input.format", "sisom.input.labeled", "sisom.input.idColumn", "sisom.input.imageColumn",
            "sisom.input.labelColumn", "sisom.output", "sisom.batchSize", "sisom.resize", "sisom.progressSeconds"),
            Stream.concat(ScoringCommands.keys().stream(), NightlyCommand.keys().stream())).toList();

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
        org.slf4j.LoggerFactory.getLogger(SisomJob.class).info("sisom {} settings:\n{}", command, cfg.describe());
        return switch (command) {
            case "extract" -> withSpark(cfg, spark -> extract(spark, cfg, out));
            case "import" -> withSpark(cfg, spark -> importImages(spark, cfg, out));
            case "build-reference" -> withSpark(cfg, spark -> ScoringCommands.buildReference(spark, cfg, out));
            case "score" -> withSpark(cfg, spark -> ScoringCommands.score(spark, cfg, out));
            case "run" -> withSpark(cfg, spark -> NightlyCommand.run(spark, cfg, out));
            case "lfosa-select" -> withSpark(cfg, spark -> ScoringCommands.lfosaSelect(spark, cfg, out));
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
        ProgressListener progress = new ProgressListener(cfg.getInt("sisom.progressSeconds", 30) * 1000L);
        spark.sparkContext().addSparkListener(progress);
        try {
            return work.run(spark);
        } finally {
            spark.sparkContext().removeSparkListener(progress);
        }
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

    /** Counts of one extraction: scored items and rejections by reason (most frequent first). */
    record ExtractCounts(long scored, List<Row> reasons) {
        long rejected() {
            return reasons.stream().mapToLong(r -> r.getLong(1)).sum();
        }
    }

    static FeatureExtraction.Settings extractionSettings(JobConfig cfg) {
        ImagePreprocessor.Resize resize;
        try {
            resize = ImagePreprocessor.Resize.valueOf(cfg.get("sisom.resize", "none").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sisom.resize must be none or bilinear, got '" + cfg.get("sisom.resize") + "'");
        }
        return new FeatureExtraction.Settings(cfg.get("sisom.model"), cfg.getInt("sisom.batchSize", 64), resize);
    }

    /**
     * Runs the model over {@code input} and writes features/, rejections/ and model.json under the (uncommitted)
     * output; the caller commits.
     */
    static ExtractCounts extractInto(SparkSession spark, Dataset<Row> input, FeatureExtraction.Settings settings,
                                     AtomicOutput output) throws java.io.IOException {
        return extractInto(spark, input, settings, output, null);
    }

    /** As above; with a partition column, the feature table is written partitioned like the input. */
    static ExtractCounts extractInto(SparkSession spark, Dataset<Row> input, FeatureExtraction.Settings settings,
                                     AtomicOutput output, String partitionColumn) throws java.io.IOException {
        Dataset<Row> all = FeatureExtraction.extract(spark, input, settings).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Dataset<Row> features = all.filter(col(FeatureTable.REJECTED).isNull()).drop(FeatureTable.REJECTED);
            Dataset<Row> rejected = all.filter(col(FeatureTable.REJECTED).isNotNull())
                    .select(col(FeatureTable.ID), col(FeatureTable.REJECTED).as("reason"));
            var writer = features.write().mode(SaveMode.ErrorIfExists);
            if (partitionColumn != null) {
                if (!java.util.Arrays.asList(features.columns()).contains(partitionColumn)) {
                    throw new IllegalArgumentException("partition column '" + partitionColumn + "' is not in the input "
                            + "(its columns: " + java.util.Arrays.toString(input.columns()) + ")");
                }
                writer = writer.partitionBy(partitionColumn);
            }
            writer.parquet(output.staged("features"));
            rejected.coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true")
                    .csv(output.staged("rejections"));
            copy(spark, ModelCache.jsonUriOf(settings.modelUri()), output.staged("model.json"));
            long nFeatures = spark.read().parquet(output.staged("features")).count();
            List<Row> reasons = spark.read().option("header", "true").csv(output.staged("rejections"))
                    .groupBy("reason").agg(count("*").as("n")).orderBy(desc("n")).collectAsList();
            return new ExtractCounts(nFeatures, reasons);
        } finally {
            all.unpersist();
        }
    }

    static void printRejections(PrintStream out, List<Row> reasons) {
        for (Row r : reasons) {
            out.printf(Locale.ROOT, "  rejected %d: %s%n", r.getLong(1), r.getString(0));
        }
    }

    static int extract(SparkSession spark, JobConfig cfg, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        var settings = extractionSettings(cfg);
        Dataset<Row> input = readInput(spark, cfg);
        AtomicOutput output = new AtomicOutput(cfg.get("sisom.output"), spark.sparkContext().hadoopConfiguration());
        try {
            ExtractCounts c = extractInto(spark, input, settings, output, cfg.get("sisom.input.partitionColumn", null));
            output.commit();
            double secs = (System.nanoTime() - t0) / 1e9;
            long total = c.scored() + c.rejected();
            out.printf(Locale.ROOT, "sisom extract: %d items, %d scored, %d rejected, %.1f s (%.1f items/s)%n",
                    total, c.scored(), c.rejected(), secs, total / secs);
            printRejections(out, c.reasons());
            out.println("  features:   " + cfg.get("sisom.output") + "/features");
            out.println("  rejections: " + cfg.get("sisom.output") + "/rejections");
            return 0;
        } catch (Exception | Error e) {
            output.abort();
            throw e;
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

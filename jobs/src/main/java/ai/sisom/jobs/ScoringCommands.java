package ai.sisom.jobs;

import ai.djl.util.JsonUtils;
import ai.sisom.model.ModelMetadata;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.Fusion;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ImageSources;
import ai.sisom.spark.PoolScoring;
import ai.sisom.spark.ReferenceIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/** The reference build and pool scoring commands (METHOD.md sections 2-7). */
final class ScoringCommands {
    private ScoringCommands() {}

    /** Reads the model metadata that extract stored beside a feature table. */
    static ModelMetadata featureModel(String featureDir, Configuration conf) throws IOException {
        Path json = new Path(new Path(featureDir).getParent(), "model.json");
        FileSystem fs = json.getFileSystem(conf);
        java.nio.file.Path tmp = java.nio.file.Files.createTempFile("sisom-model", ".json");
        try (var in = fs.open(json)) {
            java.nio.file.Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return ModelMetadata.read(tmp);
        } catch (java.io.FileNotFoundException e) {
            throw new IllegalArgumentException("no model.json beside " + featureDir + ": point at the 'features' "
                    + "directory an extract run wrote");
        } finally {
            java.nio.file.Files.deleteIfExists(tmp);
        }
    }

    /** build-reference: labeled features -> reference artifact. */
    static int buildReference(SparkSession spark, JobConfig cfg, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        String labeledDir = cfg.get("sisom.labeled.features");
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        featureModel(labeledDir, hc); // the model.json beside the features must be there and valid
        SisomReference ref = PipelineSettings.estimator(cfg).fit(spark.read().parquet(labeledDir)).reference();
        AtomicOutput output = new AtomicOutput(cfg.get("sisom.reference"), hc);
        try {
            ReferenceIO.write(ref, output.stagingDir().toString(), hc);
            output.commit();
        } catch (Exception | Error e) {
            output.abort();
            throw e;
        }
        var st = ref.stats();
        out.printf(Locale.ROOT, "sisom build-reference: %d labeled samples, %d reference points, steepness %s, d_out %s%n",
                st.n(), ref.set().size(), ref.steepness(), ref.variant().name().toLowerCase(Locale.ROOT));
        out.printf(Locale.ROOT, "  r_avg %.6f  sigma_r %.6f  mu_E %.6f  sigma_E %.6f  (leave-one-out, true labels)%n",
                st.rAvg(), st.sigmaR(), st.muE(), st.sigmaE());
        if (st.dOutZero() > 0) {
            out.printf(Locale.ROOT, "  %d labeled samples had d_out = 0 (r set to 1e-6)%n", st.dOutZero());
        }
        out.printf(Locale.ROOT, "  written to %s (%.1f s)%n", cfg.get("sisom.reference"), (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    /** What score and the nightly run write and print. */
    record ScoreSummary(long scored, long dOutZero, long selected, Map<String, Object> json) {}

    /**
     * Scores {@code features} and writes scores, selection and summary.json into {@code output} (staged: the caller
     * commits).
     */
    static ScoreSummary scoreInto(SparkSession spark, Dataset<Row> features, SisomReference ref, JobConfig cfg,
                                  AtomicOutput output) throws IOException {
        int q = cfg.getInt("sisom.q", 100);
        if (q < 0) {
            throw new IllegalArgumentException("sisom.q must not be negative, got " + q);
        }
        String mode = cfg.get("sisom.selection", "topq").toLowerCase(Locale.ROOT);
        if (!mode.equals("topq") && !mode.equals("greedy")) {
            throw new IllegalArgumentException("sisom.selection must be topq or greedy, got '" + mode + "'");
        }
        SisomScoringModel model = PipelineSettings.model(cfg, ref).setQ(q);
        Fusion fusion = model.scorer().fusion();
        Dataset<Row> scores = model.transform(features).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            scores.write().mode(SaveMode.ErrorIfExists).parquet(output.staged("scores"));
            Dataset<Row> written = spark.read().parquet(output.staged("scores"));
            long n = written.count();
            long zero = written.filter(col(PoolScoring.D_OUT_ZERO)).count();
            Dataset<Row> selection = mode.equals("greedy")
                    ? model.selectGreedy(written, features, cfg.getInt("sisom.greedy.candidateFactor", 10))
                    : model.selectTopQ(written);
            selection.coalesce(1).write().mode(SaveMode.ErrorIfExists).parquet(output.staged("selection"));
            long selected = spark.read().parquet(output.staged("selection")).count();
            spark.read().parquet(output.staged("selection")).orderBy(PoolScoring.RANK)
                    .select(PoolScoring.RANK, FeatureTable.ID, PoolScoring.SCORE, PoolScoring.PSEUDO_LABEL,
                            PoolScoring.R, FeatureTable.ENERGY, PoolScoring.NEAREST_IN, PoolScoring.NEAREST_OUT)
                    .coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true")
                    .csv(output.staged("selection-csv"));
            var st = ref.stats();
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("scored", n);
            s.put("dOutZero", zero);
            s.put("selection", mode);
            s.put("q", q);
            s.put("selected", selected);
            s.put("score", fusion.score().name().toLowerCase(Locale.ROOT));
            // the coefficients of the score that selection used (SISOM: the ratio alone)
            s.put("energyWeight", fusion.energyCoefficient(st));
            s.put("ratioWeight", fusion.ratioCoefficient(st));
            s.put("rAvg", st.rAvg());
            s.put("sigmaR", st.sigmaR());
            s.put("muE", st.muE());
            s.put("sigmaE", st.sigmaE());
            s.put("dOutVariant", ref.variant().name().toLowerCase(Locale.ROOT));
            s.put("steepness", ref.steepness().alphas());
            s.put("referencePoints", ref.set().size());
            ReferenceIO.write(ref, output.staged("reference"), spark.sparkContext().hadoopConfiguration());
            return new ScoreSummary(n, zero, selected, s);
        } finally {
            scores.unpersist();
        }
    }

    static void writeJson(Map<String, Object> m, String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        try (Writer w = new OutputStreamWriter(p.getFileSystem(conf).create(p, true), StandardCharsets.UTF_8)) {
            JsonUtils.GSON_PRETTY.toJson(m, w);
        }
    }

    static Map<String, Object> readJson(String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        try (Reader r = new InputStreamReader(p.getFileSystem(conf).open(p), StandardCharsets.UTF_8)) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JsonUtils.GSON.fromJson(r, Map.class);
            return m;
        }
    }

    static void printScoreSummary(PrintStream out, ScoreSummary s, String output) {
        Map<String, Object> j = s.json();
        out.printf(Locale.ROOT, "  scored %d samples; r_avg %.6f, sigma_r %.6f; score %s = %.4f * energy term + %.4f * ratio term%n",
                s.scored(), (Double) j.get("rAvg"), (Double) j.get("sigmaR"), j.get("score"),
                (Double) j.get("energyWeight"), (Double) j.get("ratioWeight"));
        if (s.dOutZero() > 0) {
            out.printf(Locale.ROOT, "  %d samples had d_out = 0 (r set to 1e-6)%n", s.dOutZero());
        }
        out.printf(Locale.ROOT, "  selected %d (%s, q=%s): %s/selection%n", s.selected(), j.get("selection"), j.get("q"), output);
        out.printf(Locale.ROOT, "  scores: %s/scores%n", output);
    }

    /** score: pool features + reference -> scores, selection, summary. */
    static int score(SparkSession spark, JobConfig cfg, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        SisomReference ref = ReferenceIO.read(cfg.get("sisom.reference"), hc);
        String poolDir = cfg.get("sisom.pool.features");
        ModelMetadata meta = featureModel(poolDir, hc);
        checkCompatible(ref, meta);
        Dataset<Row> features = spark.read().parquet(poolDir);
        AtomicOutput output = new AtomicOutput(cfg.get("sisom.output"), hc);
        try {
            ScoreSummary s = scoreInto(spark, features, ref, cfg, output);
            writeJson(s.json(), output.staged("summary.json"), hc);
            if (reportWanted(cfg)) {
                // the feature table holds no images: thumbnails only when the pool's images are named
                Dataset<Row> images = cfg.get("sisom.input.path", null) == null ? null
                        : SisomJob.readInput(spark, cfg).select(ImageSources.ID, ImageSources.IMAGE);
                writeReport(spark, cfg, output, images, s.json());
            }
            output.commit();
            out.printf(Locale.ROOT, "sisom score: %.1f s%n", (System.nanoTime() - t0) / 1e9);
            printScoreSummary(out, s, cfg.get("sisom.output"));
            if (reportWanted(cfg)) {
                out.println("  report: " + cfg.get("sisom.output") + "/report.html");
            }
            return 0;
        } catch (Exception | Error e) {
            output.abort();
            throw e;
        }
    }

    static boolean reportWanted(JobConfig cfg) {
        return cfg.getBoolean("sisom.report", true);
    }

    /** report.html into the staged output, from its scores and selection; images (id, image) may be null. */
    static void writeReport(SparkSession spark, JobConfig cfg, AtomicOutput output, Dataset<Row> images,
                            Map<String, Object> summary) throws IOException {
        int ood = cfg.getInt("sisom.report.ood", 24);
        if (ood < 0) {
            throw new IllegalArgumentException("sisom.report.ood must not be negative, got " + ood);
        }
        HtmlReport.write(output.staged("report.html"), spark.read().parquet(output.staged("scores")),
                spark.read().parquet(output.staged("selection")), images, summary, ood,
                spark.sparkContext().hadoopConfiguration());
    }

    /** lfosa-select: LfOSA over a pool extracted with a (K+1)-way detector model. */
    static int lfosaSelect(SparkSession spark, JobConfig cfg, PrintStream out) throws Exception {
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        int q = cfg.getInt("sisom.q", 100);
        Dataset<Row> features = spark.read().parquet(cfg.get("sisom.pool.features"));
        AtomicOutput output = new AtomicOutput(cfg.get("sisom.output"), hc);
        try {
            Dataset<Row> sel = PoolScoring.lfosa(spark, features, q);
            sel.coalesce(1).write().mode(SaveMode.ErrorIfExists).parquet(output.staged("selection"));
            sel.coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true").csv(output.staged("selection-csv"));
            long n = spark.read().parquet(output.staged("selection")).count();
            output.commit();
            out.printf(Locale.ROOT, "sisom lfosa-select: %d selected (q=%d) -> %s/selection%n", n, q, cfg.get("sisom.output"));
            return 0;
        } catch (Exception | Error e) {
            output.abort();
            throw e;
        }
    }

    /** The pool must have been extracted with a model of the same classes and layers as the reference. */
    static void checkCompatible(SisomReference ref, ModelMetadata meta) {
        if (!ref.classNames().equals(meta.classNames()) || !ref.layerNames().equals(meta.layerNames())) {
            throw new IllegalArgumentException("the reference was built for classes " + ref.classNames() + " and layers "
                    + ref.layerNames() + ", but the pool features come from a model with classes " + meta.classNames()
                    + " and layers " + meta.layerNames());
        }
    }

    static List<String> keys() {
        return List.of("sisom.labeled.features", "sisom.pool.features", "sisom.reference", "sisom.steepness",
                "sisom.dOut", "sisom.subset.delta", "sisom.subset.size", "sisom.score", "sisom.lambda", "sisom.q",
                "sisom.selection", "sisom.greedy.candidateFactor", "sisom.report", "sisom.report.ood");
    }
}

package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.HtmlReport;
import ai.sisom.jobs.settings.Options;
import ai.sisom.jobs.settings.SelectionMode;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.model.ModelMetadata;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.Fusion;
import ai.sisom.spark.ReferenceIO;
import ai.sisom.spark.ScoreTable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/** Features + reference -> scores/, selection/, selection-csv/, reference/ and the summary (score, and run). */
final class ScoreStep {
    private ScoreStep() {}

    /** What score and the nightly run write and print. */
    record Summary(long scored, long dOutZero, long selected, Map<String, Object> json) {}

    /** Scores {@code features} into the staged output; summary.json is the caller's (it adds its own fields). */
    static Summary into(SparkSession spark, Dataset<Row> features, SisomReference ref, Options.Scoring o,
                        AtomicOutput output) throws IOException {
        SisomScoringModel model = o.model(ref);
        Fusion fusion = model.scorer().fusion();
        Dataset<Row> scores = model.transform(features).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            scores.write().mode(SaveMode.ErrorIfExists).parquet(output.staged("scores"));
            Dataset<Row> written = spark.read().parquet(output.staged("scores"));
            long n = written.count();
            long zero = written.filter(col(ScoreTable.D_OUT_ZERO)).count();
            Dataset<Row> selection = o.selection() == SelectionMode.GREEDY
                    ? model.selectGreedy(written, features, o.candidateFactor())
                    : model.selectTopQ(written);
            selection.coalesce(1).write().mode(SaveMode.ErrorIfExists).parquet(output.staged("selection"));
            long selected = spark.read().parquet(output.staged("selection")).count();
            spark.read().parquet(output.staged("selection")).orderBy(ScoreTable.RANK)
                    .select(ScoreTable.RANK, ScoreTable.ID, ScoreTable.SCORE, ScoreTable.PSEUDO_LABEL, ScoreTable.R,
                            ScoreTable.ENERGY, ScoreTable.NEAREST_IN, ScoreTable.NEAREST_OUT)
                    .coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true")
                    .csv(output.staged("selection-csv"));
            var st = ref.stats();
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("scored", n);
            s.put("dOutZero", zero);
            s.put("selection", o.selection().name().toLowerCase(Locale.ROOT));
            s.put("q", o.q());
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
            return new Summary(n, zero, selected, s);
        } finally {
            scores.unpersist();
        }
    }

    /** report.html into the staged output, from its scores and selection; images (id, image) may be null. */
    static void writeReport(SparkSession spark, Options.Report report, AtomicOutput output, Dataset<Row> images,
                            Map<String, Object> summary) throws IOException {
        HtmlReport.write(output.staged("report.html"), spark.read().parquet(output.staged("scores")),
                spark.read().parquet(output.staged("selection")), images, summary, report.ood(),
                spark.sparkContext().hadoopConfiguration());
    }

    static void print(PrintStream out, Summary s, String output, Options.Report report) {
        Map<String, Object> j = s.json();
        out.printf(Locale.ROOT, "  scored %d samples; r_avg %.6f, sigma_r %.6f; score %s = %.4f * energy term + %.4f * ratio term%n",
                s.scored(), (Double) j.get("rAvg"), (Double) j.get("sigmaR"), j.get("score"),
                (Double) j.get("energyWeight"), (Double) j.get("ratioWeight"));
        if (s.dOutZero() > 0) {
            out.printf(Locale.ROOT, "  %d samples had d_out = 0 (r set to 1e-6)%n", s.dOutZero());
        }
        out.printf(Locale.ROOT, "  selected %d (%s, q=%s): %s/selection%n", s.selected(), j.get("selection"), j.get("q"), output);
        out.printf(Locale.ROOT, "  scores: %s/scores%n", output);
        if (report.enabled()) {
            out.println("  report: " + output + "/report.html");
        }
    }

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

    /** The pool must have been extracted with a model of the same classes and layers as the reference. */
    static void checkCompatible(SisomReference ref, ModelMetadata meta) {
        if (!ref.classNames().equals(meta.classNames()) || !ref.layerNames().equals(meta.layerNames())) {
            throw new IllegalArgumentException("the reference was built for classes " + ref.classNames() + " and layers "
                    + ref.layerNames() + ", but the pool features come from a model with classes " + meta.classNames()
                    + " and layers " + meta.layerNames());
        }
    }
}

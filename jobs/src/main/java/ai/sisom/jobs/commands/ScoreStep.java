package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.HtmlReport;
import ai.sisom.jobs.settings.Options;
import ai.sisom.jobs.settings.SelectionMode;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.model.ModelMetadata;
import ai.sisom.reference.OodThreshold;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.Fusion;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ReferenceIO;
import ai.sisom.spark.ScoreTable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.storage.StorageLevel;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.asc;
import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_set;
import static org.apache.spark.sql.functions.desc;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sort_array;

/** Features + reference -> scores/, selection/, selection-csv/, reference/ and the summary (score, and run). */
final class ScoreStep {
    private ScoreStep() {}

    /** What score and the nightly run write and print. */
    record Summary(long scored, long dOutZero, long selected, long flagged, OodThreshold threshold,
                   Map<String, Object> json) {}

    /** Columns the nightly run adds to each unit's features: its name and its place in the unit order. */
    static final String UNIT = "_sisom_unit";
    static final String UNIT_ORDER = "_sisom_unit_order";
    private static final int EXAMPLES = 10;
    /** Ids shown per group of identical images, and groups printed. */
    private static final int IDS_PER_EXAMPLE = 5;
    private static final int PRINTED_GROUPS = 3;

    /**
     * A feature table with each id once, the occurrences dropped for it, and groups of ids that share identical
     * image bytes. The first occurrence of an id is kept: the earliest unit (night), then the smallest content
     * hash, so reruns keep the same one.
     *
     * @param duplicates  id, the unit it was dropped from, the unit kept (null outside the nightly run), same_image
     * @param sameContent content_hash, ids (groups of two or more different ids with identical bytes)
     * @param cached      what close() frees
     */
    record Deduplicated(Dataset<Row> unique, long duplicateRows, Dataset<Row> duplicates, long sameContentGroups,
                        Dataset<Row> sameContent, List<Dataset<Row>> cached) implements AutoCloseable {
        /** Frees the cached tables: a session that runs many jobs (tests, a notebook) must not keep them. */
        @Override
        public void close() {
            cached.forEach(Dataset::unpersist);
        }
    }

    /** Finds duplicate ids and identical images under different ids; only ids seen twice are shuffled. */
    static Deduplicated deduplicate(Dataset<Row> features) {
        boolean units = java.util.Arrays.asList(features.columns()).contains(UNIT);
        Dataset<Row> f = units ? features : features.withColumn(UNIT, lit(null).cast("string"))
                .withColumn(UNIT_ORDER, lit(0));
        boolean hashed = java.util.Arrays.asList(f.columns()).contains(FeatureTable.CONTENT_HASH);
        if (!hashed) {
            f = f.withColumn(FeatureTable.CONTENT_HASH, lit(null).cast("string"));
        }
        // the ids seen more than once, cached: the usual night has none, and then scoring reads the features as they
        // are instead of scanning them twice (the kept rows, the ranked duplicates) and grouping the ids again
        Dataset<Row> twice = f.groupBy(FeatureTable.ID).count().filter(col("count").gt(1)).select(FeatureTable.ID)
                .persist(StorageLevel.MEMORY_AND_DISK());
        // groups of ids with the same bytes: collect_set is distinct already, so its size is the number of ids
        Dataset<Row> same = f.filter(col(FeatureTable.CONTENT_HASH).isNotNull())
                .groupBy(FeatureTable.CONTENT_HASH).agg(collect_set(col(FeatureTable.ID)).as("ids"))
                .filter(org.apache.spark.sql.functions.size(col("ids")).gt(1))
                .select(col(FeatureTable.CONTENT_HASH), sort_array(col("ids")).as("ids"))
                .persist(StorageLevel.MEMORY_AND_DISK());
        long sameGroups = same.count();
        if (twice.count() == 0) {
            Dataset<Row> none = twice.select(col(FeatureTable.ID), lit(null).cast("string").as("unit"),
                    lit(null).cast("string").as("kept_unit"), lit(false).as("same_image"));
            return new Deduplicated(f.drop(UNIT, UNIT_ORDER), 0, none, sameGroups, same, List.of(twice, same));
        }
        WindowSpec first = Window.partitionBy(FeatureTable.ID).orderBy(col(UNIT_ORDER), col(FeatureTable.CONTENT_HASH)
                .asc_nulls_last());
        Dataset<Row> ranked = f.join(broadcast(twice), FeatureTable.ID)
                .withColumn("_rank", row_number().over(first))
                .withColumn("_kept_unit", org.apache.spark.sql.functions.first(col(UNIT)).over(first))
                .withColumn("_kept_hash", org.apache.spark.sql.functions.first(col(FeatureTable.CONTENT_HASH)).over(first));
        Dataset<Row> unique = f.join(broadcast(twice), FeatureTable.ID, "left_anti")
                .unionByName(ranked.filter(col("_rank").equalTo(1)).drop("_rank", "_kept_unit", "_kept_hash"));
        Dataset<Row> dropped = ranked.filter(col("_rank").gt(1)).select(col(FeatureTable.ID), col(UNIT).as("unit"),
                col("_kept_unit").as("kept_unit"), col(FeatureTable.CONTENT_HASH).eqNullSafe(col("_kept_hash"))
                        .as("same_image")).persist(StorageLevel.MEMORY_AND_DISK());
        return new Deduplicated(unique.drop(UNIT, UNIT_ORDER), dropped.count(), dropped, sameGroups, same,
                List.of(twice, same, dropped));
    }

    /** duplicates/ (CSV) into the staged output and the counts with a few examples into the summary. */
    static void writeDuplicates(Deduplicated d, AtomicOutput output, Map<String, Object> summary) {
        d.duplicates().orderBy(FeatureTable.ID).coalesce(1).write().mode(SaveMode.ErrorIfExists)
                .option("header", "true").csv(output.staged("duplicates"));
        Map<String, Object> dup = new LinkedHashMap<>();
        dup.put("rows", d.duplicateRows());
        dup.put("examples", d.duplicates().orderBy(FeatureTable.ID).limit(EXAMPLES).collectAsList().stream()
                .map(r -> r.getString(0) + (r.isNullAt(1) ? "" : " (in " + r.getString(1) + ", kept from "
                        + r.getString(2) + ")") + (r.getBoolean(3) ? ", same image" : ", a different image"))
                .toList());
        summary.put("duplicateIds", dup);
        Map<String, Object> same = new LinkedHashMap<>();
        same.put("groups", d.sameContentGroups());
        // a group can hold thousands of ids (a frame re-sent every night): a few of each, with the group's size
        same.put("examples", d.sameContent().orderBy(FeatureTable.CONTENT_HASH).limit(EXAMPLES)
                .select(org.apache.spark.sql.functions.slice(col("ids"), 1, IDS_PER_EXAMPLE),
                        org.apache.spark.sql.functions.size(col("ids")))
                .collectAsList().stream().map(r -> {
                    Map<String, Object> g = new LinkedHashMap<>();
                    g.put("ids", r.getList(0).stream().map(String::valueOf).toList());
                    g.put("count", r.getInt(1));
                    return g;
                }).toList());
        summary.put("sameImageDifferentIds", same);
    }

    @SuppressWarnings("unchecked")
    static void printDuplicates(PrintStream out, Map<String, Object> summary) {
        Map<String, Object> dup = (Map<String, Object>) summary.get("duplicateIds");
        if (dup != null && ((Number) dup.get("rows")).longValue() > 0) {
            out.printf(Locale.ROOT, "  %d rows repeat an id seen before and were not scored again (duplicates/), "
                    + "e.g. %s%n", ((Number) dup.get("rows")).longValue(), dup.get("examples"));
        }
        Map<String, Object> same = (Map<String, Object>) summary.get("sameImageDifferentIds");
        if (same != null && ((Number) same.get("groups")).longValue() > 0) {
            List<String> groups = new ArrayList<>();
            for (Map<String, Object> g : (List<Map<String, Object>>) same.get("examples")) {
                List<?> ids = (List<?>) g.get("ids");
                long more = ((Number) g.get("count")).longValue() - ids.size();
                groups.add(ids.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", ", "[",
                        more > 0 ? " and " + more + " more]" : "]")));
                if (groups.size() == PRINTED_GROUPS) {
                    break;
                }
            }
            out.printf(Locale.ROOT, "  %d images appear under more than one id (summary.json: sameImageDifferentIds), "
                    + "e.g. %s%n", ((Number) same.get("groups")).longValue(), String.join(", ", groups));
        }
    }

    /**
     * Scores {@code features} into the staged output: scores/, the queue (selection/, selection-csv/), the flagged
     * list (ood/, ood-csv/) and reference/; summary.json is the caller's (it adds its own fields).
     */
    static Summary into(SparkSession spark, Dataset<Row> features, SisomReference ref, Options.Scoring o,
                        AtomicOutput output) throws IOException {
        SisomScoringModel model = o.model(ref);
        Fusion fusion = model.scorer().fusion();
        OodThreshold threshold = model.oodThresholdInUse();
        // written once, then everything reads the written table: no cache of the scores
        model.transform(features).write().mode(SaveMode.ErrorIfExists).option(ExtractStep.PARQUET_DICTIONARY, "false")
                .parquet(output.staged("scores"));
        Dataset<Row> written = spark.read().parquet(output.staged("scores"));
        // the counts in one pass over the scores: each Spark job costs a tenth of a second or more on a small night
        Row counts = written.agg(org.apache.spark.sql.functions.count(lit(1)),
                org.apache.spark.sql.functions.count(org.apache.spark.sql.functions.when(col(ScoreTable.D_OUT_ZERO), 1)),
                org.apache.spark.sql.functions.count(org.apache.spark.sql.functions.when(col(ScoreTable.OOD_FLAG), 1)))
                .first();
        long n = counts.getLong(0);
        if (n == 0) {
            throw new IllegalArgumentException("no sample could be scored (every pool item was rejected): the "
                    + "previous result is kept");
        }
        long zero = counts.getLong(1);
        Dataset<Row> selection = switch (o.selection()) {
            case GREEDY -> model.selectGreedy(written, features, o.candidateFactor());
            case CORESET -> model.selectCoreSet(written, features, o.candidateFactor());
            case BADGE -> model.selectBadge(written, features, o.candidateFactor(), o.seed());
            case TOPQ -> model.selectTopQ(written);
        };
        selection.coalesce(1).write().mode(SaveMode.ErrorIfExists).parquet(output.staged("selection"));
        Dataset<Row> queue = spark.read().parquet(output.staged("selection"));
        // the queue is small (q rows, all of which the report shows): its counts come from one collect
        List<Row> queued = queue.select(ScoreTable.PSEUDO_LABEL, ScoreTable.OOD_FLAG).collectAsList();
        long selected = queued.size();
        csv(queue.orderBy(ScoreTable.RANK), ScoreTable.SELECTION_CSV, output.staged("selection-csv"));
        long flagged = 0;
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("scored", n);
        s.put("dOutZero", zero);
        s.put("selection", o.selection().name().toLowerCase(Locale.ROOT));
        s.put("q", o.q());
        s.put("selected", selected);
        if (threshold != null) {
            model.flagged(written).write().mode(SaveMode.ErrorIfExists).parquet(output.staged("ood"));
            Dataset<Row> ood = spark.read().parquet(output.staged("ood"));
            flagged = counts.getLong(2);
            csv(ood.orderBy(ScoreTable.OOD_RANK), ScoreTable.OOD_CSV, output.staged("ood-csv"));
            s.put("flagged", flagged);
            s.put("oodGate", o.gate());
            s.put("oodThreshold", threshold.toMap());
            s.put("oodThresholdDescription", threshold.describe());
            // what the gate changed: how many flagged samples the same queue would hold without it
            s.put("queueFlagged", queued.stream().filter(r -> !r.isNullAt(1) && r.getBoolean(1)).count());
            s.put("ungatedTopQFlagged", written.orderBy(desc(ScoreTable.SCORE), asc(ScoreTable.ID)).limit(o.q())
                    .filter(col(ScoreTable.OOD_FLAG)).count());
        } else {
            s.put("oodGate", false);
        }
        s.put("classBalance", o.balance().label());
        Map<String, Long> byClass = new TreeMap<>();
        queued.forEach(r -> byClass.merge(r.getString(0), 1L, Long::sum));
        s.put("queueByClass", byClass);
        s.put("score", fusion.score().name().toLowerCase(Locale.ROOT));
        var st = ref.stats();
        if (fusion.score().posthoc() == null) {
            // the coefficients of the score that selection used (SISOM: the ratio alone)
            s.put("energyWeight", fusion.energyCoefficient(st));
            s.put("ratioWeight", fusion.ratioCoefficient(st));
        }
        if (!o.extraScores().isEmpty()) {
            s.put("extraScores", o.extraScores());
        }
        s.put("rAvg", st.rAvg());
        s.put("sigmaR", st.sigmaR());
        s.put("muE", st.muE());
        s.put("sigmaE", st.sigmaE());
        s.put("dOutVariant", ref.variant().name().toLowerCase(Locale.ROOT));
        s.put("steepness", ref.steepness().alphas());
        s.put("referencePoints", ref.set().size());
        ReferenceIO.write(ref, output.staged("reference"), spark.sparkContext().hadoopConfiguration());
        return new Summary(n, zero, selected, flagged, threshold, s);
    }

    /** A readable one-file CSV copy of a table, in the given column order. */
    private static void csv(Dataset<Row> rows, java.util.List<String> columns, String dir) {
        rows.select(columns.stream().map(org.apache.spark.sql.functions::col).toArray(org.apache.spark.sql.Column[]::new))
                .coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true").csv(dir);
    }

    /** report.html into the staged output, from its scores and selection; images (id, image) may be null. */
    static void writeReport(SparkSession spark, Options.Report report, AtomicOutput output, Dataset<Row> images,
                            Map<String, Object> summary) throws IOException {
        var conf = spark.sparkContext().hadoopConfiguration();
        Path ood = new Path(output.staged("ood"));
        Dataset<Row> flagged = ood.getFileSystem(conf).exists(ood) ? spark.read().parquet(ood.toString()) : null;
        HtmlReport.write(output.staged("report.html"), spark.read().parquet(output.staged("scores")),
                spark.read().parquet(output.staged("selection")), flagged, images, summary, report.ood(), conf);
    }

    static void print(PrintStream out, Summary s, String output, Options.Report report) {
        Map<String, Object> j = s.json();
        out.printf(Locale.ROOT, "  scored %d samples; r_avg %.6f, sigma_r %.6f; score %s = %.4f * energy term + %.4f * ratio term%n",
                s.scored(), (Double) j.get("rAvg"), (Double) j.get("sigmaR"), j.get("score"),
                (Double) j.get("energyWeight"), (Double) j.get("ratioWeight"));
        if (s.dOutZero() > 0) {
            out.printf(Locale.ROOT, "  %d samples had d_out = 0 (r set to 1e-6)%n", s.dOutZero());
        }
        if (s.threshold() != null) {
            out.printf(Locale.ROOT, "  ood threshold: %s%n", s.threshold().describe());
            out.printf(Locale.ROOT, "  flagged %d of %d samples as out-of-distribution: %s/ood%n", s.flagged(),
                    s.scored(), output);
            out.printf(Locale.ROOT, "  queue %s: %d selected (%s, q=%s, class balance %s), %d of them flagged; without "
                            + "the gate the top %s would hold %d flagged samples: %s/selection%n",
                    Boolean.TRUE.equals(j.get("oodGate")) ? "gated" : "ungated (sisom.ood.gate=false)", s.selected(),
                    j.get("selection"), j.get("q"), j.get("classBalance"), (Long) j.get("queueFlagged"), j.get("q"),
                    (Long) j.get("ungatedTopQFlagged"), output);
        } else {
            out.printf(Locale.ROOT, "  the reference has no OOD threshold: nothing flagged, the queue is ungated%n");
            out.printf(Locale.ROOT, "  selected %d (%s, q=%s): %s/selection%n", s.selected(), j.get("selection"),
                    j.get("q"), output);
        }
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

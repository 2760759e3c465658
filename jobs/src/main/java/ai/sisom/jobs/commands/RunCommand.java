package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.JsonFiles;
import ai.sisom.jobs.output.LabelingExport;
import ai.sisom.jobs.output.OutputTables;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.jobs.settings.Options;
import ai.sisom.model.ModelCache;
import ai.sisom.model.ModelMetadata;
import ai.sisom.reference.SisomReference;
import ai.sisom.spark.FeatureExtraction;
import ai.sisom.spark.ImageSources;
import ai.sisom.spark.ReferenceIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static ai.sisom.jobs.settings.Settings.*;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.desc;
import static org.apache.spark.sql.functions.lit;

/**
 * The nightly run, one command: (1) the reference, built from the labeled set on first use (or given);
 * (2) feature extraction for the pool partitions not yet extracted, each partition committed on its own;
 * (3) scoring of every extracted partition and the selection, written atomically; (4) a printed summary.
 *
 * <p>Working state lives under {@code sisom.work}: {@code labeled/}, {@code reference/} and
 * {@code pool/<column>=<value>/}. With {@code sisom.input.partitionColumn} set, the pool is a set of Hive-style
 * directories {@code <column>=<value>} and only new ones go through the network; without it, the whole pool is
 * one unit, extracted on every run.
 */
final class RunCommand implements Command {
    @Override
    public String name() { return RUN; }

    @Override
    public String summary() {
        return "the nightly run: reference (built once), new pool partitions, scores, selection, summary";
    }

    /** Everything the run reads from the settings. */
    private record Plan(String work, String referenceDir, boolean rebuild, FeatureExtraction.Settings extraction,
                        Options.Input labeled, Options.Input pool, ImageSources.Options labeledSource,
                        ImageSources.Options source, String partitionColumn,
                        Options.Reference reference, Options.Scoring scoring, Options.Report report, String output,
                        Options.Labeling labeling, OutputTables tables) {}

    @Override
    public Job prepare(JobSettings s) {
        String work = s.require(WORK, RUN);
        boolean rebuild = s.get(REBUILD_REFERENCE);
        Plan p = new Plan(work, s.isSet(REFERENCE) ? s.get(REFERENCE) : work + "/reference", rebuild,
                Options.extraction(s, RUN), needsLabeled(s) ? Options.Input.labeled(s, RUN) : null,
                Options.Input.pool(s, RUN),
                Options.source(s, true), Options.source(s, false), s.get(INPUT_PARTITION_COLUMN), Options.Reference.from(s, RUN),
                Options.Scoring.from(s), Options.Report.from(s), s.require(OUTPUT, RUN), Options.Labeling.from(s),
                Options.tables(s));
        return (spark, out) -> run(spark, p, out);
    }

    /** The labeled set may be left out only when an explicit reference is given and not to be rebuilt. */
    private static boolean needsLabeled(JobSettings s) {
        return s.isSet(LABELED_PATH) || s.isSet(LABELED_FORMAT) || !s.isSet(REFERENCE) || s.get(REBUILD_REFERENCE);
    }

    private static int run(SparkSession spark, Plan p, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        ModelMetadata meta = ModelCache.metadata(p.extraction().modelUri(), hc);
        SisomReference ref = reference(spark, p, out);
        ScoreStep.checkCompatible(ref, meta);

        List<String> units = p.partitionColumn() == null ? List.of("all")
                : isTable(p.pool().format()) ? tablePartitions(spark, p)
                : partitions(p.pool().path(), p.partitionColumn(), hc);
        List<String> fresh = extractNew(spark, p, units, out);

        // score everything extracted so far, atomically
        String[] featureDirs = units.stream().map(u -> p.work() + "/pool/" + u + "/features").toArray(String[]::new);
        String[] rejectionDirs = units.stream().map(u -> p.work() + "/pool/" + u + "/rejections").toArray(String[]::new);
        Dataset<Row> features = spark.read().parquet(featureDirs);
        List<Row> allRejections = spark.read().option("header", "true").csv(rejectionDirs)
                .groupBy("reason").agg(count("*").as("n")).orderBy(desc("n")).collectAsList();
        long rejectedTotal = allRejections.stream().mapToLong(r -> r.getLong(1)).sum();
        ScoreStep.Summary s = AtomicOutput.write(p.output(), hc, staged -> {
            ScoreStep.Summary sum = ScoreStep.into(spark, features, ref, p.scoring(), staged);
            Map<String, Object> j = sum.json();
            j.put("partitions", units);
            j.put("newPartitions", fresh);
            j.put("rejected", rejectedTotal);
            Map<String, Long> byReason = new TreeMap<>();
            allRejections.forEach(r -> byReason.put(r.getString(0), r.getLong(1)));
            j.put("rejectedByReason", byReason);
            JsonFiles.write(j, staged.staged("summary.json"), hc);
            // thumbnails and the labeling export come from the pool itself: its images are read once more, by id
            Dataset<Row> images = null;
            for (String unit : units) {
                Dataset<Row> u = unitInput(spark, p, unit).select(ImageSources.ID, ImageSources.IMAGE);
                images = images == null ? u : images.unionByName(u);
            }
            if (p.report().enabled()) {
                ScoreStep.writeReport(spark, p.report(), staged, images, j);
            }
            if (p.labeling().enabled()) {
                LabelingExport.writeStaged(spark, staged, p.output(), images, ref.classNames(), (String) j.get("score"),
                        p.labeling().imageUri(), out);
            }
            p.tables().write(spark, staged, out);
            return sum;
        });
        out.printf(Locale.ROOT, "sisom run: done in %.1f s; %d samples scored, %d rejected in total%n",
                (System.nanoTime() - t0) / 1e9, s.scored(), rejectedTotal);
        ScoreStep.print(out, s, p.output(), p.report());
        return 0;
    }

    /** The reference: read when it exists (and no rebuild is asked for), else built from the labeled set. */
    private static SisomReference reference(SparkSession spark, Plan p, PrintStream out) throws Exception {
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        FileSystem fs = new Path(p.referenceDir()).getFileSystem(hc);
        if (!p.rebuild() && fs.exists(new Path(p.referenceDir(), ReferenceIO.JSON))) {
            SisomReference ref = ReferenceIO.read(p.referenceDir(), hc);
            out.println("sisom run: reference " + p.referenceDir() + " (" + ref.set().size() + " points)");
            return ref;
        }
        if (p.labeled() == null) {
            throw new IllegalArgumentException("no reference artifact at " + p.referenceDir() + " (sisom.reference) and "
                    + "no labeled set to build one from: set sisom.labeled.path and sisom.labeled.format");
        }
        String labeledOut = p.work() + "/labeled";
        Dataset<Row> labeledInput = ImageSources.read(spark, p.labeled().format(), p.labeled().path(), p.labeledSource());
        AtomicOutput.write(labeledOut, hc, staged -> {
            ExtractStep.Counts lc = ExtractStep.into(spark, labeledInput, p.extraction(), staged, null);
            if (lc.rejected() > 0) {
                StringBuilder b = new StringBuilder();
                lc.reasons().forEach(r -> b.append("\n  ").append(r.getLong(1)).append(": ").append(r.getString(0)));
                throw new IllegalArgumentException(lc.rejected() + " labeled images could not be used (see "
                        + labeledOut + " after fixing); the reference would silently lose them:" + b);
            }
            return lc;
        });
        return BuildReferenceCommand.build(spark, p.reference(), labeledOut + "/features", p.referenceDir(), out);
    }

    /**
     * Extracts the units not extracted before (all of them without a partition column), each committed alone;
     * returns the ones it extracted.
     */
    private static List<String> extractNew(SparkSession spark, Plan p, List<String> units, PrintStream out) throws Exception {
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        List<String> fresh = new ArrayList<>();
        long newItems = 0;
        Map<String, Long> newRejections = new TreeMap<>();
        for (String unit : units) {
            Path done = new Path(p.work() + "/pool/" + unit, "_SUCCESS");
            if (p.partitionColumn() != null && done.getFileSystem(hc).exists(done)) {
                continue;
            }
            Dataset<Row> in = unitInput(spark, p, unit);
            ExtractStep.Counts c = AtomicOutput.write(p.work() + "/pool/" + unit, hc,
                    staged -> ExtractStep.into(spark, in, p.extraction(), staged, null));
            fresh.add(unit);
            newItems += c.scored() + c.rejected();
            c.reasons().forEach(r -> newRejections.merge(r.getString(0), r.getLong(1), Long::sum));
        }
        out.printf(Locale.ROOT, "sisom run: %d pool partition(s), %d new: %s (%d items)%n", units.size(), fresh.size(),
                fresh, newItems);
        newRejections.forEach((reason, n) -> out.printf(Locale.ROOT, "  rejected %d: %s%n", n, reason));
        return fresh;
    }

    /** One unit of the pool as extraction reads it: ids prefixed with the partition for image trees. */
    private static Dataset<Row> unitInput(SparkSession spark, Plan p, String unit) {
        String col = p.partitionColumn();
        if (col != null && isTable(p.pool().format())) {
            // a table's partitions are values of its column, not directories: the unit is a filter
            Dataset<Row> all = ImageSources.read(spark, p.pool().format(), p.pool().path(), p.source());
            return all.filter(all.col(col).cast("string").equalTo(unit.substring(unit.indexOf('=') + 1)));
        }
        String src = col == null ? p.pool().path() : p.pool().path() + "/" + unit;
        Dataset<Row> in = ImageSources.read(spark, p.pool().format(), src, p.source());
        if (col != null) {
            String value = unit.substring(unit.indexOf('=') + 1);
            if (p.pool().format().kind() == ImageSources.Format.IMAGES) {
                in = in.withColumn(ImageSources.ID, concat(lit(unit + "/"), in.col(ImageSources.ID)));
            }
            in = in.withColumn(col, lit(value));
        }
        return in;
    }

    /** Catalog tables and data sources such as Delta are read whole and partitioned by value, not by directory. */
    private static boolean isTable(ImageSources.SourceFormat f) {
        return f.kind() == ImageSources.Format.TABLE || f.kind() == ImageSources.Format.DATA_SOURCE;
    }

    /** The partition values of a table pool, as units {@code column=value}, sorted. */
    private static List<String> tablePartitions(SparkSession spark, Plan p) {
        String col = p.partitionColumn();
        Dataset<Row> all = ImageSources.read(spark, p.pool().format(), p.pool().path(), p.source());
        if (!java.util.Arrays.asList(all.columns()).contains(col)) {
            throw new IllegalArgumentException("the pool " + p.pool().path() + " has no partition column '" + col
                    + "' (sisom.input.partitionColumn); its columns: " + java.util.Arrays.toString(all.columns()));
        }
        List<String> out = new ArrayList<>();
        for (Row r : all.select(all.col(col).cast("string")).distinct().collectAsList()) {
            if (r.isNullAt(0)) {
                throw new IllegalArgumentException("the pool " + p.pool().path() + " has rows with a null '" + col + "'");
            }
            out.add(col + "=" + r.getString(0));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("the pool " + p.pool().path() + " is empty");
        }
        out.sort(null);
        return out;
    }

    /** The pool's Hive-style partition directories, sorted. */
    private static List<String> partitions(String root, String column, Configuration hc) throws IOException {
        Path p = new Path(root);
        FileSystem fs = p.getFileSystem(hc);
        List<String> out = new ArrayList<>();
        for (FileStatus st : fs.listStatus(p)) {
            String n = st.getPath().getName();
            if (st.isDirectory() && n.startsWith(column + "=")) {
                out.add(n);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no partition directories " + column + "=... under " + root);
        }
        out.sort(null);
        return out;
    }
}

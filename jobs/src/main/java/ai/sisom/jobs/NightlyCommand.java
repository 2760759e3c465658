package ai.sisom.jobs;

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

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

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
final class NightlyCommand {
    private NightlyCommand() {}

    static List<String> keys() {
        return List.of("sisom.work", "sisom.labeled.path", "sisom.labeled.format", "sisom.input.partitionColumn",
                "sisom.rebuildReference");
    }

    static int run(SparkSession spark, JobConfig cfg, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        String work = cfg.get("sisom.work");
        FeatureExtraction.Settings extraction = SisomJob.extractionSettings(cfg);
        ModelMetadata meta = ModelCache.metadata(extraction.modelUri(), hc);

        // 1. reference
        String refDir = cfg.get("sisom.reference", work + "/reference");
        FileSystem fs = new Path(refDir).getFileSystem(hc);
        boolean rebuild = cfg.getBoolean("sisom.rebuildReference", false);
        SisomReference ref;
        if (!rebuild && fs.exists(new Path(refDir, ReferenceIO.JSON))) {
            ref = ReferenceIO.read(refDir, hc);
            out.println("sisom run: reference " + refDir + " (" + ref.set().size() + " points)");
        } else {
            String labeledOut = work + "/labeled";
            AtomicOutput lo = new AtomicOutput(labeledOut, hc);
            ImageSources.Options o = SisomJob.sourceOptions(cfg);
            o.labeled = true;
            Dataset<Row> labeledInput = ImageSources.read(spark, ImageSources.Format.parse(cfg.get("sisom.labeled.format")),
                    cfg.get("sisom.labeled.path"), o);
            SisomJob.ExtractCounts lc;
            try {
                lc = SisomJob.extractInto(spark, labeledInput, extraction, lo);
                if (lc.rejected() > 0) {
                    StringBuilder b = new StringBuilder();
                    lc.reasons().forEach(r -> b.append("\n  ").append(r.getLong(1)).append(": ").append(r.getString(0)));
                    throw new IllegalArgumentException(lc.rejected() + " labeled images could not be used (see "
                            + labeledOut + " after fixing); the reference would silently lose them:" + b);
                }
                lo.commit();
            } catch (Exception | Error e) {
                lo.abort();
                throw e;
            }
            JobConfig refCfg = cfg.with("sisom.labeled.features", labeledOut + "/features").with("sisom.reference", refDir);
            ScoringCommands.buildReference(spark, refCfg, out);
            ref = ReferenceIO.read(refDir, hc);
        }
        ScoringCommands.checkCompatible(ref, meta);

        // 2. new pool partitions
        String poolIn = cfg.get("sisom.input.path");
        String partCol = cfg.get("sisom.input.partitionColumn", null);
        ImageSources.Format format = ImageSources.Format.parse(cfg.get("sisom.input.format"));
        List<String> units = partCol == null ? List.of("all") : partitions(poolIn, partCol, hc);
        List<String> fresh = new ArrayList<>();
        long newItems = 0;
        Map<String, Long> newRejections = new TreeMap<>();
        for (String unit : units) {
            Path done = new Path(work + "/pool/" + unit, "_SUCCESS");
            if (partCol != null && done.getFileSystem(hc).exists(done)) {
                continue;
            }
            Dataset<Row> in = unitInput(spark, cfg, format, poolIn, partCol, unit);
            AtomicOutput po = new AtomicOutput(work + "/pool/" + unit, hc);
            try {
                SisomJob.ExtractCounts c = SisomJob.extractInto(spark, in, extraction, po);
                po.commit();
                fresh.add(unit);
                newItems += c.scored() + c.rejected();
                c.reasons().forEach(r -> newRejections.merge(r.getString(0), r.getLong(1), Long::sum));
            } catch (Exception | Error e) {
                po.abort();
                throw e;
            }
        }
        out.printf(Locale.ROOT, "sisom run: %d pool partition(s), %d new: %s (%d items)%n", units.size(), fresh.size(),
                fresh, newItems);
        newRejections.forEach((reason, n) -> out.printf(Locale.ROOT, "  rejected %d: %s%n", n, reason));

        // 3. score everything extracted so far, atomically
        String[] featureDirs = units.stream().map(u -> work + "/pool/" + u + "/features").toArray(String[]::new);
        String[] rejectionDirs = units.stream().map(u -> work + "/pool/" + u + "/rejections").toArray(String[]::new);
        Dataset<Row> features = spark.read().parquet(featureDirs);
        List<Row> allRejections = spark.read().option("header", "true").csv(rejectionDirs)
                .groupBy("reason").agg(count("*").as("n")).orderBy(desc("n")).collectAsList();
        AtomicOutput output = new AtomicOutput(cfg.get("sisom.output"), hc);
        try {
            ScoringCommands.ScoreSummary s = ScoringCommands.scoreInto(spark, features, ref, cfg, output);
            Map<String, Object> j = s.json();
            j.put("partitions", units);
            j.put("newPartitions", fresh);
            long rejectedTotal = allRejections.stream().mapToLong(r -> r.getLong(1)).sum();
            j.put("rejected", rejectedTotal);
            Map<String, Long> byReason = new TreeMap<>();
            allRejections.forEach(r -> byReason.put(r.getString(0), r.getLong(1)));
            j.put("rejectedByReason", byReason);
            ScoringCommands.writeJson(j, output.staged("summary.json"), hc);
            if (ScoringCommands.reportWanted(cfg)) {
                // thumbnails come from the pool itself: its images are read once more, filtered by id
                Dataset<Row> images = null;
                for (String unit : units) {
                    Dataset<Row> u = unitInput(spark, cfg, format, poolIn, partCol, unit).select(ImageSources.ID,
                            ImageSources.IMAGE);
                    images = images == null ? u : images.unionByName(u);
                }
                ScoringCommands.writeReport(spark, cfg, output, images, j);
            }
            output.commit();
            out.printf(Locale.ROOT, "sisom run: done in %.1f s; %d samples scored, %d rejected in total%n",
                    (System.nanoTime() - t0) / 1e9, s.scored(), rejectedTotal);
            ScoringCommands.printScoreSummary(out, s, cfg.get("sisom.output"));
            if (ScoringCommands.reportWanted(cfg)) {
                out.println("  report: " + cfg.get("sisom.output") + "/report.html");
            }
            return 0;
        } catch (Exception | Error e) {
            output.abort();
            throw e;
        }
    }

    /** One unit of the pool as extraction reads it: ids prefixed with the partition for image trees. */
    static Dataset<Row> unitInput(SparkSession spark, JobConfig cfg, ImageSources.Format format, String poolIn,
                                  String partCol, String unit) {
        String src = partCol == null ? poolIn : poolIn + "/" + unit;
        Dataset<Row> in = ImageSources.read(spark, format, src, SisomJob.sourceOptions(cfg));
        if (partCol != null) {
            String value = unit.substring(unit.indexOf('=') + 1);
            if (format == ImageSources.Format.IMAGES) {
                in = in.withColumn(ImageSources.ID, concat(lit(unit + "/"), in.col(ImageSources.ID)));
            }
            in = in.withColumn(partCol, lit(value));
        }
        return in;
    }

    /** The pool's Hive-style partition directories, sorted. */
    static List<String> partitions(String root, String column, Configuration hc) throws java.io.IOException {
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

package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.JsonFiles;
import ai.sisom.jobs.output.LabelingExport;
import ai.sisom.jobs.output.OutputTables;
import ai.sisom.jobs.output.RunLock;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.jobs.settings.Options;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * The nightly run, one command: (1) the reference, built from the labeled set, rebuilt when what it was built from
 * changed (model, labeled set, settings); (2) feature extraction for the pool units whose content is not extracted
 * yet, each unit committed on its own; (3) scoring of every unit and the selection, written atomically; (4) a
 * printed summary. One run at a time holds the work and output directories ({@link RunLock}).
 *
 * <p>Working state lives under {@code sisom.work}: {@code labeled/}, {@code reference/} and
 * {@code pool/<column>=<value>/}. With {@code sisom.input.partitionColumn} set, the pool is a set of Hive-style
 * directories {@code <column>=<value>}, each a unit; without it, the whole pool is one unit. A unit is done when
 * its features were extracted from exactly the files it holds now (their names, sizes and modification times) with
 * exactly the model configured now; a new, changed or re-modelled unit is extracted (again); an empty unit is left
 * for a later run and never recorded as done.
 */
final class RunCommand implements Command {
    /** The file in each extracted unit that records what it was extracted from. */
    static final String SOURCE = "source.json";

    @Override
    public String name() { return RUN; }

    @Override
    public String summary() {
        return "the nightly run: reference (built once), new pool partitions, scores, selection, summary";
    }

    /** Everything the run reads from the settings. */
    private record Plan(String work, String referenceDir, boolean rebuild, FeatureExtraction.Settings extraction,
                        Options.Input labeled, Options.Input pool, ImageSources.Options labeledSource,
                        ImageSources.Options source, String partitionColumn, Options.Reference reference,
                        Options.Scoring scoring, Options.Report report, String output, Duration lockStale,
                        Options.Labeling labeling, OutputTables tables) {}

    @Override
    public Job prepare(JobSettings s) {
        String work = s.require(WORK, RUN);
        boolean rebuild = s.get(REBUILD_REFERENCE);
        Plan p = new Plan(work, s.isSet(REFERENCE) ? s.get(REFERENCE) : work + "/reference", rebuild,
                Options.extraction(s, RUN), needsLabeled(s) ? Options.Input.labeled(s, RUN) : null,
                Options.Input.pool(s, RUN), Options.source(s, true), Options.source(s, false),
                s.get(INPUT_PARTITION_COLUMN), Options.Reference.from(s, RUN), Options.Scoring.from(s),
                Options.Report.from(s), s.require(OUTPUT, RUN), Duration.ofMinutes(s.get(LOCK_STALE_MINUTES)),
                Options.Labeling.from(s), OutputTables.from(s));
        return (spark, out) -> {
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            try (RunLock w = RunLock.acquire(RunLock.onDirectory(p.work()), p.lockStale(), hc, out);
                 RunLock o = RunLock.acquire(RunLock.beside(p.output()), p.lockStale(), hc, out)) {
                return run(spark, p, out);
            }
        };
    }

    /** The labeled set may be left out only when an explicit reference is given and not to be rebuilt. */
    private static boolean needsLabeled(JobSettings s) {
        return s.isSet(LABELED_PATH) || s.isSet(LABELED_FORMAT) || !s.isSet(REFERENCE) || s.get(REBUILD_REFERENCE);
    }

    private static int run(SparkSession spark, Plan p, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        ModelMetadata meta = ExtractStep.checkModel(p.extraction().modelUri(), hc);
        // settings that name classes are checked against the model before anything is extracted
        p.reference().checkAgainst(meta.classNames());
        p.scoring().checkAgainst(meta.classNames());
        String modelPrint = Fingerprints.model(p.extraction().modelUri(), hc);
        SisomReference ref = reference(spark, p, modelPrint, out);
        ScoreStep.checkCompatible(ref, meta);

        List<Unit> units = units(spark, p, hc);
        List<String> fresh = extractNew(spark, p, units, modelPrint, out);
        List<Unit> scored = units.stream().filter(u -> !u.listing().empty()).toList();
        if (scored.isEmpty()) {
            throw new IllegalArgumentException("the pool " + p.pool().path() + " holds no files"
                    + (p.partitionColumn() == null ? "" : " in any of its " + units.size() + " partition(s)")
                    + ": nothing to score; the previous result in " + p.output() + " is kept");
        }

        // score everything extracted so far, atomically
        Dataset<Row> features = null;
        for (int i = 0; i < scored.size(); i++) {
            Dataset<Row> f = spark.read().parquet(p.work() + "/pool/" + scored.get(i).name() + "/features")
                    .withColumn(ScoreStep.UNIT, lit(scored.get(i).name())).withColumn(ScoreStep.UNIT_ORDER, lit(i));
            features = features == null ? f : features.unionByName(f, true);
        }
        String[] rejectionDirs = scored.stream().map(u -> p.work() + "/pool/" + u.name() + "/rejections")
                .toArray(String[]::new);
        List<Row> allRejections = spark.read().option("header", "true").csv(rejectionDirs)
                .groupBy("reason").agg(count("*").as("n")).orderBy(desc("n")).collectAsList();
        long rejectedTotal = allRejections.stream().mapToLong(r -> r.getLong(1)).sum();
        ScoreStep.Summary s;
        try (ScoreStep.Deduplicated dedup = ScoreStep.deduplicate(features)) {
            s = AtomicOutput.write(p.output(), hc, staged -> {
                ScoreStep.Summary sum = ScoreStep.into(spark, dedup.unique(), ref, p.scoring(), staged);
                Map<String, Object> j = sum.json();
                j.put("partitions", units.stream().map(Unit::name).toList());
                j.put("newPartitions", fresh);
                j.put("emptyPartitions", units.stream().filter(u -> u.listing().empty()).map(Unit::name).toList());
                j.put("rejected", rejectedTotal);
                Map<String, Long> byReason = new TreeMap<>();
                allRejections.forEach(r -> byReason.put(r.getString(0), r.getLong(1)));
                j.put("rejectedByReason", byReason);
                ScoreStep.writeDuplicates(dedup, staged, j);
                JsonFiles.write(j, staged.staged("summary.json"), hc);
                // thumbnails and the labeling export come from the pool itself: its images are read once more, by id
                Dataset<Row> images = null;
                for (Unit unit : scored) {
                    Dataset<Row> u = unitInput(spark, p, unit.name()).select(ImageSources.ID, ImageSources.IMAGE);
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
        }
        out.printf(Locale.ROOT, "sisom run: done in %.1f s; %d samples scored, %d rejected in total%n",
                (System.nanoTime() - t0) / 1e9, s.scored(), rejectedTotal);
        ScoreStep.printDuplicates(out, s.json());
        ScoreStep.print(out, s, p.output(), p.report());
        return 0;
    }

    /** What a reference built now would be built from; a stored reference that differs is stale. */
    private static Map<String, String> builtFrom(Plan p, String modelPrint, Configuration hc) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", modelPrint);
        if (p.labeled() != null) {
            Fingerprints.Listing l = isTable(p.labeled().format()) ? null : Fingerprints.listing(p.labeled().path(),
                    p.labeled().format().kind() != ImageSources.Format.IMAGES, hc);
            // a catalog table or data source is named, not listed: its content is not fingerprinted
            m.put("labeledSet", p.labeled().format() + " " + p.labeled().path()
                    + (l == null ? "" : " " + l.files() + " files " + l.digest()));
            m.put("labelColumn", p.labeledSource().labelColumn);
        }
        m.putAll(p.reference().describe());
        // a reference of an older format lacks what newer scorers need (format 3: the post-hoc scorers)
        m.put("referenceFormat", Integer.toString(ai.sisom.reference.SisomReference.FORMAT_VERSION));
        return m;
    }

    /**
     * The reference: the stored one when it was built from what the settings name now; otherwise (or when asked)
     * built again from the labeled set. Without a labeled set, a stale reference is refused.
     */
    private static SisomReference reference(SparkSession spark, Plan p, String modelPrint, PrintStream out)
            throws Exception {
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        FileSystem fs = new Path(p.referenceDir()).getFileSystem(hc);
        Map<String, String> want = builtFrom(p, modelPrint, hc);
        if (!p.rebuild() && fs.exists(new Path(p.referenceDir(), ReferenceIO.JSON))) {
            SisomReference ref = ReferenceIO.read(p.referenceDir(), hc);
            List<String> changed = changes(ref.builtFrom(), want, p.labeled() != null);
            if (changed.isEmpty()) {
                out.println("sisom run: reference " + p.referenceDir() + " (" + ref.set().size() + " points)");
                var asked = p.reference().ood().requested();
                if (ref.ood() != null && !ref.ood().requested().equals(asked)) {
                    out.println("  note: its OOD threshold was chosen with " + ref.ood().requested() + ", the "
                            + "settings say " + asked + "; give the labeled set to recalibrate");
                }
                return ref;
            }
            if (p.labeled() == null) {
                throw new IllegalArgumentException("the reference " + p.referenceDir() + " is stale: "
                        + String.join("; ", changed) + ". Give the labeled set (sisom.labeled.path, "
                        + "sisom.labeled.format) to rebuild it, or set back what it was built from");
            }
            out.println("sisom run: rebuilding the reference: " + String.join("; ", changed));
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
                lc.examples().forEach(r -> b.append("\n  ").append(r.getString(0)).append(": ").append(r.getString(1)));
                throw new IllegalArgumentException(lc.rejected() + " labeled images in " + p.labeled().path()
                        + " could not be used, so the reference would silently lose them; fix or remove them"
                        + (lc.rejected() > lc.examples().size() ? " (the first " + lc.examples().size() + " shown)" : "")
                        + ":" + b);
            }
            return lc;
        });
        return BuildReferenceCommand.build(spark, p.reference(), labeledOut + "/features", p.referenceDir(), want, out);
    }

    /** Human-readable differences between what a reference was built from and what it would be built from now. */
    static List<String> changes(Map<String, String> had, Map<String, String> want, boolean labeledGiven) {
        List<String> out = new ArrayList<>();
        if (had == null) {
            out.add("it does not record what it was built from (made by an older version)");
            return out;
        }
        for (Map.Entry<String, String> e : want.entrySet()) {
            if (!labeledGiven && NEEDS_LABELED.contains(e.getKey())) {
                continue;
            }
            String before = had.get(e.getKey());
            if (!e.getValue().equals(before)) {
                out.add(e.getKey() + " was " + (before == null ? "not recorded" : "'" + before + "'") + ", now '"
                        + e.getValue() + "'");
            }
        }
        return out;
    }

    /**
     * What only the labeled set can change: without it these differences are not staleness (the threshold cannot
     * be recalibrated, and a fixed one given now still applies).
     */
    private static final java.util.Set<String> NEEDS_LABELED = java.util.Set.of("labeledSet", "labelColumn",
            "unknownLabels", "oodThreshold", "referenceFormat");

    /** One unit of the pool: a partition directory (or the whole pool) and its current listing. */
    record Unit(String name, Fingerprints.Listing listing) {}

    private static List<Unit> units(SparkSession spark, Plan p, Configuration hc) throws IOException {
        if (isTable(p.pool().format())) {
            return tableUnits(spark, p);
        }
        boolean dataOnly = p.pool().format().kind() != ImageSources.Format.IMAGES;
        List<Unit> units = new ArrayList<>();
        if (p.partitionColumn() == null) {
            units.add(new Unit("all", Fingerprints.listing(p.pool().path(), dataOnly, hc)));
        } else {
            for (String name : partitions(p.pool().path(), p.partitionColumn(), hc)) {
                units.add(new Unit(name, Fingerprints.listing(p.pool().path() + "/" + name, dataOnly, hc)));
            }
        }
        return units;
    }

    /**
     * Extracts the units whose recorded source differs from what they hold now (each committed alone); returns
     * the ones it extracted.
     */
    private static List<String> extractNew(SparkSession spark, Plan p, List<Unit> units, String modelPrint,
                                           PrintStream out) throws Exception {
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        List<String> fresh = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        List<String> empty = new ArrayList<>();
        long newItems = 0;
        long reused = 0;
        Map<String, Long> newRejections = new TreeMap<>();
        for (Unit unit : units) {
            String dir = p.work() + "/pool/" + unit.name();
            Map<String, String> source = source(unit, modelPrint);
            Map<String, String> recorded = recordedSource(dir, hc);
            if (unit.listing().empty()) {
                empty.add(unit.name());
                continue;
            }
            if (source.equals(recorded)) {
                continue;
            }
            if (recorded != null) {
                changed.add(unit.name() + (modelPrint.equals(recorded.get("model")) ? " (its files changed)"
                        : " (the model changed)"));
            }
            Dataset<Row> in = unitInput(spark, p, unit.name());
            Dataset<Row> known = previousFeatures(spark, dir, recorded, modelPrint);
            ExtractStep.Counts c = AtomicOutput.write(dir, hc, staged -> {
                ExtractStep.Counts counts = ExtractStep.into(spark, in, p.extraction(), staged, null, known);
                JsonFiles.write(new LinkedHashMap<>(source), staged.staged(SOURCE), hc);
                return counts;
            });
            fresh.add(unit.name());
            newItems += c.scored() + c.rejected();
            reused += c.reused();
            c.reasons().forEach(r -> newRejections.merge(r.getString(0), r.getLong(1), Long::sum));
        }
        out.printf(Locale.ROOT, "sisom run: %d pool partition(s), %d new: %s (%d items)%n", units.size(), fresh.size(),
                fresh, newItems);
        if (!changed.isEmpty()) {
            out.println("  extracted again: " + String.join(", ", changed));
        }
        if (reused > 0) {
            out.printf(Locale.ROOT, "  %d images extracted before with this model (same bytes) kept their features "
                    + "without a network pass%n", reused);
        }
        if (!empty.isEmpty()) {
            out.println("  empty, left for a later run: " + empty);
        }
        newRejections.forEach((reason, n) -> out.printf(Locale.ROOT, "  rejected %d: %s%n", n, reason));
        return fresh;
    }

    /**
     * The features this unit's previous extraction made with this model, for the images it still holds (by content
     * hash): a file added to a partition then costs one network pass, not the partition's. Null when there are none.
     */
    private static Dataset<Row> previousFeatures(SparkSession spark, String dir, Map<String, String> recorded,
                                                 String modelPrint) {
        if (recorded == null || !modelPrint.equals(recorded.get("model"))) {
            return null;
        }
        Dataset<Row> f = spark.read().parquet(dir + "/features");
        return java.util.Arrays.asList(f.columns()).contains(ai.sisom.spark.FeatureTable.CONTENT_HASH) ? f : null;
    }

    private static Map<String, String> source(Unit unit, String modelPrint) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("files", Integer.toString(unit.listing().files()));
        m.put("bytes", Long.toString(unit.listing().bytes()));
        m.put("listing", unit.listing().digest());
        m.put("model", modelPrint);
        return m;
    }

    /** What a unit was extracted from, or null when it was not (completely) extracted. */
    private static Map<String, String> recordedSource(String dir, Configuration hc) throws IOException {
        Path done = new Path(dir, "_SUCCESS");
        Path source = new Path(dir, SOURCE);
        FileSystem fs = done.getFileSystem(hc);
        if (!fs.exists(done) || !fs.exists(source)) {
            return null;
        }
        Map<String, String> m = new LinkedHashMap<>();
        JsonFiles.read(source.toString(), hc).forEach((k, v) -> m.put(k, String.valueOf(v)));
        return m;
    }

    /** One unit of the pool as extraction reads it: ids prefixed with the partition for image trees. */
    private static Dataset<Row> unitInput(SparkSession spark, Plan p, String unit) {
        String col = p.partitionColumn();
        if (isTable(p.pool().format())) {
            // a table's partitions are values of its column, not directories: the unit is a filter
            Dataset<Row> all = ImageSources.read(spark, p.pool().format(), p.pool().path(), p.source());
            return col == null ? all : all.filter(all.col(col).cast("string").equalTo(unit.substring(unit.indexOf('=') + 1)));
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

    /**
     * The units of a table pool: one per value of the partition column (or the whole table), each fingerprinted by
     * its row count and the hash of its ids (a table has no file listing to compare: a partition is done when its
     * set of ids is unchanged).
     */
    private static List<Unit> tableUnits(SparkSession spark, Plan p) {
        String col = p.partitionColumn();
        Dataset<Row> all = ImageSources.read(spark, p.pool().format(), p.pool().path(), p.source());
        if (col != null && !java.util.Arrays.asList(all.columns()).contains(col)) {
            throw new IllegalArgumentException("the pool " + p.pool().path() + " has no partition column '" + col
                    + "' (sisom.input.partitionColumn); its columns: " + java.util.Arrays.toString(all.columns()));
        }
        org.apache.spark.sql.Column key = col == null ? lit("all") : all.col(col).cast("string");
        List<Unit> out = new ArrayList<>();
        for (Row r : all.groupBy(key.as("_unit")).agg(count("*"), org.apache.spark.sql.functions.sum(
                // a decimal sum: a long one overflows under ANSI mode
                org.apache.spark.sql.functions.xxhash64(all.col(ImageSources.ID)).cast("decimal(38,0)")).cast("string")).collectAsList()) {
            if (r.isNullAt(0)) {
                throw new IllegalArgumentException("the pool " + p.pool().path() + " has rows with a null '" + col + "'");
            }
            String name = col == null ? "all" : col + "=" + r.getString(0);
            int rows = (int) r.getLong(1);
            out.add(new Unit(name, new Fingerprints.Listing(rows, 0, "ids:" + rows + ":" + r.getString(2))));
        }
        if (out.isEmpty()) {
            out.add(new Unit("all", new Fingerprints.Listing(0, 0, "ids:0")));
        }
        out.sort(java.util.Comparator.comparing(Unit::name));
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

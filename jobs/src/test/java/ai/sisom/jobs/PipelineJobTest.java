package ai.sisom.jobs;

import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ReferenceIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static ai.sisom.jobs.JobTests.runJob;
import static org.junit.jupiter.api.Assertions.*;

/** build-reference, score and the nightly run end to end on the bundled samples, Spark local mode. */
class PipelineJobTest {
    private static SparkSession spark;
    private static Path root;
    private static Path shared;
    private static String labeledFeatures;
    private static String poolFeatures;

    @BeforeAll
    static void start() throws Exception {
        root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-pipeline-test");
        shared = Files.createTempDirectory("sisom-pipeline");
        labeledFeatures = shared.resolve("labeled").toString();
        poolFeatures = shared.resolve("pool").toString();
        runJob("extract", "--set", "sisom.model=" + model(), "--set", "sisom.input.path="
                        + root.resolve("data-samples/labeled/parquet/data"), "--set", "sisom.input.format=parquet",
                "--set", "sisom.input.labeled=true", "--set", "sisom.output=" + labeledFeatures);
        runJob("extract", "--set", "sisom.model=" + model(), "--set", "sisom.input.path="
                        + root.resolve("data-samples/pool/parquet/data"), "--set", "sisom.input.format=parquet",
                "--set", "sisom.output=" + poolFeatures);
    }

    @AfterAll
    static void stop() throws Exception {
        spark.stop();
        JobTests.deleteTree(shared);
    }

    @TempDir
    Path tmp;

    static String model() {
        return root.resolve("data-samples/model/fmnist_resnet18w16.pt").toString();
    }

    static final String STEEP = "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50";

    private String buildReference(String dOut, String... more) throws Exception {
        String ref = tmp.resolve("ref-" + dOut).toString();
        List<String> a = new ArrayList<>(List.of("build-reference", "--set", "sisom.labeled.features=" + labeledFeatures
                + "/features", "--set", "sisom.reference=" + ref, "--set", STEEP, "--set", "sisom.dOut=" + dOut));
        for (String m : more) {
            a.add("--set");
            a.add(m);
        }
        runJob(a.toArray(new String[0]));
        return ref;
    }

    @Test
    void sparkScoresEqualTheLibraryScorerForBothVariants() throws Exception {
        for (String variant : List.of("sample", "anchor")) {
            String ref = buildReference(variant);
            String out = tmp.resolve("scores-" + variant).toString();
            String summary = runJob("score", "--set", "sisom.reference=" + ref, "--set", "sisom.pool.features="
                    + poolFeatures + "/features", "--set", "sisom.output=" + out, "--set", "sisom.q=7");
            assertTrue(summary.contains("scored 1000 samples"), summary);
            SisomReference r = ReferenceIO.read(ref, spark.sparkContext().hadoopConfiguration());
            SisomScorer scorer = new SisomScorer(r, new Fusion(Fusion.Score.SISOME, null));
            Map<String, Row> scores = new HashMap<>();
            spark.read().parquet(out + "/scores").collectAsList().forEach(x -> scores.put(x.getString(0), x));
            assertEquals(1000, scores.size());
            int checked = 0;
            for (Row f : spark.read().parquet(poolFeatures + "/features").limit(50).collectAsList()) {
                SisomScorer.Scored want = scorer.score(FeatureTable.floats(f, f.fieldIndex("u")),
                        f.getInt(f.fieldIndex("pseudo_class")), f.getDouble(f.fieldIndex("energy")));
                Row got = scores.get(f.getString(f.fieldIndex("id")));
                assertEquals(want.r(), got.getDouble(got.fieldIndex("r")), 0);
                assertEquals(want.score(), got.getDouble(got.fieldIndex("score")), 0);
                assertEquals(want.nearestInId(), got.getString(got.fieldIndex("nearest_in_id")));
                assertEquals(want.nearestOutId(), got.getString(got.fieldIndex("nearest_out_id")));
                checked++;
            }
            assertEquals(50, checked);
            List<Row> sel = spark.read().parquet(out + "/selection").orderBy("rank").collectAsList();
            assertEquals(7, sel.size());
            // the queue is gated: the ranking runs over the samples the OOD threshold did not flag
            List<Row> sorted = new ArrayList<>(scores.values().stream()
                    .filter(x -> !x.getBoolean(x.fieldIndex("ood_flag"))).toList());
            assertTrue(sorted.size() < 1000, "the threshold flags some of the pool");
            sorted.sort((a, b) -> {
                int c = Double.compare(b.getDouble(b.fieldIndex("score")), a.getDouble(a.fieldIndex("score")));
                return c != 0 ? c : a.getString(0).compareTo(b.getString(0));
            });
            for (int i = 0; i < 7; i++) {
                assertEquals(sorted.get(i).getString(0), sel.get(i).getString(0), "rank " + (i + 1));
            }
        }
    }

    @Test
    void greedySelectionWithSubsetAndSteepnessSearchRunsEndToEnd() throws Exception {
        String ref = buildReference("sample", "sisom.subset.delta=3.0", "sisom.subset.size=200",
                "sisom.steepness=layer1:0.05|1,layer2:1,layer3:10|100,avgpool:50");
        SisomReference r = ReferenceIO.read(ref, spark.sparkContext().hadoopConfiguration());
        assertTrue(r.set().size() <= 200 && r.set().size() >= 10, "subset size " + r.set().size());
        assertEquals(500, r.stats().n(), "r_avg is over every labeled sample");
        assertNotNull(r.provenance().get("steepnessSearch"));
        String out = tmp.resolve("greedy").toString();
        String summary = runJob("score", "--set", "sisom.reference=" + ref, "--set", "sisom.pool.features=" + poolFeatures
                + "/features", "--set", "sisom.output=" + out, "--set", "sisom.q=10", "--set", "sisom.selection=greedy",
                "--set", "sisom.greedy.candidateFactor=5");
        assertTrue(summary.contains("queue gated: 10 selected (greedy"), summary);
        List<Row> sel = spark.read().parquet(out + "/selection").orderBy("rank").collectAsList();
        assertEquals(10, sel.size());
        assertEquals(1, sel.get(0).getInt(sel.get(0).fieldIndex("rank")));
    }

    @Test
    void unknownLabelsAreAnErrorNamingTheSamples() throws Exception {
        Path bad = tmp.resolve("badlabels");
        spark.read().parquet(labeledFeatures + "/features")
                .withColumn("label", org.apache.spark.sql.functions.when(
                        org.apache.spark.sql.functions.col("id").equalTo("train-00026"),
                        org.apache.spark.sql.functions.lit("hat")).otherwise(org.apache.spark.sql.functions.col("label")))
                .write().parquet(bad.resolve("features").toString());
        Files.copy(Paths.get(labeledFeatures, "model.json"), bad.resolve("model.json"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SisomJob.run(new String[]{
                "build-reference", "--set", "sisom.labeled.features=" + bad.resolve("features"), "--set",
                "sisom.reference=" + tmp.resolve("r"), "--set", STEEP}, System.out));
        assertTrue(e.getMessage().contains("train-00026") && e.getMessage().contains("'hat'"), e.getMessage());
    }

    @Test
    void aLabeledSetWhoseLabelColumnHasAnotherNameBuildsTheSameReference() throws Exception {
        // the labeled Parquet with its label column called "cls": sisom.input.labelColumn names it
        Path renamed = tmp.resolve("labeled-cls");
        spark.read().parquet(root.resolve("data-samples/labeled/parquet/data").toString())
                .withColumnRenamed("label", "cls").write().parquet(renamed.toString());
        List<String> common = List.of("--set", "sisom.model=" + model(), "--set", "sisom.labeled.format=parquet",
                "--set", "sisom.input.path=" + root.resolve("data-samples/pool/parquet/data"), "--set",
                "sisom.input.format=parquet", "--set", STEEP, "--set", "sisom.q=5", "--set", "sisom.report=false");
        List<String> a = new ArrayList<>(List.of("run", "--set", "sisom.labeled.path=" + renamed, "--set",
                "sisom.input.labelColumn=cls", "--set", "sisom.work=" + tmp.resolve("w1"), "--set",
                "sisom.output=" + tmp.resolve("o1")));
        a.addAll(common);
        List<String> b = new ArrayList<>(List.of("run", "--set", "sisom.labeled.path="
                + root.resolve("data-samples/labeled/parquet/data"), "--set", "sisom.work=" + tmp.resolve("w2"),
                "--set", "sisom.output=" + tmp.resolve("o2")));
        b.addAll(common);
        String out = runJob(a.toArray(new String[0]));
        assertTrue(out.contains("500 labeled samples"), out);
        runJob(b.toArray(new String[0]));
        // the same reference; only what it records about its source (label column, labeled set) differs
        assertEquals(withoutBuiltFrom(tmp.resolve("w2/reference/reference.json")),
                withoutBuiltFrom(tmp.resolve("w1/reference/reference.json")));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("w2/reference/points.bin")),
                Files.readAllBytes(tmp.resolve("w1/reference/points.bin")));
        assertEquals(spark.read().parquet(tmp.resolve("o2/selection").toString()).select("id").collectAsList(),
                spark.read().parquet(tmp.resolve("o1/selection").toString()).select("id").collectAsList());
    }

    @Test
    void steepnessMustNameEveryLayer() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SisomJob.run(new String[]{
                "build-reference", "--set", "sisom.labeled.features=" + labeledFeatures + "/features", "--set",
                "sisom.reference=" + tmp.resolve("r"), "--set", "sisom.steepness=layer1:1,layer2:1"}, System.out));
        assertTrue(e.getMessage().contains("layer3"), e.getMessage());
    }

    @Test
    void theNightlyRunExtractsOnlyNewPartitionsAndReplacesResultsWhole() throws Exception {
        Path pool = tmp.resolve("lake");
        List<Path> images;
        try (Stream<Path> s = Files.list(root.resolve("data-samples/pool/images"))) {
            images = s.sorted().limit(30).toList();
        }
        Files.createDirectories(pool.resolve("date=2026-11-21"));
        for (Path p : images.subList(0, 20)) {
            Files.copy(p, pool.resolve("date=2026-11-21").resolve(p.getFileName()));
        }
        Files.write(pool.resolve("date=2026-11-21/corrupt.png"), new byte[]{1, 2, 3});
        String[] args = {"run", "--set", "sisom.model=" + model(), "--set", "sisom.labeled.path="
                + root.resolve("data-samples/labeled/parquet/data"), "--set", "sisom.labeled.format=parquet",
                "--set", "sisom.input.path=" + pool, "--set", "sisom.input.format=images",
                "--set", "sisom.input.partitionColumn=date", "--set", "sisom.work=" + tmp.resolve("work"),
                "--set", "sisom.output=" + tmp.resolve("results"), "--set", STEEP, "--set", "sisom.q=5"};
        String first = runJob(args);
        assertTrue(first.contains("1 new: [date=2026-11-21] (21 items)"), first);
        assertTrue(first.contains("rejected 1: not a readable image"), first);
        assertTrue(first.contains("20 samples scored, 1 rejected in total"), first);

        Files.createDirectories(pool.resolve("date=2026-11-22"));
        for (Path p : images.subList(20, 30)) {
            Files.copy(p, pool.resolve("date=2026-11-22").resolve(p.getFileName()));
        }
        String second = runJob(args);
        assertTrue(second.contains("2 pool partition(s), 1 new: [date=2026-11-22] (10 items)"), second);
        assertTrue(second.contains("30 samples scored, 1 rejected in total"), second);
        List<Row> scores = spark.read().parquet(tmp.resolve("results/scores").toString()).collectAsList();
        assertEquals(30, scores.size());
        assertTrue(scores.stream().anyMatch(r -> r.getString(0).startsWith("date=2026-11-22/")), "ids keep the partition");
        assertTrue(scores.stream().allMatch(r -> r.getString(r.fieldIndex("date")) != null), "partition column kept");
        String third = runJob(args);
        assertTrue(third.contains("0 new"), third);
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".results.")), "no staging left");
        }
    }

    private static String withoutBuiltFrom(Path json) throws Exception {
        com.google.gson.JsonObject o = ai.djl.util.JsonUtils.GSON.fromJson(Files.readString(json),
                com.google.gson.JsonObject.class);
        assertNotNull(o.remove("builtFrom"), "the reference records what it was built from");
        return o.toString();
    }
}

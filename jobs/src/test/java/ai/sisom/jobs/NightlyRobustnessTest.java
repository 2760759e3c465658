package ai.sisom.jobs;

import ai.sisom.jobs.output.RunLock;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static ai.sisom.jobs.JobTests.runJob;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The nightly run against the faults a data lake produces: empty and growing partitions, stale state, duplicate
 * ids, a second writer, rows without ids, broken labeled samples. Every case ends in a scored sample, a counted
 * rejection or a clear error, and a failed run keeps the previous result.
 */
class NightlyRobustnessTest {
    private static SparkSession spark;
    private static Path root;
    private static Path shared;
    private static List<Path> images;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-nightly-robustness");
        shared = Files.createTempDirectory("sisom-nightly");
        try (Stream<Path> s = Files.list(root.resolve("data-samples/pool/images"))) {
            images = s.sorted().limit(40).toList();
        }
        // one labeled extraction and reference for every test: each test's work directory starts from a copy
        run(shared.resolve("seed-pool"), shared.resolve("seed"), Map.of(), images.subList(0, 3));
    }

    @AfterAll
    static void stop() throws Exception {
        spark.stop();
        JobTests.deleteTree(shared);
    }

    private static final String STEEP = "layer1:0.05,layer2:1,layer3:10,avgpool:50";

    /** Settings of a run on an image-tree pool partitioned by date, with q = 5. */
    private static List<String> args(Path pool, Path base, Map<String, String> more) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("sisom.model", root.resolve("data-samples/model/fmnist_resnet18w16.pt").toString());
        m.put("sisom.labeled.path", root.resolve("data-samples/labeled/parquet/data").toString());
        m.put("sisom.labeled.format", "parquet");
        m.put("sisom.input.path", pool.toString());
        m.put("sisom.input.format", "images");
        m.put("sisom.input.partitionColumn", "date");
        m.put("sisom.work", base.resolve("work").toString());
        m.put("sisom.output", base.resolve("results").toString());
        m.put("sisom.steepness", STEEP);
        m.put("sisom.q", "5");
        m.put("sisom.report", "false");
        m.putAll(more);
        List<String> a = new ArrayList<>(List.of("run"));
        m.forEach((k, v) -> {
            if (v != null) {
                a.add("--set");
                a.add(k + "=" + v);
            }
        });
        return a;
    }

    /** Puts the images into pool/date=2026-11-21 and runs. */
    private static String run(Path pool, Path base, Map<String, String> more, List<Path> files) throws Exception {
        Path night = Files.createDirectories(pool.resolve("date=2026-11-21"));
        for (Path p : files) {
            Files.copy(p, night.resolve(p.getFileName()));
        }
        return runJob(args(pool, base, more).toArray(new String[0]));
    }

    /** A work directory that already holds the shared labeled features and reference. */
    private Path seeded(String name) throws Exception {
        Path base = tmp.resolve(name);
        for (String d : List.of("labeled", "reference")) {
            copyTree(shared.resolve("seed/work").resolve(d), base.resolve("work").resolve(d));
        }
        return base;
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    private static Exception failure(List<String> args) {
        return assertThrows(Exception.class, () -> SisomJob.run(args.toArray(new String[0]),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
    }

    private static List<String> ids(Path results, String table) {
        return spark.read().parquet(results.resolve(table).toString()).select("id").as(Encoders.STRING())
                .collectAsList();
    }

    @Test
    void anEmptyPartitionIsNotMarkedDoneAndFilesThatArriveLaterAreScored() throws Exception {
        Path base = seeded("empty");
        Path pool = tmp.resolve("pool-empty");
        Files.createDirectories(pool.resolve("date=2026-11-22"));
        String first = run(pool, base, Map.of(), images.subList(0, 4));
        assertTrue(first.contains("empty, left for a later run: [date=2026-11-22]"), first);
        assertTrue(first.contains("4 samples scored"), first);
        for (Path p : images.subList(4, 7)) {
            Files.copy(p, pool.resolve("date=2026-11-22").resolve(p.getFileName()));
        }
        String second = runJob(args(pool, base, Map.of()).toArray(new String[0]));
        assertTrue(second.contains("1 new: [date=2026-11-22] (3 items)"), second);
        assertTrue(second.contains("7 samples scored"), second);
    }

    @Test
    void filesAddedToAnExtractedPartitionAreNoticedAndAnUnchangedOneIsNotExtractedAgain() throws Exception {
        Path base = seeded("grow");
        Path pool = tmp.resolve("pool-grow");
        run(pool, base, Map.of(), images.subList(0, 4));
        String same = runJob(args(pool, base, Map.of()).toArray(new String[0]));
        assertTrue(same.contains("0 new"), same);
        Files.copy(images.get(10), pool.resolve("date=2026-11-21").resolve(images.get(10).getFileName()));
        String grown = runJob(args(pool, base, Map.of()).toArray(new String[0]));
        assertTrue(grown.contains("1 new: [date=2026-11-21] (5 items)"), grown);
        assertTrue(grown.contains("extracted again: date=2026-11-21 (its files changed)"), grown);
        assertTrue(grown.contains("4 images extracted before with this model (same bytes) kept their features"), grown);
        assertTrue(grown.contains("5 samples scored"), grown);
        // a file rewritten in place (same name, new content) counts as a change too
        Path f = pool.resolve("date=2026-11-21").resolve(images.get(0).getFileName());
        Files.copy(images.get(20), f, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        assertTrue(runJob(args(pool, base, Map.of()).toArray(new String[0])).contains("1 new: [date=2026-11-21]"));
    }

    @Test
    void anEmptyParquetPartitionIsReportedAndAPoolWithNothingToScoreKeepsThePreviousResult() throws Exception {
        Path base = seeded("parquet");
        Path pool = tmp.resolve("pool-parquet");
        Dataset<Row> all = spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString()).limit(6);
        all.write().parquet(pool.resolve("date=2026-11-21").toString());
        Files.createDirectories(pool.resolve("date=2026-11-22"));
        Map<String, String> parquet = Map.of("sisom.input.format", "parquet");
        String first = runJob(args(pool, base, parquet).toArray(new String[0]));
        assertTrue(first.contains("empty, left for a later run: [date=2026-11-22]"), first);
        assertTrue(first.contains("6 samples scored"), first);
        List<String> before = ids(base.resolve("results"), "scores");

        // a pool whose only partition is empty: an error, and yesterday's result stays
        Path emptyPool = tmp.resolve("pool-nothing");
        Files.createDirectories(emptyPool.resolve("date=2026-11-21"));
        Exception e = failure(args(emptyPool, base, parquet));
        assertTrue(e.getMessage().contains("holds no files") && e.getMessage().contains("previous result"),
                e.getMessage());
        assertEquals(before, ids(base.resolve("results"), "scores"));

        // a pool whose every item is rejected: the same
        Path junk = tmp.resolve("pool-junk");
        Files.createDirectories(junk.resolve("date=2026-11-21"));
        Files.writeString(junk.resolve("date=2026-11-21/a.png"), "not an image");
        Exception f = failure(args(junk, base, Map.of()));
        assertTrue(f.getMessage().contains("no sample could be scored"), f.getMessage());
        assertEquals(before, ids(base.resolve("results"), "scores"));
    }

    @Test
    void aReferenceBuiltFromOtherSettingsOrAnotherModelIsRebuiltOrRefused() throws Exception {
        Path base = seeded("stale");
        Path pool = tmp.resolve("pool-stale");
        String first = run(pool, base, Map.of(), images.subList(0, 3));
        assertFalse(first.contains("rebuilding the reference"), first);
        String steeper = runJob(args(pool, base, Map.of("sisom.steepness",
                "layer1:0.05,layer2:1,layer3:10,avgpool:100")).toArray(new String[0]));
        assertTrue(steeper.contains("rebuilding the reference: steepness was '" + STEEP + "'"), steeper);
        String anchor = runJob(args(pool, base, Map.of("sisom.steepness", "layer1:0.05,layer2:1,layer3:10,avgpool:100",
                "sisom.dOut", "anchor")).toArray(new String[0]));
        assertTrue(anchor.contains("dOut was 'sample', now 'anchor'"), anchor);

        // the same classes and layers, other weights: the reference and every extracted partition are stale
        Path models = Files.createDirectories(tmp.resolve("models"));
        Path pt = models.resolve("fmnist_resnet18w16.pt");
        Files.copy(root.resolve("data-samples/model/fmnist_resnet18w16.pt"), pt);
        String json = Files.readString(root.resolve("data-samples/model/fmnist_resnet18w16.json"));
        // other normalisation constants: a different model as far as the features go
        Files.writeString(models.resolve("fmnist_resnet18w16.json"), json.replaceFirst("\"mean\"\\s*:\\s*\\[[^]]*]",
                "\"mean\": [0.3]"));
        Map<String, String> other = Map.of("sisom.model", pt.toString(), "sisom.steepness",
                "layer1:0.05,layer2:1,layer3:10,avgpool:100", "sisom.dOut", "anchor");
        String remodelled = runJob(args(pool, base, other).toArray(new String[0]));
        assertTrue(remodelled.contains("rebuilding the reference: model was"), remodelled);
        assertTrue(remodelled.contains("extracted again: date=2026-11-21 (the model changed)"), remodelled);

        // an explicit reference with no labeled set to rebuild it from: refused, naming what changed
        Map<String, String> noLabeled = new LinkedHashMap<>(other);
        noLabeled.put("sisom.reference", base.resolve("work/reference").toString());
        noLabeled.put("sisom.labeled.path", null);
        noLabeled.put("sisom.labeled.format", null);
        noLabeled.put("sisom.steepness", STEEP);
        Exception e = failure(args(pool, base, noLabeled));
        assertTrue(e.getMessage().contains("is stale") && e.getMessage().contains("steepness"), e.getMessage());
    }

    @Test
    void duplicateIdsAreReportedAndQueuedOnceWithinANightAndAcrossNights() throws Exception {
        Path base = seeded("dups");
        Path pool = tmp.resolve("pool-dups");
        Dataset<Row> src = spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString())
                .orderBy("id").limit(8).persist();
        List<String> srcIds = src.select("id").as(Encoders.STRING()).collectAsList();
        // night 1: rows 0-5, and row 0 again (the same image twice under one id)
        src.limit(6).unionByName(src.limit(1)).write().parquet(pool.resolve("date=2026-11-21").toString());
        // night 2: row 1's id reused for another image, and row 6 under a new id with row 7's bytes
        Dataset<Row> reused = src.filter(col("id").equalTo(srcIds.get(5))).withColumn("id", lit(srcIds.get(1)));
        Dataset<Row> sameBytes = src.filter(col("id").equalTo(srcIds.get(7))).withColumn("id", lit("copy-of-7"));
        reused.unionByName(sameBytes).unionByName(src.filter(col("id").equalTo(srcIds.get(7))))
                .write().parquet(pool.resolve("date=2026-11-22").toString());
        String out = runJob(args(pool, base, Map.of("sisom.input.format", "parquet", "sisom.q", "20"))
                .toArray(new String[0]));
        assertTrue(out.contains("2 rows repeat an id seen before"), out);
        assertTrue(out.contains("images appear under more than one id"), out);
        List<String> queued = ids(base.resolve("results"), "selection");
        assertEquals(new HashSet<>(queued).size(), queued.size(), "an id queued twice: " + queued);
        List<String> scored = ids(base.resolve("results"), "scores");
        assertEquals(new HashSet<>(scored).size(), scored.size(), "an id scored twice");
        assertEquals(8, scored.size(), scored.toString());
        List<Row> dups = spark.read().option("header", "true").csv(base.resolve("results/duplicates").toString())
                .collectAsList();
        Map<String, Row> byId = new LinkedHashMap<>();
        dups.forEach(r -> byId.put(r.getString(0), r));
        assertEquals(Set.of(srcIds.get(0), srcIds.get(1)), byId.keySet());
        assertEquals("true", byId.get(srcIds.get(0)).getString(3), "same image under the same id");
        assertEquals("false", byId.get(srcIds.get(1)).getString(3), "another image under a reused id");
        assertEquals("date=2026-11-21", byId.get(srcIds.get(1)).getString(2), "the first night's is kept");
        String summary = Files.readString(base.resolve("results/summary.json"));
        assertTrue(summary.contains("copy-of-7") && summary.contains(srcIds.get(7)), summary);
        Map<?, ?> same = (Map<?, ?>) ai.djl.util.JsonUtils.GSON.fromJson(summary, Map.class).get("sameImageDifferentIds");
        Map<?, ?> group = (Map<?, ?>) ((List<?>) same.get("examples")).get(0);
        assertEquals(List.of("copy-of-7", srcIds.get(7)), group.get("ids"));
        assertEquals(2.0, ((Number) group.get("count")).doubleValue(), "each group of identical images gives its size");
    }

    @Test
    void aSecondRunOnTheSameDirectoriesIsRefusedAndAStaleLockIsTakenOver() throws Exception {
        Path base = seeded("lock");
        Path pool = tmp.resolve("pool-lock");
        run(pool, base, Map.of(), images.subList(0, 2));
        Path lock = base.resolve("work").resolve(RunLock.NAME);
        Files.writeString(lock, "pid 1 on elsewhere since yesterday token x");
        Exception e = failure(args(pool, base, Map.of()));
        assertTrue(e.getMessage().contains("another sisom run is writing here") && e.getMessage().contains("elsewhere"),
                e.getMessage());
        assertTrue(Files.exists(lock), "the other run's lock stays");
        Files.setLastModifiedTime(lock, FileTime.fromMillis(System.currentTimeMillis() - 31 * 60_000L));
        String taken = runJob(args(pool, base, Map.of()).toArray(new String[0]));
        assertTrue(taken.contains("taking over a stale lock"), taken);
        assertFalse(Files.exists(lock), "released at the end");
        // the output directory is locked too: another work directory writing the same results waits its turn
        Path outLock = base.resolve("." + "results" + RunLock.NAME);
        Files.writeString(outLock, "pid 2 on elsewhere token y");
        Exception o = failure(args(pool, base, Map.of("sisom.work", tmp.resolve("other-work").toString())));
        assertTrue(o.getMessage().contains(outLock.getFileName().toString()), o.getMessage());
    }

    @Test
    void rowsWithoutAnIdAreCountedRejectionsThatNameTheirFile() throws Exception {
        Path pq = tmp.resolve("noids");
        Dataset<Row> five = spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString())
                .orderBy("id").limit(5);
        List<String> first = five.select("id").as(Encoders.STRING()).collectAsList();
        five.withColumn("id", org.apache.spark.sql.functions.when(col("id").isin(first.get(0), first.get(1)),
                        lit(null)).otherwise(col("id")))
                .coalesce(1).write().mode(SaveMode.Overwrite).parquet(pq.toString());
        String out = runJob("extract", "--set", "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "--set", "sisom.input.path=" + pq, "--set", "sisom.input.format=parquet", "--set",
                "sisom.output=" + tmp.resolve("noids-out"));
        assertTrue(out.contains("5 items, 3 scored, 2 rejected"), out);
        assertTrue(out.contains("rejected 2: row without an id (column 'id') in file:"), out);
    }

    @Test
    void credentialsOfAnyFileSystemNeverReachTheConsoleTheLogOrTheOutputs() throws Exception {
        Map<String, String> secrets = new LinkedHashMap<>();
        secrets.put("spark.hadoop.fs.s3a.secret.key", "S3SECRETVALUE1");
        secrets.put("spark.hadoop.fs.s3a.access.key", "AKIAACCESSVALUE2");
        secrets.put("spark.hadoop.fs.s3a.session.token", "SESSIONTOKENVALUE3");
        secrets.put("spark.hadoop.fs.s3a.encryption.key", "SSECKEYVALUE4");
        secrets.put("spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net", "AZUREKEYVALUE5");
        secrets.put("spark.hadoop.fs.azure.sas.container.acct.blob.core.windows.net", "AZURESASVALUE6");
        secrets.put("spark.hadoop.fs.gs.auth.service.account.private.key", "GCSPRIVATEVALUE7");
        secrets.put("spark.hadoop.fs.azure.account.oauth2.client.secret", "OAUTHSECRETVALUE8");
        secrets.put("spark.ssl.keyStorePassword", "KEYSTOREVALUE9");
        Path base = seeded("secrets");
        Path pool = tmp.resolve("pool-secrets");
        java.io.StringWriter log = new java.io.StringWriter();
        var ctx = (org.apache.logging.log4j.core.LoggerContext) org.apache.logging.log4j.LogManager.getContext(false);
        var appender = org.apache.logging.log4j.core.appender.WriterAppender.newBuilder().setName("secrets-capture")
                .setTarget(log).setLayout(org.apache.logging.log4j.core.layout.PatternLayout.newBuilder()
                        .withPattern("%p %c: %m%n%ex").build()).build();
        appender.start();
        ctx.getConfiguration().addAppender(appender);
        ctx.getRootLogger().addAppender(appender);
        ctx.getConfiguration().getLoggerConfig("ai.sisom").addAppender(appender,
                org.apache.logging.log4j.Level.ALL, null);
        ctx.updateLoggers();
        String console;
        String error;
        try {
            console = run(pool, base, new LinkedHashMap<>(secrets), images.subList(0, 3));
            Map<String, String> bad = new LinkedHashMap<>(secrets);
            bad.put("sisom.q", "many");
            error = failure(args(pool, base, bad)).getMessage();
        } finally {
            ctx.getRootLogger().removeAppender(appender);
            ctx.getConfiguration().getLoggerConfig("ai.sisom").removeAppender("secrets-capture");
            ctx.updateLoggers();
            appender.stop();
        }
        assertTrue(log.toString().contains("spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net = ****"),
                "the settings line is logged, masked: " + log);
        StringBuilder everything = new StringBuilder(console).append(error).append(log);
        try (Stream<Path> files = Files.walk(base)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                everything.append(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
            }
        }
        for (String v : secrets.values()) {
            assertFalse(everything.toString().contains(v), v + " leaked");
        }
        assertEquals("s3a://****@bucket/x", ai.sisom.jobs.settings.Redaction.text("s3a://AKIA:SECRET@bucket/x"));
    }

    @Test
    void labeledImagesThatCannotBeUsedAreListedWithTheirReasons() throws Exception {
        Path labeled = tmp.resolve("labeled-tree");
        Path golden = root.resolve("common/src/test/resources/golden");
        List<String> classes = List.of("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                "bag", "ankle-boot");
        for (String c : classes) {
            Files.createDirectories(labeled.resolve(c));
            Files.copy(golden.resolve("g00.png"), labeled.resolve(c).resolve("a.png"));
            Files.copy(golden.resolve("g01.png"), labeled.resolve(c).resolve("b.png"));
        }
        Files.writeString(labeled.resolve("coat/broken.png"), "nope");
        Path pool = tmp.resolve("pool-labeled");
        Exception e = failure(args(pool, tmp.resolve("lab"), Map.of("sisom.labeled.path", labeled.toString(),
                "sisom.labeled.format", "images")));
        Files.createDirectories(pool);
        assertTrue(e.getMessage().contains("coat/broken.png: not a readable image"), e.getMessage());
        assertFalse(e.getMessage().contains("after fixing"), e.getMessage());
    }
}

package ai.sisom.jobs;

import ai.sisom.jobs.output.AtomicOutput;
import ai.djl.util.JsonUtils;
import com.google.gson.JsonObject;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static ai.sisom.jobs.JobTests.runJob;
import static org.junit.jupiter.api.Assertions.*;

/** The extract and import commands end to end in Spark local mode, on the bundled samples. */
class ExtractJobTest {
    private static SparkSession spark;
    private static Path root;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-test");
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private String[] extractArgs(String input, String format, String output, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("extract",
                "--set", "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "--set", "sisom.input.path=" + input, "--set", "sisom.input.format=" + format,
                "--set", "sisom.output=" + output, "--set", "sisom.batchSize=5"));
        for (String m : more) {
            a.add("--set");
            a.add(m);
        }
        return a.toArray(new String[0]);
    }

    @Test
    void imageDirectoryFeaturesMatchPythonAndBadFilesAreCountedRejections() throws Exception {
        Path pool = tmp.resolve("pool");
        Files.createDirectories(pool.resolve("sub"));
        Path golden = root.resolve("common/src/test/resources/golden");
        try (Stream<Path> files = Files.list(golden)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".png")).toList()) {
                Files.copy(p, pool.resolve(p.getFileName().toString().compareTo("g06") < 0 ? "" : "sub/")
                        .resolve(p.getFileName()));
            }
        }
        Files.write(pool.resolve("broken.png"), new byte[]{(byte) 0x89, 'P', 'N', 'G', 0, 0});
        Files.writeString(pool.resolve("notes.txt"), "not an image");
        String out = tmp.resolve("out").toString();

        String summary = runJob(extractArgs(pool.toString(), "images", out));
        assertTrue(summary.contains("14 items, 12 scored, 2 rejected"), summary);

        List<Row> rejected = spark.read().option("header", "true").csv(out + "/rejections").collectAsList();
        Map<String, String> reasons = new HashMap<>();
        rejected.forEach(r -> reasons.put(r.getString(0), r.getString(1)));
        assertEquals(Map.of("broken.png", reasons.get("broken.png"), "notes.txt", reasons.get("notes.txt")), reasons);
        assertTrue(reasons.get("notes.txt").contains("not a readable image"), reasons.toString());

        JsonObject g;
        try (Reader r = Files.newBufferedReader(golden.resolve("golden.json"))) {
            g = JsonUtils.GSON.fromJson(r, JsonObject.class);
        }
        List<Row> rows = spark.read().parquet(out + "/features").collectAsList();
        assertEquals(12, rows.size());
        var images = g.getAsJsonArray("images");
        for (Row r : rows) {
            String id = r.getString(r.fieldIndex("id"));
            String file = id.substring(id.lastIndexOf('/') + 1);
            int i = -1;
            for (int k = 0; k < images.size(); k++) {
                if (images.get(k).getAsString().equals(file)) {
                    i = k;
                }
            }
            assertTrue(i >= 0, "unexpected id " + id);
            assertEquals(file.compareTo("g06") < 0 ? file : "sub/" + file, id, "id is the path under the root");
            List<Float> logits = r.getList(r.fieldIndex("logits"));
            var want = g.getAsJsonArray("logits").get(i).getAsJsonArray();
            for (int c = 0; c < logits.size(); c++) {
                assertEquals(want.get(c).getAsFloat(), logits.get(c), 1e-4f, id + " logit " + c);
            }
            assertEquals(16 + 32 + 64 + 128, r.getList(r.fieldIndex("u")).size());
        }
        assertTrue(Files.exists(Paths.get(out, "model.json")), "the model metadata travels with the features");
        assertTrue(Files.exists(Paths.get(out, "_SUCCESS")));
    }

    @Test
    void everyFileUnderTheRootIsScoredOrACountedRejectionHiddenEmptyAndTruncatedOnesToo() throws Exception {
        Path pool = tmp.resolve("lossless");
        Files.createDirectories(pool.resolve("_staging"));
        Path golden = root.resolve("common/src/test/resources/golden");
        byte[] png = Files.readAllBytes(golden.resolve("g00.png"));
        Files.write(pool.resolve("ok.png"), png);
        Files.write(pool.resolve(".hidden.png"), png);
        Files.write(pool.resolve("_underscore.png"), png);
        Files.write(pool.resolve("_staging/inside.png"), png);
        Files.write(pool.resolve("empty.png"), new byte[0]);
        // a JPEG of the model's size cut short: javax.imageio decodes it with a warning, PIL refuses it
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(golden.resolve("g01.png").toFile());
        ByteArrayOutputStream jpg = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "jpg", jpg);
        byte[] full = jpg.toByteArray();
        Files.write(pool.resolve("whole.jpg"), full);
        Files.write(pool.resolve("truncated.jpg"), java.util.Arrays.copyOf(full, full.length * 2 / 3));
        String out = tmp.resolve("out-lossless").toString();

        String summary = runJob(extractArgs(pool.toString(), "images", out));
        assertTrue(summary.contains("7 items, 5 scored, 2 rejected"), summary);
        Map<String, String> reasons = new HashMap<>();
        spark.read().option("header", "true").csv(out + "/rejections").collectAsList()
                .forEach(r -> reasons.put(r.getString(0), r.getString(1)));
        assertEquals(java.util.Set.of("empty.png", "truncated.jpg"), reasons.keySet(), reasons.toString());
        assertTrue(reasons.get("empty.png").contains("empty file"), reasons.toString());
        assertTrue(reasons.get("truncated.jpg").contains("truncated"), reasons.toString());
        List<String> scored = spark.read().parquet(out + "/features").select("id").as(org.apache.spark.sql.Encoders.STRING())
                .collectAsList();
        assertEquals(java.util.Set.of("ok.png", ".hidden.png", "_underscore.png", "_staging/inside.png", "whole.jpg"),
                new java.util.HashSet<>(scored));
    }

    @Test
    void manifestAndParquetInputsGiveTheSameFeaturesAndMissingFilesAreRejected() throws Exception {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        List<String> lines = Files.readAllLines(root.resolve("data-samples/labeled/manifest.csv")).subList(0, 9);
        StringBuilder csv = new StringBuilder(lines.get(0)).append('\n');
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            csv.append(root.resolve("data-samples/labeled").resolve(f[0])).append(',').append(f[1]).append(',')
                    .append(f[2]).append('\n');
        }
        csv.append("missing/none.png,ghost,bag\n");
        Files.writeString(dir.resolve("manifest.csv"), csv.toString());

        // the one-partition CSV is spread over the cores before the images are read
        ai.sisom.spark.ImageSources.Options opts = new ai.sisom.spark.ImageSources.Options();
        opts.labeled = true;
        assertEquals(2, ai.sisom.spark.ImageSources.read(spark, ai.sisom.spark.ImageSources.Format.MANIFEST,
                dir.resolve("manifest.csv").toString(), opts).rdd().getNumPartitions());

        String viaManifest = tmp.resolve("fm").toString();
        String summary = runJob(extractArgs(dir.resolve("manifest.csv").toString(), "manifest", viaManifest,
                "sisom.input.labeled=true"));
        assertTrue(summary.contains("9 items, 8 scored, 1 rejected"), summary);
        assertTrue(summary.contains("file not found: missing/none.png"), summary);

        // import the same manifest (without the missing row) into Parquet, then extract from the Parquet copy
        Files.writeString(dir.resolve("manifest.csv"), csv.substring(0, csv.indexOf("missing/")));
        String parquet = tmp.resolve("pq").toString();
        runJob("import", "--set", "sisom.input.path=" + dir.resolve("manifest.csv"), "--set", "sisom.input.format=manifest",
                "--set", "sisom.input.labeled=true", "--set", "sisom.output=" + parquet);
        String viaParquet = tmp.resolve("fp").toString();
        runJob(extractArgs(parquet + "/data", "parquet", viaParquet, "sisom.input.labeled=true"));

        // one pass writes the features and the rejected rows together, split by an outcome column that stays out
        for (String out : List.of(viaManifest, viaParquet)) {
            assertFalse(Files.exists(Paths.get(out, "extracted")), out);
            assertFalse(List.of(spark.read().parquet(out + "/features").columns()).contains("sisom_outcome"), out);
        }
        assertEquals(8, spark.read().parquet(viaManifest + "/features").count());
        Map<String, Row> a = byId(viaManifest + "/features");
        Map<String, Row> b = byId(viaParquet + "/features");
        assertEquals(a.keySet(), b.keySet());
        for (String id : a.keySet()) {
            // the two inputs are split into different network batches, and libtorch's CPU kernels may round a
            // sample differently in another batch: equal to float32 rounding, not bit for bit
            List<Float> ua = a.get(id).getList(a.get(id).fieldIndex("u"));
            List<Float> ub = b.get(id).getList(b.get(id).fieldIndex("u"));
            assertEquals(ua.size(), ub.size());
            for (int j = 0; j < ua.size(); j++) {
                assertEquals(ua.get(j), ub.get(j), 1e-6 + 1e-5 * Math.abs(ua.get(j)), id + " u[" + j + "]");
            }
            assertEquals(a.get(id).getString(a.get(id).fieldIndex("label")), b.get(id).getString(b.get(id).fieldIndex("label")),
                    "the label passes through");
        }
    }

    @Test
    void anInputColumnNamedLikeTheExtractionsOwnIsRefusedByName() throws Exception {
        String in = tmp.resolve("in").toString();
        spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString()).limit(3)
                .withColumn("sisom_outcome", org.apache.spark.sql.functions.lit("mine")).write().parquet(in);
        Exception e = assertThrows(Exception.class, () -> SisomJob.run(extractArgs(in, "parquet",
                tmp.resolve("out").toString()), new PrintStream(new ByteArrayOutputStream())));
        assertTrue(String.valueOf(e.getMessage()).contains("'sisom_outcome'"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out")));
    }

    private Map<String, Row> byId(String path) {
        Map<String, Row> m = new HashMap<>();
        spark.read().parquet(path).collectAsList().forEach(r -> m.put(r.getString(r.fieldIndex("id")), r));
        return m;
    }

    @Test
    void aFailedRunLeavesThePreviousCompleteResult() throws Exception {
        Path pool = tmp.resolve("p");
        Files.createDirectories(pool);
        Files.copy(root.resolve("common/src/test/resources/golden/g00.png"), pool.resolve("a.png"));
        String out = tmp.resolve("o").toString();
        runJob(extractArgs(pool.toString(), "images", out));
        long before = spark.read().parquet(out + "/features").count();

        // a model whose metadata is fine but whose network is garbage: the driver accepts it, the executors fail
        // while the new result is being written
        Path models = tmp.resolve("models");
        Files.createDirectories(models);
        Files.write(models.resolve("bad.pt"), new byte[]{1, 2, 3});
        Files.writeString(models.resolve("bad.json"),
                Files.readString(root.resolve("data-samples/model/fmnist_resnet18w16.json"))
                        .replace("fmnist_resnet18w16.pt", "bad.pt"));
        String[] bad = extractArgs(pool.toString(), "images", out, "sisom.model=" + models.resolve("bad.pt"));
        Exception e = assertThrows(Exception.class, () -> SisomJob.run(bad, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(String.valueOf(e.getMessage()).contains("bad.pt"), e.getMessage());
        assertEquals(before, spark.read().parquet(out + "/features").count());
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".staging-")), "staging removed");
        }
    }

    @Test
    void aRunThatDiedBetweenItsRenamesIsRepairedByTheNextRun() throws Exception {
        Path prev = tmp.resolve(".res.old-1234");
        Files.createDirectories(prev);
        Files.writeString(prev.resolve("_SUCCESS"), "");
        new AtomicOutput(tmp.resolve("res").toString(), new Configuration());
        assertTrue(Files.exists(tmp.resolve("res/_SUCCESS")), "the previous result is put back");
        assertFalse(Files.exists(prev));
    }

    @Test
    void unknownSettingsAndMissingInputsAreClearErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SisomJob.run(new String[]{"extract", "--set", "sisom.outptu=x"}, System.out));
        assertTrue(e.getMessage().contains("sisom.outptu"), e.getMessage());
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> SisomJob.run(extractArgs(tmp.toString(), "tiff", tmp.resolve("x").toString()), System.out));
        assertTrue(f.getMessage().contains("tiff"), f.getMessage());
    }
}

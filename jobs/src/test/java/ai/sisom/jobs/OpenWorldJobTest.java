package ai.sisom.jobs;

import ai.sisom.jobs.output.JsonFiles;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static ai.sisom.jobs.JobTests.runJob;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The open-world queue end to end on the bundled samples: the README's first command's queue against the pool's
 * ground truth (data-samples/pool/truth.csv, which the jobs never read), the flagged list, the nightly loop feeding
 * the annotators' rejects back, old artifacts, and the bad settings and labeled sets the issue lists.
 */
class OpenWorldJobTest {
    private static SparkSession spark;
    private static Path root;
    private static Path shared;
    private static Map<String, String> truth;
    /** The README's first command's run, paths made absolute (surefire runs in the module directory). */
    private static Path readmeWork;
    private static Path readmeResults;
    private static String readmeOutput;
    private static String labeledWithUnknowns;

    @BeforeAll
    static void start() throws Exception {
        root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-open-world-test");
        shared = Files.createTempDirectory("sisom-open-world");
        truth = new HashMap<>();
        for (String line : Files.readAllLines(root.resolve("data-samples/pool/truth.csv")).subList(1, 1001)) {
            String[] f = line.split(",", -1);
            truth.put(f[0], f[1]);
        }
        readmeWork = shared.resolve("work");
        readmeResults = shared.resolve("results");
        readmeOutput = runJob("run", "--conf", root.resolve("conf/local-samples.properties").toString(),
                "--set", "sisom.model=" + model(),
                "--set", "sisom.labeled.path=" + root.resolve("data-samples/labeled/with-unknowns.csv"),
                "--set", "sisom.input.path=" + root.resolve("data-samples/pool/images"),
                "--set", "sisom.work=" + readmeWork, "--set", "sisom.output=" + readmeResults);
        labeledWithUnknowns = readmeWork.resolve("labeled/features").toString();
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

    /** truth.csv's source of a pool id (image-tree ids keep the file name). */
    static String source(String id) {
        String s = truth.get(id.endsWith(".png") ? id.substring(0, id.length() - 4) : id);
        assertNotNull(s, "no ground truth for " + id);
        return s;
    }

    static long digits(List<String> ids) {
        return ids.stream().filter(i -> source(i).equals("sklearn-digits")).count();
    }

    List<String> ids(Path dir, String order) {
        return spark.read().parquet(dir.toString()).orderBy(order).select("id").collectAsList().stream()
                .map(r -> r.getString(0)).toList();
    }

    @Test
    void theReadmeCommandsQueueIsFashionMnistAndTheDigitsAreFlagged() throws Exception {
        List<String> queue = ids(readmeResults.resolve("selection"), "rank");
        List<String> flagged = ids(readmeResults.resolve("ood"), "ood_rank");
        assertEquals(50, queue.size());
        long queueDigits = digits(queue);
        long flaggedDigits = digits(flagged);
        System.out.printf("README command, gated: queue %d Fashion-MNIST + %d digits; ood/ %d samples, %d digits%n",
                queue.size() - queueDigits, queueDigits, flagged.size(), flaggedDigits);
        assertTrue(queue.size() - queueDigits >= 0.95 * queue.size(), "queue: " + queueDigits + " digits of 50");
        assertTrue(flaggedDigits >= 90, flaggedDigits + " of the pool's 100 digits flagged");
        assertTrue(java.util.Collections.disjoint(queue, flagged));
        assertTrue(readmeOutput.contains("flagged " + flagged.size() + " of 1000 samples"), readmeOutput);
        assertTrue(readmeOutput.contains("Youden's J"), readmeOutput);

        Map<String, Object> summary = JsonFiles.read(readmeResults.resolve("summary.json").toString(),
                spark.sparkContext().hadoopConfiguration());
        @SuppressWarnings("unchecked")
        Map<String, Object> t = (Map<String, Object>) summary.get("oodThreshold");
        assertEquals("youden", t.get("mode"));
        assertEquals(500.0, t.get("inDistribution"));
        assertEquals(40.0, t.get("unknown"));
        assertEquals(Map.of("threshold", "auto", "metric", "auto"), t.get("requested"));
        assertEquals(0.0, summary.get("queueFlagged"));
        // the same threshold is in the reference artifact
        String ref = Files.readString(readmeWork.resolve("reference/reference.json"));
        assertTrue(ref.contains("\"formatVersion\": 3") && ref.contains("\"mode\": \"youden\""), ref);

        // ood/: every flagged sample, ranked by the gate's metric, with the reference ids that explain it
        List<Row> ood = spark.read().parquet(readmeResults.resolve("ood").toString()).orderBy("ood_rank").collectAsList();
        double threshold = ((Number) t.get("value")).doubleValue();
        double previous = Double.POSITIVE_INFINITY;
        for (int i = 0; i < ood.size(); i++) {
            Row r = ood.get(i);
            assertEquals(i + 1, r.getLong(r.fieldIndex("ood_rank")));
            double m = r.getDouble(r.fieldIndex("ood_metric"));
            assertTrue(m > threshold && m <= previous, "ranked by the OOD metric, all above the threshold");
            assertTrue(r.getBoolean(r.fieldIndex("ood_flag")));
            assertNotNull(r.getString(r.fieldIndex("nearest_in_id")));
            assertNotNull(r.getString(r.fieldIndex("nearest_out_id")));
            previous = m;
        }
        long flaggedInScores = spark.read().parquet(readmeResults.resolve("scores").toString())
                .filter(col("ood_flag")).count();
        assertEquals(ood.size(), flaggedInScores);
        List<String> csv = Files.readAllLines(onlyCsv(readmeResults.resolve("ood-csv")));
        assertEquals("ood_rank,id,ood_metric,pseudo_label,energy,d_in,d_out,r,nearest_in_id,nearest_out_id,score",
                csv.get(0));
        assertEquals(ood.size() + 1, csv.size());

        // before: the same reference and pool features, ungated
        Path ungated = tmp.resolve("ungated");
        String out = runJob("score", "--set", "sisom.reference=" + readmeWork.resolve("reference"),
                "--set", "sisom.pool.features=" + readmeWork.resolve("pool/all/features"), "--set", "sisom.q=50",
                "--set", "sisom.ood.gate=false", "--set", "sisom.report=false", "--set", "sisom.output=" + ungated);
        List<String> before = ids(ungated.resolve("selection"), "rank");
        long beforeDigits = digits(before);
        System.out.printf("README command, ungated: queue %d Fashion-MNIST + %d digits%n", 50 - beforeDigits,
                beforeDigits);
        assertTrue(beforeDigits >= 25, "ungated, SISOMe ranks the digits first: " + beforeDigits);
        assertTrue(out.contains("queue ungated"), out);
        assertEquals(flagged, ids(ungated.resolve("ood"), "ood_rank"), "flags do not depend on the gate");
    }

    static Path onlyCsv(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> csv = s.filter(p -> p.toString().endsWith(".csv")).toList();
            assertEquals(1, csv.size(), csv.toString());
            return csv.get(0);
        }
    }

    @Test
    void theNightlyLoopFeedsLastNightsRejectsIntoTonightsThreshold() throws Exception {
        // a smaller lake: 250 Fashion-MNIST test images and 50 digits
        Path pool = tmp.resolve("pool");
        Files.createDirectories(pool);
        try (Stream<Path> s = Files.list(root.resolve("data-samples/pool/images"))) {
            List<Path> all = s.sorted().toList();
            List<Path> pick = new ArrayList<>(all.stream().filter(p -> p.getFileName().toString().startsWith("digit-"))
                    .limit(50).toList());
            pick.addAll(all.stream().filter(p -> p.getFileName().toString().startsWith("test-")).limit(250).toList());
            for (Path p : pick) {
                Files.copy(p, pool.resolve(p.getFileName()));
            }
        }
        // night 1: the labeled set has no rejects yet
        Path labeled = tmp.resolve("labeled.csv");
        List<String> manifest = new ArrayList<>();
        for (String line : Files.readAllLines(root.resolve("data-samples/labeled/manifest.csv"))) {
            manifest.add(line.startsWith("path,") ? line : root.resolve("data-samples/labeled") + "/" + line);
        }
        Files.write(labeled, manifest);
        String[] nightly = {"run", "--set", "sisom.model=" + model(), "--set", "sisom.labeled.path=" + labeled,
                "--set", "sisom.labeled.format=manifest", "--set", "sisom.labeled.unknownLabels=unknown",
                "--set", "sisom.input.path=" + pool, "--set", "sisom.input.format=images",
                "--set", "sisom.rebuildReference=true", "--set", "sisom.work=" + tmp.resolve("work"),
                "--set", "sisom.output=" + tmp.resolve("results"), "--set", PipelineJobTest.STEEP,
                "--set", "sisom.q=20", "--set", "sisom.report=false"};
        String night1 = runJob(nightly);
        assertTrue(night1.contains("keeps 95.0 % of 500 labeled in-distribution"), night1);
        List<String> queue1 = ids(tmp.resolve("results/selection"), "rank");

        // the annotators answer: Fashion-MNIST images get their class, digits "unknown"; answered images leave the pool
        Map<String, String> classOf = new HashMap<>();
        for (String line : Files.readAllLines(root.resolve("data-samples/pool/truth.csv")).subList(1, 1001)) {
            String[] f = line.split(",", -1);
            classOf.put(f[0], f[2]);
        }
        Path answered = tmp.resolve("answered");
        Files.createDirectories(answered);
        for (String id : queue1) {
            Files.move(pool.resolve(id), answered.resolve(id));
            String bare = id.substring(0, id.length() - 4);
            String label = source(id).equals("sklearn-digits") ? "unknown" : classOf.get(bare);
            manifest.add(answered.resolve(id) + "," + bare + "," + label);
        }
        Files.write(labeled, manifest);
        long rejects = digits(queue1);
        assertTrue(rejects > 0, "night 1's queue must hold a digit for this test to mean anything");
        String night2 = runJob(nightly);
        assertTrue(night2.contains("and " + rejects + " labeled unknowns"), night2);
        List<String> queue2 = ids(tmp.resolve("results/selection"), "rank");
        System.out.printf("nightly loop: night 1 queue %d digits of %d; night 2 (%d rejects fed back) %d digits%n",
                rejects, queue1.size(), rejects, digits(queue2));
        assertTrue(digits(queue2) <= rejects, "tonight's queue is no worse than last night's");
        assertTrue(java.util.Collections.disjoint(queue1, queue2), "answered images left the pool");
    }

    @Test
    void aClassBalancedGreedyQueueStaysBehindTheGate() throws Exception {
        String[] base = {"score", "--set", "sisom.reference=" + readmeWork.resolve("reference"),
                "--set", "sisom.pool.features=" + readmeWork.resolve("pool/all/features"), "--set", "sisom.q=20",
                "--set", "sisom.report=false"};
        Path equal = tmp.resolve("equal");
        runJob(concat(base, "--set", "sisom.queue.classBalance=equal", "--set", "sisom.output=" + equal));
        List<Row> q = spark.read().parquet(equal.resolve("selection").toString()).collectAsList();
        assertEquals(20, q.size());
        Map<String, Integer> perClass = new HashMap<>();
        for (Row r : q) {
            perClass.merge(r.getString(r.fieldIndex("pseudo_label")), 1, Integer::sum);
            assertFalse(r.getBoolean(r.fieldIndex("ood_flag")));
        }
        assertEquals(Set.of(2), new HashSet<>(perClass.values()), "two of each of the ten classes: " + perClass);

        Path prior = tmp.resolve("prior");
        runJob(concat(base, "--set", "sisom.queue.classBalance=prior", "--set",
                "sisom.queue.classPrior=shirt:3,coat:1", "--set", "sisom.output=" + prior));
        Map<String, Integer> byPrior = new HashMap<>();
        spark.read().parquet(prior.resolve("selection").toString()).collectAsList()
                .forEach(r -> byPrior.merge(r.getString(r.fieldIndex("pseudo_label")), 1, Integer::sum));
        assertEquals(Map.of("shirt", 15, "coat", 5), byPrior);

        Path greedy = tmp.resolve("greedy");
        String out = runJob(concat(base, "--set", "sisom.selection=greedy", "--set", "sisom.queue.classBalance=equal",
                "--set", "sisom.output=" + greedy));
        List<Row> g = spark.read().parquet(greedy.resolve("selection").toString()).collectAsList();
        assertEquals(20, g.size(), out);
        assertTrue(g.stream().noneMatch(r -> r.getBoolean(r.fieldIndex("ood_flag"))), "greedy behind the gate");
        Map<String, Integer> greedyPerClass = new HashMap<>();
        g.forEach(r -> greedyPerClass.merge(r.getString(r.fieldIndex("pseudo_label")), 1, Integer::sum));
        assertEquals(Set.of(2), new HashSet<>(greedyPerClass.values()), greedyPerClass.toString());
    }

    @Test
    void aVersion1ReferenceIsRefusedByTheGateAndScoresUngatedOrWithAFixedThreshold() throws Exception {
        // the README run's reference, rewritten as the format before the OOD threshold existed
        Path old = tmp.resolve("v1");
        Files.createDirectories(old);
        String json = Files.readString(readmeWork.resolve("reference/reference.json"));
        int ood = json.indexOf(",\n  \"ood\": {");
        int prov = json.indexOf(",\n  \"provenance\"");
        assertTrue(ood > 0 && prov > ood, json);
        Files.writeString(old.resolve("reference.json"), (json.substring(0, ood) + json.substring(prov))
                .replace("\"formatVersion\": 3", "\"formatVersion\": 1"));
        byte[] points = Files.readAllBytes(readmeWork.resolve("reference/points.bin"));
        points[7] = 1;
        Files.write(old.resolve("points.bin"), points);
        String[] base = {"score", "--set", "sisom.reference=" + old, "--set", "sisom.pool.features="
                + readmeWork.resolve("pool/all/features"), "--set", "sisom.q=10", "--set", "sisom.report=false"};
        Path refused = tmp.resolve("refused");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SisomJob.run(
                concat(base, "--set", "sisom.output=" + refused), System.out));
        assertTrue(e.getMessage().contains("format version 1") && e.getMessage().contains("sisom.rebuildReference=true")
                && e.getMessage().contains("sisom.ood.gate=false"), e.getMessage());
        assertFalse(Files.exists(refused), "nothing written");

        Path ungated = tmp.resolve("ungated");
        String out = runJob(concat(base, "--set", "sisom.ood.gate=false", "--set", "sisom.output=" + ungated));
        assertTrue(out.contains("no OOD threshold"), out);
        assertFalse(Files.exists(ungated.resolve("ood")));
        assertTrue(spark.read().parquet(ungated.resolve("scores").toString()).filter(col("ood_flag").isNotNull())
                .isEmpty());

        Path fixed = tmp.resolve("fixed");
        runJob(concat(base, "--set", "sisom.ood.threshold=1.5", "--set", "sisom.output=" + fixed));
        List<Row> flagged = spark.read().parquet(fixed.resolve("ood").toString()).collectAsList();
        assertFalse(flagged.isEmpty());
        assertTrue(flagged.stream().allMatch(r -> r.getDouble(r.fieldIndex("sisome")) > 1.5),
                "without a calibrated metric, a fixed threshold is on the ranking score");
    }

    /** A float[] column of a Spark row as doubles. */
    static double[] doubles(Row r, String column) {
        List<Float> l = r.getList(r.fieldIndex(column));
        double[] d = new double[l.size()];
        for (int j = 0; j < d.length; j++) {
            d[j] = l.get(j);
        }
        return d;
    }

    @Test
    void thePostHocScoresAreOpenOodsOnTheExecutorsAndOneRanksTheQueue() throws Exception {
        Path out = tmp.resolve("posthoc");
        String extra = Arrays.stream(ai.sisom.posthoc.PosthocMethod.values()).map(ai.sisom.posthoc.PosthocMethod::label)
                .reduce((a, b) -> a + "," + b).orElseThrow();
        runJob("score", "--set", "sisom.reference=" + readmeWork.resolve("reference"),
                "--set", "sisom.pool.features=" + readmeWork.resolve("pool/all/features"), "--set", "sisom.q=20",
                "--set", "sisom.report=false", "--set", "sisom.score=vim", "--set", "sisom.scores.extra=" + extra,
                "--set", "sisom.output=" + out);
        // the reference, fitted independently here from the labeled features with OpenOOD's transcriptions
        List<Row> lab = spark.read().parquet(labeledWithUnknowns).filter(col("label").notEqual("unknown"))
                .orderBy("id").collectAsList();
        List<String> classes = ai.sisom.spark.FeatureColumns.classNames(spark.read().parquet(labeledWithUnknowns)
                .schema(), "pseudo_class");
        double[][] x = lab.stream().map(r -> doubles(r, "penultimate")).toArray(double[][]::new);
        int[] y = lab.stream().mapToInt(r -> classes.indexOf(r.getString(r.fieldIndex("label")))).toArray();
        var meta = ai.sisom.model.ModelMetadata.read(root.resolve("data-samples/model/fmnist_resnet18w16.json"));
        double[][] w = new double[meta.numClasses()][];
        double[] b = new double[meta.numClasses()];
        for (int k = 0; k < w.length; k++) {
            w[k] = doubles(meta.head().weight()[k]);
            b[k] = meta.head().bias()[k];
        }
        var head = new ai.sisom.posthoc.OodPostprocessors.Head(w, b);
        var knn = new ai.sisom.posthoc.OodPostprocessors.Knn(x, 1); // 500 labeled: k = round(0.5) = 1
        var maha = new ai.sisom.posthoc.OodPostprocessors.Mahalanobis(x, y, classes.size());
        var react = new ai.sisom.posthoc.OodPostprocessors.ReAct(x, head, 90);
        var vim = new ai.sisom.posthoc.OodPostprocessors.Vim(x, head, x[0].length / 2);
        Map<String, Row> pool = new HashMap<>();
        spark.read().parquet(readmeWork.resolve("pool/all/features").toString()).collectAsList()
                .forEach(r -> pool.put(r.getString(r.fieldIndex("id")), r));
        List<Row> scores = spark.read().parquet(out.resolve("scores").toString()).collectAsList();
        assertEquals(1000, scores.size());
        for (Row r : scores.subList(0, 150)) {
            Row f = pool.get(r.getString(r.fieldIndex("id")));
            double[] l = doubles(f, "logits");
            double[] p = doubles(f, "penultimate");
            String id = r.getString(r.fieldIndex("id"));
            assertEquals(ai.sisom.posthoc.OodPostprocessors.msp(l), r.getDouble(r.fieldIndex("ood_score_msp")), 1e-12, id);
            assertEquals(ai.sisom.posthoc.OodPostprocessors.energy(l), r.getDouble(r.fieldIndex("ood_score_energy")),
                    1e-12, id);
            assertEquals(-r.getDouble(r.fieldIndex("energy")), r.getDouble(r.fieldIndex("ood_score_energy")), 1e-4,
                    "the post-hoc energy is minus SISOM's E: " + id);
            assertEquals(knn.score(p), r.getDouble(r.fieldIndex("ood_score_knn")), 1e-6, id);
            assertEquals(maha.score(p), r.getDouble(r.fieldIndex("ood_score_mahalanobis")),
                    1e-7 * (1 + Math.abs(maha.score(p))), id);
            assertEquals(react.score(p), r.getDouble(r.fieldIndex("ood_score_react")), 1e-9, id);
            assertEquals(ai.sisom.posthoc.OodPostprocessors.ash(p, head, 90, true),
                    r.getDouble(r.fieldIndex("ood_score_ash")), 1e-9, id);
            assertEquals(vim.score(p), r.getDouble(r.fieldIndex("ood_score_vim")), 1e-6, id);
            assertEquals(-r.getDouble(r.fieldIndex("ood_score_vim")), r.getDouble(r.fieldIndex("score")), 0.0, id);
        }
        // the queue: the 20 highest -vim of the samples the reference's threshold did not flag
        List<String> want = spark.read().parquet(out.resolve("scores").toString()).filter(col("ood_flag").equalTo(false))
                .orderBy(col("score").desc(), col("id")).limit(20).select("id").collectAsList().stream()
                .map(r -> r.getString(0)).toList();
        assertEquals(want, ids(out.resolve("selection"), "rank"));
        // ViM on this model: how many of the pool's 100 digits its top 100 catch (printed, not asserted)
        long digitsTop = digits(spark.read().parquet(out.resolve("scores").toString()).orderBy(col("score").desc())
                .limit(100).select("id").collectAsList().stream().map(r -> r.getString(0)).toList());
        System.out.println("ViM ranking: " + digitsTop + " digits among the 100 highest scores");
    }

    @Test
    void aPostHocScoreCalibratesTheOodThresholdAndFlagsByIt() throws Exception {
        Path ref = tmp.resolve("knn-ref");
        String built = runJob("build-reference", "--set", "sisom.labeled.features=" + labeledWithUnknowns,
                "--set", "sisom.reference=" + ref, "--set", PipelineJobTest.STEEP,
                "--set", "sisom.labeled.unknownLabels=unknown", "--set", "sisom.score=knn",
                "--set", "sisom.ood.metric=score");
        String json = Files.readString(ref.resolve("reference.json"));
        assertTrue(json.contains("\"metric\": \"knn\"") && json.contains("\"posthoc\""), built + json);
        Path out = tmp.resolve("knn-out");
        runJob("score", "--set", "sisom.reference=" + ref, "--set", "sisom.pool.features="
                + readmeWork.resolve("pool/all/features"), "--set", "sisom.q=20", "--set", "sisom.report=false",
                "--set", "sisom.score=knn", "--set", "sisom.scores.extra=knn", "--set", "sisom.output=" + out);
        List<Row> scores = spark.read().parquet(out.resolve("scores").toString()).collectAsList();
        for (Row r : scores) {
            assertEquals(-r.getDouble(r.fieldIndex("ood_score_knn")), r.getDouble(r.fieldIndex("ood_metric")), 0.0);
        }
        List<String> flagged = ids(out.resolve("ood"), "ood_rank");
        long flaggedDigits = digits(flagged);
        System.out.printf("KNN threshold: %d flagged, %d of them digits%n", flagged.size(), flaggedDigits);
        assertTrue(flaggedDigits >= 50, flaggedDigits + " of the pool's 100 digits flagged by KNN");
        assertTrue(java.util.Collections.disjoint(flagged, ids(out.resolve("selection"), "rank")));

        // the queue ranked by SISOMe, the flags by ViM
        Path vimRef = tmp.resolve("vim-ref");
        runJob("build-reference", "--set", "sisom.labeled.features=" + labeledWithUnknowns,
                "--set", "sisom.reference=" + vimRef, "--set", PipelineJobTest.STEEP,
                "--set", "sisom.labeled.unknownLabels=unknown", "--set", "sisom.ood.metric=vim");
        assertTrue(Files.readString(vimRef.resolve("reference.json")).contains("\"metric\": \"vim\""));
        Path vimOut = tmp.resolve("vim-out");
        runJob("score", "--set", "sisom.reference=" + vimRef, "--set", "sisom.pool.features="
                + readmeWork.resolve("pool/all/features"), "--set", "sisom.q=20", "--set", "sisom.report=false",
                "--set", "sisom.scores.extra=vim", "--set", "sisom.output=" + vimOut);
        for (Row r : spark.read().parquet(vimOut.resolve("scores").toString()).collectAsList()) {
            assertEquals(-r.getDouble(r.fieldIndex("ood_score_vim")), r.getDouble(r.fieldIndex("ood_metric")), 0.0);
            assertEquals(r.getDouble(r.fieldIndex("sisome")), r.getDouble(r.fieldIndex("score")), 0.0);
        }
        long vimDigits = digits(ids(vimOut.resolve("ood"), "ood_rank"));
        System.out.printf("ViM threshold: %d of the pool's 100 digits flagged%n", vimDigits);
        assertTrue(vimDigits >= 50, vimDigits + " digits flagged by ViM");
    }

    @Test
    void coreSetAndBadgeQueuesStayBehindTheGateAndBadgeRepeatsWithItsSeed() throws Exception {
        String[] base = {"score", "--set", "sisom.reference=" + readmeWork.resolve("reference"),
                "--set", "sisom.pool.features=" + readmeWork.resolve("pool/all/features"), "--set", "sisom.q=20",
                "--set", "sisom.report=false"};
        for (String mode : List.of("coreset", "badge")) {
            Path out = tmp.resolve(mode);
            runJob(concat(base, "--set", "sisom.selection=" + mode, "--set", "sisom.output=" + out));
            List<Row> q = spark.read().parquet(out.resolve("selection").toString()).orderBy("rank").collectAsList();
            assertEquals(20, q.size(), mode);
            assertEquals(20, q.stream().map(r -> r.getString(r.fieldIndex("id"))).distinct().count(), mode);
            assertTrue(q.stream().noneMatch(r -> r.getBoolean(r.fieldIndex("ood_flag"))), mode + " behind the gate");
            for (int i = 0; i < q.size(); i++) {
                assertEquals(i + 1, ((Number) q.get(i).get(q.get(i).fieldIndex("rank"))).intValue());
            }
        }
        Path again = tmp.resolve("badge-again");
        runJob(concat(base, "--set", "sisom.selection=badge", "--set", "sisom.output=" + again));
        assertEquals(ids(tmp.resolve("badge").resolve("selection"), "rank"), ids(again.resolve("selection"), "rank"));
        Path other = tmp.resolve("badge-seed");
        runJob(concat(base, "--set", "sisom.selection=badge", "--set", "sisom.selection.seed=7",
                "--set", "sisom.output=" + other));
        assertNotEquals(ids(tmp.resolve("badge").resolve("selection"), "rank"), ids(other.resolve("selection"), "rank"));
        assertMessage(concat(base, "--set", "sisom.selection=greedy", "--set", "sisom.score=vim",
                "--set", "sisom.output=" + tmp.resolve("no")), "sisom.selection=greedy", "vim");
        assertMessage(concat(base, "--set", "sisom.selection=coreset", "--set", "sisom.queue.classBalance=equal",
                "--set", "sisom.output=" + tmp.resolve("no")), "sisom.selection=coreset", "classBalance");
        assertMessage(concat(base, "--set", "sisom.scores.extra=knn,vimm", "--set", "sisom.output=" + tmp.resolve("no")),
                "sisom.scores.extra", "vimm");
    }

    static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int j = 0; j < f.length; j++) {
            d[j] = f[j];
        }
        return d;
    }

    @Test
    void badOpenWorldSettingsAreRefusedNamingTheSettingOrTheItems() throws Exception {
        String features = "sisom.labeled.features=" + labeledWithUnknowns;
        String[] build = {"build-reference", "--set", features, "--set", "sisom.reference=" + tmp.resolve("r"),
                "--set", PipelineJobTest.STEEP};
        assertMessage(concat(build, "--set", "sisom.labeled.unknownLabels=unknown,shirt"),
                "sisom.labeled.unknownLabels", "[shirt]");
        assertMessage(concat(build, "--set", "sisom.ood.threshold=youden"), "sisom.ood.threshold=youden",
                "sisom.labeled.unknownLabels");
        assertMessage(concat(build, "--set", "sisom.ood.keepShare=1"), "sisom.ood.keepShare", "(0, 1)");
        assertMessage(concat(build, "--set", "sisom.ood.keepShare=0"), "sisom.ood.keepShare", "(0, 1)");
        assertMessage(concat(build, "--set", "sisom.ood.threshold=often"), "sisom.ood.threshold",
                "auto, youden, keep or a number");
        assertMessage(concat(build, "--set", "sisom.ood.threshold=2", "--set", "sisom.ood.metric=auto"),
                "sisom.ood.metric", "not auto");
        // the rejects' label is not named: they are labels of no class, as before
        IllegalArgumentException unnamed = assertThrows(IllegalArgumentException.class,
                () -> SisomJob.run(build, System.out));
        assertTrue(unnamed.getMessage().contains("40 labeled samples") && unnamed.getMessage().contains("'unknown'"),
                unnamed.getMessage());

        String[] score = {"score", "--set", "sisom.reference=" + readmeWork.resolve("reference"), "--set",
                "sisom.pool.features=" + readmeWork.resolve("pool/all/features"), "--set",
                "sisom.output=" + tmp.resolve("o")};
        assertMessage(concat(score, "--set", "sisom.ood.threshold=youden"), "score does not read");
        assertMessage(concat(score, "--set", "sisom.queue.classBalance=prior", "--set",
                "sisom.queue.classPrior=shirt:1,hat:2"), "[hat]", "sisom.queue.classPrior");
        assertMessage(concat(score, "--set", "sisom.queue.classPrior=shirt:1"), "sisom.queue.classBalance=prior");
        assertMessage(concat(score, "--set", "sisom.queue.classBalance=prior"), "sisom.queue.classPrior");

        // labeled sets: only rejects; a class whose samples were all rejected
        Dataset only = filtered(col("label").equalTo("unknown"), "only");
        assertMessage(concat(only.build(), "--set", "sisom.labeled.unknownLabels=unknown"), "only unknown-labeled",
                "40");
        Dataset noBags = filtered(col("label").notEqual("bag"), "nobags");
        assertMessage(concat(noBags.build(), "--set", "sisom.labeled.unknownLabels=unknown"), "[bag]",
                "40 unknown-labeled");
    }

    /** A labeled feature table filtered from the README run's, with its model.json; build-reference args for it. */
    record Dataset(String[] build) {}

    Dataset filtered(org.apache.spark.sql.Column keep, String name) throws Exception {
        Path dir = tmp.resolve(name);
        spark.read().parquet(labeledWithUnknowns).filter(keep).write().parquet(dir.resolve("features").toString());
        Files.copy(readmeWork.resolve("labeled/model.json"), dir.resolve("model.json"));
        return new Dataset(new String[]{"build-reference", "--set", "sisom.labeled.features=" + dir.resolve("features"),
                "--set", "sisom.reference=" + tmp.resolve("r-" + name), "--set", PipelineJobTest.STEEP});
    }

    static void assertMessage(String[] args, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SisomJob.run(args, System.out),
                Arrays.toString(args));
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}

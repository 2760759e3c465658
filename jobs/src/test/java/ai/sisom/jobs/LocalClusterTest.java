package ai.sisom.jobs;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The nightly run with executors in separate JVMs: Spark's {@code local-cluster[2,1,1024]} mode starts a master,
 * two workers and two executor processes. The workers build the executors' classpath from {@code SPARK_HOME/jars};
 * a Maven build has no Spark distribution, so the test makes a SPARK_HOME whose jars/ links this test JVM's
 * classpath. The results must equal those of plain local mode.
 */
class LocalClusterTest {
    @TempDir
    Path tmp;

    private static String[] runArgs(Path root) {
        return new String[]{"run", "--conf", root.resolve("conf/local-samples.properties").toString(),
                "--set", "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "--set", "sisom.labeled.path=" + root.resolve("data-samples/labeled/parquet/data"), "--set",
                "sisom.labeled.format=parquet",
                "--set", "sisom.input.path=" + root.resolve("data-samples/pool/parquet/data"),
                "--set", "sisom.input.format=parquet",
                "--set", "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50", "--set", "sisom.q=20"};
    }

    @Test
    void aRunWithTwoExecutorProcessesEqualsTheLocalModeRun() throws Exception {
        Path root = JobTests.repoRoot();
        JobTests.LocalCluster lc = JobTests.LocalCluster.in(tmp);
        Map<String, Double> cluster = runWith("local-cluster[2,1,1024]", runArgs(root), lc, tmp.resolve("c"), null);
        Map<String, Double> local = runWith("local[2]", runArgs(root), null, tmp.resolve("l"), null);
        assertEquals(1000, cluster.size());
        assertEquals(local, cluster);
    }

    @Test
    void anExecutorKilledDuringExtractionLeavesEverySampleScoredExactlyOnce() throws Exception {
        Path root = JobTests.repoRoot();
        JobTests.LocalCluster lc = JobTests.LocalCluster.in(tmp);
        java.util.concurrent.atomic.AtomicReference<String> killed = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        Map<String, Double> scores = runWith("local-cluster[2,1,1024]", runArgs(root), lc, tmp.resolve("k"),
                spark -> spark.sparkContext().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
                    private volatile int extractionStage = -1;

                    @Override
                    public void onStageSubmitted(org.apache.spark.scheduler.SparkListenerStageSubmitted e) {
                        // the pool's extraction: the feature table's Parquet write after the reference exists
                        if (e.stageInfo().name().contains("ExtractStep") && killed.get() == null
                                && Files.exists(tmp.resolve("k/work/reference/reference.json"))) {
                            extractionStage = e.stageInfo().stageId();
                        }
                    }

                    @Override
                    public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) {
                        if (e.stageId() == extractionStage && !(e.reason() instanceof org.apache.spark.Success$)) {
                            failed.incrementAndGet();
                        }
                    }

                    @Override
                    public void onTaskStart(org.apache.spark.scheduler.SparkListenerTaskStart e) {
                        if (e.stageId() != extractionStage || killed.get() != null) {
                            return;
                        }
                        String executor = e.taskInfo().executorId();
                        killed.set(executor);
                        new Thread(() -> {
                            try {
                                Thread.sleep(300); // the task is reading images or running batches by then
                            } catch (InterruptedException ignored) {
                                return;
                            }
                            // the executor processes are this JVM's children (the workers run in it); their
                            // command lines are read whole from /proc (ProcessHandle cuts them at 4 kB)
                            ProcessHandle.current().descendants().filter(ph -> {
                                try {
                                    String c = new String(Files.readAllBytes(Paths.get("/proc", Long.toString(ph.pid()),
                                            "cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                                    return c.contains("CoarseGrainedExecutorBackend")
                                            && c.contains("--executor-id " + executor + " ");
                                } catch (java.io.IOException gone) {
                                    return false;
                                }
                            }).forEach(ProcessHandle::destroyForcibly);
                        }).start();
                    }
                }));
        assertNotNull(killed.get(), "no extraction task was seen, nothing was killed");
        assertTrue(failed.get() >= 1, "the kill did not hit a running extraction task");
        assertEquals(1000, scores.size(), "every pool sample scored once");
        SparkSession reader = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                .getOrCreate();
        List<Row> features;
        try {
            features = reader.read().parquet(tmp.resolve("k/work/pool/all/features").toString()).select("id")
                    .collectAsList();
        } finally {
            reader.stop();
        }
        assertEquals(1000, features.size(), "no duplicated feature rows from the retried task");
        assertEquals(1000, features.stream().map(r -> r.getString(0)).distinct().count());
    }

    private static Map<String, Double> runWith(String master, String[] args, JobTests.LocalCluster lc, Path out,
                                               java.util.function.Consumer<SparkSession> before) throws Exception {
        SparkSession.Builder b = lc != null ? lc.builder(master, "sisom-local-cluster")
                : SparkSession.builder().master(master).appName("sisom-local-cluster")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2");
        SparkSession spark = b.getOrCreate();
        if (before != null) {
            before.accept(spark);
        }
        try {
            List<String> a = new ArrayList<>(List.of(args));
            a.addAll(List.of("--set", "sisom.work=" + out.resolve("work"), "--set", "sisom.output=" + out.resolve("res")));
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int rc = SisomJob.run(a.toArray(new String[0]), new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertEquals(0, rc, buf.toString(StandardCharsets.UTF_8));
            if (lc != null && before == null) {
                // two executor processes did the work
                assertEquals(2, spark.sparkContext().getExecutorMemoryStatus().size() - 1, "executors besides the driver");
                // and ran libtorch with one thread per task core, not one per host core: Spark sets each executor's
                // OMP_NUM_THREADS, which sizes libtorch's pool, to spark.task.cpus (1 here); conf/spark-*.conf rely on it.
                // Only an executor whose tasks ran the model has libtorch in its address space; one that did not is
                // not asked (loading the natives there would test DJL's native lookup, not the run)
                List<String> threads = spark.range(0, 16, 1, 16).map(
                        (org.apache.spark.api.java.function.MapFunction<Long, String>) i -> {
                            String exec = org.apache.spark.SparkEnv.get().executorId();
                            boolean loaded = Files.readAllLines(Paths.get("/proc/self/maps")).stream()
                                    .anyMatch(l -> l.contains("libtorch"));
                            if (!loaded) {
                                return exec + "=not loaded";
                            }
                            ai.djl.engine.Engine.getEngine("PyTorch");   // the engine the model's tasks loaded
                            return exec + "=" + ai.djl.pytorch.jni.JniUtils.getNumThreads();
                        },
                        org.apache.spark.sql.Encoders.STRING()).distinct().collectAsList();
                List<String> checked = threads.stream().filter(t -> !t.endsWith("=not loaded")).toList();
                assertFalse(checked.isEmpty(), "no executor with libtorch loaded was reached: " + threads);
                for (String t : checked) {
                    assertTrue(t.endsWith("=1"), "libtorch threads in the executors: " + threads);
                }
            }
            Map<String, Double> scores = new HashMap<>();
            for (Row r : spark.read().parquet(out.resolve("res/scores").toString()).collectAsList()) {
                scores.put(r.getString(0), r.getDouble(r.fieldIndex("score")));
            }
            return scores;
        } finally {
            spark.stop();
            JobTests.LocalCluster.clearProperties();
        }
    }
}

package ai.sisom.jobs;

import ai.sisom.image.ImagePreprocessor;
import ai.sisom.ml.SisomEstimator;
import ai.sisom.model.DeviceBinding;
import ai.sisom.model.DeviceResolver;
import ai.sisom.model.Natives;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.spark.FeatureExtraction;
import ai.sisom.spark.ImageSources;
import ai.sisom.spark.PoolScoring;
import ai.sisom.spark.TaskGpus;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * GPU binding on a cluster, on CPUs: {@code local-cluster[2,2,1024]} with two workers whose GPU discovery script
 * reports fake addresses (0 and 1 for the first worker, 2 and 3 for the second), two GPUs per executor and one per
 * task. Every extraction and scoring task must ask for its device exactly once and be given exactly the address
 * Spark assigned to it; the natives here cannot use a GPU, so with the fallback the tasks run on the CPU, and
 * without it the job stops before any task runs, naming the setting.
 */
class GpuBindingTest {
    @TempDir
    Path tmp;

    /** The tasks' resolver, watched: what it returned, next to what the task's context holds. */
    static final class Recording implements DeviceResolver {
        private static final long serialVersionUID = 1L;
        private final String dir;
        private final DeviceResolver real = new TaskGpus();

        Recording(Path dir) {
            this.dir = dir.toString();
        }

        @Override
        public List<String> gpuAddresses() {
            List<String> got = real.gpuAddresses();
            TaskContext task = TaskContext.get();
            ResourceInformation own = task.resourcesJMap().get("gpu");
            String line = String.join("\t", SparkEnv.get().executorId(), Integer.toString(task.stageId()),
                    Integer.toString(task.partitionId()), String.join(",", got),
                    own == null ? "" : String.join(",", own.addresses()));
            try {
                Files.writeString(Paths.get(dir, task.stageId() + "-" + task.partitionId() + "-" + task.attemptNumber()),
                        line);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return got;
        }
    }

    @Test
    void everyTaskIsGivenExactlyTheGpuSparkAssignedItAndWithoutTheFallbackTheJobStopsFirst() throws Exception {
        Path root = JobTests.repoRoot();
        JobTests.LocalCluster lc = JobTests.LocalCluster.in(tmp);
        Path script = tmp.resolve("gpus/discover.sh");
        Files.createDirectories(script.getParent());
        // each worker runs the script once at start-up, one after the other: the n-th gets addresses 2n and 2n+1
        Files.writeString(script, """
                #!/usr/bin/env bash
                d=$(dirname "$0"); n=$(ls "$d" | grep -c '^worker-'); touch "$d/worker-$n"
                echo "{\\"name\\": \\"gpu\\", \\"addresses\\": [\\"$((2 * n))\\", \\"$((2 * n + 1))\\"]}"
                """);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path asked = Files.createDirectories(tmp.resolve("asked"));
        SparkSession spark = lc.builder("local-cluster[2,2,1024]", "sisom-gpu-binding")
                .config("spark.worker.resource.gpu.amount", "2")
                .config("spark.worker.resource.gpu.discoveryScript", script.toString())
                .config("spark.executor.resource.gpu.amount", "2")
                .config("spark.task.resource.gpu.amount", "1")
                .config("spark.executor.cores", "2")
                .config("spark.task.maxFailures", "1")
                .getOrCreate();
        try {
            String model = root.resolve("data-samples/model/fmnist_resnet18w16.pt").toString();
            DeviceBinding watched = new DeviceBinding(new Recording(asked), true);
            FeatureExtraction.Settings s = new FeatureExtraction.Settings(model, 64, ImagePreprocessor.Resize.NONE)
                    .withBinding(watched);
            ImageSources.Options labeledOpts = new ImageSources.Options();
            labeledOpts.labeled = true;
            Dataset<Row> labeledImages = ImageSources.read(spark, ImageSources.Format.PARQUET,
                    root.resolve("data-samples/labeled/parquet/data").toString(), labeledOpts).repartition(3);
            Dataset<Row> poolImages = ImageSources.read(spark, ImageSources.Format.PARQUET,
                    root.resolve("data-samples/pool/parquet/data").toString(), new ImageSources.Options())
                    .repartition(6);
            FeatureExtraction.extract(spark, labeledImages, s).write().parquet(tmp.resolve("lf").toString());
            FeatureExtraction.extract(spark, poolImages, s).write().parquet(tmp.resolve("pf").toString());
            Dataset<Row> labeled = spark.read().parquet(tmp.resolve("lf").toString());
            Dataset<Row> pool = spark.read().parquet(tmp.resolve("pf").toString()).repartition(4);
            SisomScorer scorer = new SisomEstimator().setSteepness("layer1:0.05,layer2:1,layer3:10,avgpool:50")
                    .fit(labeled).scorer();
            PoolScoring.score(spark, pool, scorer, watched).write().parquet(tmp.resolve("scores").toString());
            assertEquals(1000, spark.read().parquet(tmp.resolve("scores").toString()).count());

            List<String[]> records = new ArrayList<>();
            try (Stream<Path> files = Files.list(asked)) {
                for (Path f : files.toList()) {
                    records.add(Files.readString(f).split("\t", -1));
                }
            }
            // 3 labeled + 6 pool extraction tasks + 4 scoring tasks, each asking once
            assertEquals(13, records.size(), "one question per task");
            Map<String, Set<String>> byExecutor = new HashMap<>();
            Set<String> tasks = new HashSet<>();
            for (String[] r : records) {
                assertTrue(tasks.add(r[1] + "/" + r[2]), "task " + r[1] + "/" + r[2] + " asked twice");
                assertFalse(r[4].isEmpty(), "task " + r[1] + "/" + r[2] + " has a GPU assigned");
                assertEquals(1, r[4].split(",").length, "one GPU per task");
                assertEquals(r[4], r[3], "task " + r[1] + "/" + r[2] + " on executor " + r[0] + " got its own GPU");
                byExecutor.computeIfAbsent(r[0], e -> new HashSet<>()).add(r[3]);
            }
            assertEquals(2, byExecutor.size(), "both executors ran tasks: " + byExecutor);
            for (Set<String> addresses : byExecutor.values()) {
                assertTrue(Set.of("0", "1").containsAll(addresses) || Set.of("2", "3").containsAll(addresses),
                        "an executor's tasks used its own worker's GPUs only: " + byExecutor);
            }

            if (!Natives.cudaBuild()) {
                // without the fallback, CPU-only natives stop the job on the driver: exit code 2, the setting named
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SisomJob.run(
                        new String[]{"extract", "--set", "sisom.model=" + model, "--set",
                                "sisom.input.path=" + root.resolve("data-samples/pool/parquet/data"), "--set",
                                "sisom.input.format=parquet", "--set", "sisom.output=" + tmp.resolve("x")},
                        new PrintStream(buf)));
                assertTrue(e.getMessage().contains("CPU-only") && e.getMessage().contains("sisom.gpu.cpuFallback=true"),
                        e.getMessage());
                assertFalse(Files.exists(tmp.resolve("x")), "nothing written");
            } else {
                // a CUDA build on a machine without a GPU: the tasks fail, saying the libtorch sees no GPU
                Exception e = assertThrows(Exception.class, () -> FeatureExtraction.extract(spark, poolImages,
                        s.withBinding(TaskGpus.binding(false))).count());
                assertTrue(e.getMessage().contains("sees no GPU") && e.getMessage().contains("sisom.gpu.cpuFallback"),
                        e.getMessage());
            }
        } finally {
            spark.stop();
            JobTests.LocalCluster.clearProperties();
        }
    }
}

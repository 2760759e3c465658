package ai.sisom.jobs;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The README's cluster command on a real standalone cluster: Spark's own Master and Worker as separate processes
 * (from a Spark distribution laid out of the build's provided scope, {@link SparkDistribution}), the shaded jar
 * submitted through spark-submit's own launcher and {@code SparkSubmit}, the job's settings shipped with
 * {@code --files} and named by file name only, {@code --properties-file conf/spark-cpu.conf}, in client and in
 * cluster deploy mode. Both results must equal local mode's. Executors run with
 * {@code spark.executor.userClassPathFirst=true}, and their logging must still work.
 */
class SparkSubmitIT {
    @TempDir
    static Path tmp;
    private static Path root;
    private static SparkDistribution dist;
    private static Process master;
    private static Process worker;
    private static String masterUrl;
    private static Path workerDir;

    @BeforeAll
    static void startCluster() throws Exception {
        root = JobTests.repoRoot();
        dist = SparkDistribution.create(tmp);
        int port = freePort();
        masterUrl = "spark://127.0.0.1:" + port;
        workerDir = Files.createDirectories(tmp.resolve("worker"));
        Map<String, String> env = Map.of("SPARK_DAEMON_JAVA_OPTS", System.getProperty("sisom.test.jvmFlags", ""));
        Path masterLog = tmp.resolve("master.log");
        master = dist.start(tmp, masterLog, "org.apache.spark.deploy.master.Master",
                List.of("--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", "0"), env);
        awaitLog(masterLog, "I have been elected leader", master);
        worker = dist.start(tmp, tmp.resolve("worker.log"), "org.apache.spark.deploy.worker.Worker",
                List.of("--host", "127.0.0.1", "--webui-port", "0", "--cores", "3", "--memory", "6g",
                        "--work-dir", workerDir.toString(), masterUrl), env);
        awaitLog(masterLog, "Registering worker", worker);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        for (Process p : new Process[]{worker, master}) {
            if (p != null) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    @Test
    void theReadmeCommandGivesLocalModesResultInClientAndClusterMode() throws Exception {
        // 300 of the sample pool's images keep the three runs short
        JobTests.localSpark("sisom-submit-check").read().parquet(root.resolve("data-samples/pool/parquet/data")
                .toString()).orderBy("id").limit(300).write().parquet(tmp.resolve("pool").toString());
        Path local = writeJobConf("local");
        JobTests.runJob("run", "--conf", local.toString());
        Map<String, Double> expected = scores("local");
        assertEquals(300, expected.size());

        for (String mode : List.of("client", "cluster")) {
            Path conf = writeJobConf(mode);
            List<String> args = new ArrayList<>(submitArgs(mode));
            args.addAll(List.of("--files", conf.toString(), shadedJar(), "run", "--conf", conf.getFileName().toString()));
            Result r = submit(mode, args);
            assertEquals(0, r.rc, mode + " mode:\n" + r.log);
            assertTrue(Files.exists(tmp.resolve(mode + "/results/_SUCCESS")), mode + " mode wrote no result:\n" + r.log);
            assertEquals(expected, scores(mode), mode + " mode's scores differ from local mode's");
            assertEquals(selection("local"), selection(mode), mode + " mode's selection differs from local mode's");
        }
        // the executors ran with userClassPathFirst: our jar carries no slf4j, so theirs logs, DJL's lines included
        List<Path> executorLogs;
        try (Stream<Path> s = Files.walk(workerDir)) {
            executorLogs = s.filter(p -> p.getFileName().toString().equals("stderr")
                    && p.getParent().getParent().getFileName().toString().startsWith("app-")).toList();
        }
        assertFalse(executorLogs.isEmpty(), "no executor logs under " + workerDir);
        boolean djlLogged = false;
        for (Path log : executorLogs) {
            String text = Files.readString(log);
            assertFalse(text.contains("SLF4J(E)") || text.contains("not a subtype") || text.contains("SLF4J: "),
                    log + ":\n" + text);
            djlLogged |= text.contains("ai.djl") || text.contains(" PtEngine") || text.contains("PyTorch");
        }
        assertTrue(djlLogged, "no DJL log line in the executors' logs " + executorLogs);
    }

    @Test
    void aBadSettingExitsWith2NamingItsSourceWithoutAStackTrace() throws Exception {
        Path conf = writeJobConf("bad");
        Files.writeString(conf, Files.readString(conf) + "sisom.batchSise=32\n");
        List<String> args = new ArrayList<>(submitArgs("client"));
        args.addAll(List.of("--files", conf.toString(), shadedJar(), "run", "--conf", conf.getFileName().toString()));
        Result r = submit("bad", args);
        assertEquals(2, r.rc, r.log);
        assertTrue(r.log.contains("unknown setting 'sisom.batchSise' (in bad.properties (shipped with --files from")
                && r.log.contains("did you mean 'sisom.batchSize'"), r.log);
        assertFalse(r.log.contains("\tat "), "a stack trace:\n" + r.log);

        List<String> missing = new ArrayList<>(submitArgs("client"));
        missing.addAll(List.of(shadedJar(), "run", "--conf", "nowhere.properties"));
        Result m = submit("missing", missing);
        assertEquals(2, m.rc, m.log);
        assertTrue(m.log.contains("configuration file not found: nowhere.properties"), m.log);
        assertFalse(m.log.contains("\tat "), "a stack trace:\n" + m.log);
    }

    private static List<String> submitArgs(String mode) {
        List<String> a = new ArrayList<>(List.of("--master", masterUrl, "--deploy-mode",
                mode.equals("cluster") ? "cluster" : "client", "--class", "ai.sisom.jobs.SisomJob",
                "--properties-file", root.resolve("conf/spark-cpu.conf").toString(),
                // the test worker is smaller than conf/spark-cpu.conf's executors
                "--conf", "spark.executor.cores=1", "--conf", "spark.task.cpus=1", "--conf", "spark.executor.memory=1g",
                "--conf", "spark.sql.shuffle.partitions=4", "--conf", "spark.ui.enabled=false",
                "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.executor.userClassPathFirst=true",
                "--conf", "spark.executorEnv.DJL_CACHE_DIR=" + tmp.resolve("djl-cache")));
        if (mode.equals("cluster")) {
            a.addAll(List.of("--driver-memory", "1g", "--driver-cores", "1",
                    "--conf", "spark.standalone.submit.waitAppCompletion=true"));
        }
        return a;
    }

    private record Result(int rc, String log) {}

    /** spark-submit ARGS, from a working directory where the job's conf file is not. */
    private static Result submit(String name, List<String> args) throws Exception {
        Path cwd = Files.createDirectories(tmp.resolve("submit-" + name));
        Path log = tmp.resolve("submit-" + name + ".log");
        Process p = dist.start(cwd, log, "org.apache.spark.deploy.SparkSubmit", args, Map.of());
        if (!p.waitFor(8, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("spark-submit did not finish:\n" + Files.readString(log));
        }
        String out = Files.readString(log);
        // cluster mode: the driver ran inside the worker; its output is in its work directory
        try (Stream<Path> s = Files.walk(workerDir)) {
            for (Path d : s.filter(x -> x.getFileName().toString().startsWith("driver-")).toList()) {
                for (String f : List.of("stdout", "stderr")) {
                    if (Files.exists(d.resolve(f))) {
                        out += "\n--- " + d.getFileName() + "/" + f + "\n" + Files.readString(d.resolve(f));
                    }
                }
            }
        }
        return new Result(p.exitValue(), out);
    }

    /** The job's settings for one run, as a user writes them: NAME.properties under tmp/NAME/. */
    private static Path writeJobConf(String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        String conf = String.join("\n",
                "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "sisom.labeled.path=" + root.resolve("data-samples/labeled/parquet/data"),
                "sisom.labeled.format=parquet",
                "sisom.input.path=" + tmp.resolve("pool"),
                "sisom.input.format=parquet",
                "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50",
                "sisom.q=20",
                "sisom.work=" + dir.resolve("work"),
                "sisom.output=" + dir.resolve("results"), "");
        Path f = dir.resolve(name + ".properties");
        Files.writeString(f, conf);
        return f;
    }

    private static Map<String, Double> scores(String name) {
        SparkSession spark = JobTests.localSpark("sisom-submit-check");
        Map<String, Double> m = new TreeMap<>();
        for (Row r : spark.read().parquet(tmp.resolve(name + "/results/scores").toString()).collectAsList()) {
            m.put(r.getString(r.fieldIndex("id")), r.getDouble(r.fieldIndex("score")));
        }
        return m;
    }

    private static List<String> selection(String name) {
        SparkSession spark = JobTests.localSpark("sisom-submit-check");
        return spark.read().parquet(tmp.resolve(name + "/results/selection").toString()).orderBy("rank")
                .select("id").as(org.apache.spark.sql.Encoders.STRING()).collectAsList();
    }

    static String shadedJar() {
        String jar = System.getProperty("sisom.shaded.jar");
        assertNotNull(jar, "sisom.shaded.jar is not set (run through ./mvnw verify)");
        assertTrue(Files.isRegularFile(Paths.get(jar)), jar);
        return jar;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void awaitLog(Path log, String line, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains(line)) {
                return;
            }
            if (!p.isAlive()) {
                fail("process ended:\n" + Files.readString(log));
            }
            Thread.sleep(200);
        }
        fail("no '" + line + "' in " + log + ":\n" + Files.readString(log));
    }
}

package ai.sisom.jobs;

import org.apache.spark.sql.SparkSession;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the job tests share: the repository root, a small local Spark, running a job, removing a temp tree. */
final class JobTests {
    private JobTests() {}

    /** The repository root (Maven sets sisom.repo.root; from the IDE the module's parent). */
    static Path repoRoot() {
        String prop = System.getProperty("sisom.repo.root");
        return prop != null ? Paths.get(prop) : Paths.get("..").toAbsolutePath().normalize();
    }

    static SparkSession localSpark(String app) {
        return SparkSession.builder().master("local[2]").appName(app)
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    /** Runs a job command line, asserts it succeeded, returns what it printed. */
    static String runJob(String... args) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc = SisomJob.run(args, new PrintStream(buf, true, StandardCharsets.UTF_8));
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, out);
        return out;
    }

    /**
     * What Spark's {@code local-cluster} mode needs from a Maven build: its workers build the executors' classpath
     * from {@code SPARK_HOME/jars}, and a Maven build has no Spark distribution, so this makes a SPARK_HOME whose
     * jars/ links this test JVM's classpath; the class directories (target/classes, test-classes) go to the
     * executors through {@code spark.executor.extraClassPath}.
     */
    record LocalCluster(Path home, String classDirs) {
        static LocalCluster in(Path tmp) throws IOException {
            Path home = tmp.resolve("spark-home");
            Path jars = Files.createDirectories(home.resolve("jars"));
            java.util.List<String> dirs = new java.util.ArrayList<>();
            int n = 0;
            for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                Path p = Paths.get(entry);
                if (entry.endsWith(".jar") && Files.isRegularFile(p)) {
                    Files.createSymbolicLink(jars.resolve((n++) + "-" + p.getFileName()), p.toAbsolutePath());
                } else if (Files.isDirectory(p)) {
                    dirs.add(p.toAbsolutePath().toString());
                }
            }
            Files.createDirectories(home.resolve("conf"));
            return new LocalCluster(home, String.join(java.io.File.pathSeparator, dirs));
        }

        /** A session builder for {@code master}, its executors started from this SPARK_HOME. */
        SparkSession.Builder builder(String master, String app) {
            // workers take SPARK_HOME from spark.test.home when spark.testing is set (no env var from inside a JVM)
            System.setProperty("spark.testing", "true");
            System.setProperty("spark.test.home", home.toString());
            return SparkSession.builder().master(master).appName(app)
                    .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                    .config("spark.executor.extraClassPath", classDirs)
                    .config("spark.executor.memory", "1g")
                    // the launcher looks for a source build unless told the Scala version
                    .config("spark.executorEnv.SPARK_SCALA_VERSION", System.getProperty("sisom.scala.binary.version", "2.13"))
                    .config("spark.executor.extraJavaOptions", System.getProperty("sisom.test.jvmFlags", ""));
        }

        static void clearProperties() {
            System.clearProperty("spark.test.home");
            System.clearProperty("spark.testing");
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}

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

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}

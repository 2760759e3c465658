package ai.sisom.jobs;

import ai.sisom.jobs.commands.Commands;
import ai.sisom.jobs.settings.Settings;
import ai.sisom.jobs.settings.SettingsException;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The command line's contract: help and settings from the registry, bad settings refused before Spark starts. */
class CommandLineTest {
    private static final String BEGIN = "<!-- settings:begin";
    private static final String END = "<!-- settings:end -->";

    @Test
    void helpListsEveryCommandAndSettingWithoutStartingSpark() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, SisomJob.run(new String[]{"--help"}, new PrintStream(buf, true, StandardCharsets.UTF_8)));
        String help = buf.toString(StandardCharsets.UTF_8);
        Commands.ALL.forEach(c -> assertTrue(help.contains("  " + c.name() + " "), c.name()));
        Settings.ALL.forEach(s -> assertTrue(help.contains("  " + s.key() + "  ("), s.key()));
        assertFalse(sparkRunning(), "--help started Spark");
    }

    /** A live SparkContext (Spark 3.5 keeps a stopped session as the thread's active one; that one does not count). */
    private static boolean sparkRunning() {
        for (scala.Option<SparkSession> s : List.of(SparkSession.getActiveSession(), SparkSession.getDefaultSession())) {
            if (s.isDefined() && !s.get().sparkContext().isStopped()) {
                return true;
            }
        }
        return false;
    }

    @Test
    void theReadmeSettingsTableIsTheRegistrys() throws Exception {
        String readme = Files.readString(JobTests.repoRoot().resolve("README.md"));
        int b = readme.indexOf(BEGIN);
        int e = readme.indexOf(END);
        assertTrue(b >= 0 && e > b, "README.md has no settings markers");
        String table = readme.substring(readme.indexOf('\n', b) + 1, e);
        assertEquals(Help.markdownTable(Settings.ALL), table,
                "README's settings table differs from the registry: regenerate it with SisomJob --settings-markdown");
    }

    @Test
    void badSettingsAreRefusedBeforeSparkStarts() {
        for (String[] args : List.of(
                new String[]{"extract", "--set", "sisom.outptu=x"},
                new String[]{"extract", "--set", "sisom.q=-1"},
                new String[]{"extract"},
                new String[]{"score", "--set", "sisom.reference=r", "--set", "sisom.output=o"},
                new String[]{"nosuchcommand"},
                new String[]{"run", "--bogus"},
                new String[]{"run", "--conf", "no-such-file.properties"})) {
            assertThrows(SettingsException.class, () -> SisomJob.run(args, new PrintStream(new ByteArrayOutputStream())),
                    String.join(" ", args));
        }
        // every command, given nothing, says what it misses before Spark starts
        for (var c : Commands.ALL) {
            assertThrows(SettingsException.class, () -> SisomJob.run(new String[]{c.name()},
                    new PrintStream(new ByteArrayOutputStream())), c.name());
        }
        assertFalse(sparkRunning(), "a bad setting started Spark");
    }

    /**
     * The README's runner end to end: bin/sisom-local answers a bad setting with exit code 2, one line naming the
     * key, the value's source and the nearest key, no stack trace, without building (this build is current) and
     * without starting Spark. Only for the default build, whose classes bin/sisom-local runs.
     */
    @Test
    void binSisomLocalExitsWith2NamingTheSourceOfABadSetting() throws Exception {
        Path build = Path.of(System.getProperty("sisom.build.dir", "target")).toAbsolutePath().normalize();
        org.junit.jupiter.api.Assumptions.assumeTrue(build.equals(JobTests.repoRoot().resolve("jobs/target")
                .toAbsolutePath().normalize()), "bin/sisom-local runs the default build, not " + build);
        Path conf = Files.createTempFile("sisom-cli", ".properties");
        Files.writeString(conf, "sisom.model=m.pt\nsisom.outptu=x\n");
        try {
            for (List<String> args : List.of(List.of("extract", "--set", "sisom.batchSise=64"),
                    List.of("run", "--conf", conf.toString()),
                    List.of("run", "--conf", JobTests.repoRoot().resolve("conf/local-samples.properties").toString(),
                            "--set", "sisom.q=-3"))) {
                List<String> cmd = new ArrayList<>(List.of(JobTests.repoRoot().resolve("bin/sisom-local").toString()));
                cmd.addAll(args);
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(2, TimeUnit.MINUTES));
                assertEquals(2, p.exitValue(), out);
                assertFalse(out.contains("\tat ") || out.contains("[ERROR]"), "no stack trace, no build: " + out);
                assertTrue(out.startsWith("sisom: error: "), out);
                if (args.get(0).equals("extract")) {
                    assertTrue(out.contains("(from --set sisom.batchSise); did you mean 'sisom.batchSize'"), out);
                } else if (args.contains("sisom.q=-3")) {
                    assertTrue(out.contains("setting 'sisom.q' must be at least 0, got '-3' (from --set sisom.q)"), out);
                } else {
                    assertTrue(out.contains("unknown setting 'sisom.outptu' (in " + conf + "); did you mean 'sisom.output'"),
                            out);
                }
            }
        } finally {
            Files.delete(conf);
        }
    }

    @Test
    void theProcessExitsWithCode2AndNoStackTraceOnABadSetting() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), SisomJob.class.getName(), "extract", "--set",
                "sisom.batchSise=64"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("sisom: error: unknown setting 'sisom.batchSise' (from --set sisom.batchSise)")
                && out.contains("did you mean 'sisom.batchSize'"), out);
        assertFalse(out.contains("\tat "), "no stack trace: " + out);
    }
}

package ai.sisom.bench;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the benchmark Python's own tests (bench/python/tests: the AL strategies and the merge of runs) with Debian's
 * python3-torch. Skipped where torch is not installed, except under CI, where .ci/run installs it.
 */
class PythonBenchmarkToolsTest {
    private static final Path ROOT = Paths.get(System.getProperty("sisom.repo.root", "..")).toAbsolutePath().normalize();

    private static String python() {
        String p = System.getenv("SISOM_PYTHON");
        return p != null ? p : Files.isExecutable(Paths.get("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    private static boolean torchAvailable() {
        try {
            Process p = new ProcessBuilder(python(), "-c", "import torch, numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void benchmarkPythonTestSuitePasses() throws Exception {
        boolean torch = torchAvailable();
        if ("true".equals(System.getenv("CI"))) {
            assertTrue(torch, "CI must have Debian's python3-torch (installed by .ci/run)");
        }
        assumeTrue(torch, "python3-torch not installed: benchmark Python tests skipped");
        Process p = new ProcessBuilder(python(), "-m", "unittest", "discover", "-v", "-s", "bench/python/tests")
                .directory(ROOT.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "benchmark Python tests timed out");
        System.out.println(out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("\nOK"), out);
    }
}

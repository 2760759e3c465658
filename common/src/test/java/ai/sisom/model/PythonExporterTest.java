package ai.sisom.model;

import ai.sisom.TestPaths;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the exporter's own Python test suite (python/tests) with Debian's python3-torch, so that `mvn verify`
 * covers the tool users run on their models. Skipped where torch is not installed, except under CI, where
 * .ci/run installs it and a missing torch is a failure.
 */
class PythonExporterTest {
    private static String python() {
        String p = System.getenv("SISOM_PYTHON");
        return p != null ? p : Files.isExecutable(Paths.get("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    private static boolean torchAvailable() {
        try {
            Process p = new ProcessBuilder(python(), "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void exporterTestSuitePasses() throws Exception {
        boolean ci = "true".equals(System.getenv("CI"));
        boolean torch = torchAvailable();
        if (ci) {
            assertTrue(torch, "CI must have Debian's python3-torch (installed by .ci/run)");
        }
        assumeTrue(torch, "python3-torch not installed: exporter tests skipped (apt-get install python3-torch)");
        Path root = TestPaths.repoRoot();
        Process p = new ProcessBuilder(python(), "-m", "unittest", "discover", "-v", "-s", "python/tests")
                .directory(root.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "exporter tests timed out");
        System.out.println(out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("\nOK"), out);
    }
}

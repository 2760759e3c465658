package ai.sisom.jobs;

import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** conf/getGpusResources.sh prints what Spark's own parser reads: the CUDA ordinals the executor process sees. */
class GpuDiscoveryScriptTest {
    @TempDir
    Path tmp;

    private List<String> discover(Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", JobTests.repoRoot().resolve("conf/getGpusResources.sh").toString());
        pb.environment().remove("CUDA_VISIBLE_DEVICES");
        pb.environment().put("PATH", tmp + ":/usr/bin:/bin");
        pb.environment().putAll(env);
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        ResourceInformation info = ResourceInformation.parseJson(out);
        assertEquals("gpu", info.name());
        return List.of(info.addresses());
    }

    @Test
    void reportsWhatNvidiaSmiListsAndTheOrdinalsCudaVisibleDevicesLeaves() throws Exception {
        Path smi = tmp.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\nprintf '0\\n1\\n2\\n3\\n'\n");
        Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals(List.of("0", "1", "2", "3"), discover(Map.of()));
        // isolated to physical GPUs 5 and 7: the process sees them as 0 and 1
        assertEquals(List.of("0", "1"), discover(Map.of("CUDA_VISIBLE_DEVICES", "5,7")));
        assertEquals(List.of(), discover(Map.of("CUDA_VISIBLE_DEVICES", "")));
    }

    @Test
    void aNodeWithoutNvidiaSmiHasNoGpus() throws Exception {
        assertEquals(List.of(), discover(Map.of()));
    }
}

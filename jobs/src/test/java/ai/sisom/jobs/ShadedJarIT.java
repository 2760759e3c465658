package ai.sisom.jobs;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What the spark-submit jar may carry. A class that the cluster also ships (any jar of the Spark distribution: Spark,
 * Hadoop, hadoop-aws and their dependencies) must be relocated under {@code ai.sisom.shaded} or left out, or it
 * shadows or clashes with the cluster's copy (under {@code userClassPathFirst} a second slf4j-api breaks all
 * logging); gson, slf4j and commons-* must not be there unrelocated at all, whatever the Spark version ships.
 * Every other third-party package must be on the list below, with its reason.
 */
class ShadedJarIT {
    /** Third-party packages the jar carries as they are, and why. */
    private static final Map<String, String> ALLOWED = Map.of(
            "ai/djl/", "DJL itself: no Spark ships it",
            "com/sun/jna/", "JNA (DJL's CUDA probe): its native library binds to these class names, so it cannot be "
                    + "relocated; no supported Spark ships it (checked below against the distribution)");
    private static final List<String> BANNED = List.of("com/google/gson/", "org/slf4j/", "org/apache/commons/");

    @Test
    void theJarCarriesNoUnrelocatedCopyOfWhatTheClusterShips() throws Exception {
        Set<String> ours = classes(SparkSubmitIT.shadedJar());
        assertTrue(ours.contains("ai/sisom/jobs/SisomJob.class"));
        assertTrue(ours.stream().anyMatch(c -> c.startsWith("ai/sisom/shaded/gson/")), "gson is relocated");

        Map<String, String> cluster = new HashMap<>();
        String cp = Files.readString(SparkDistribution.classpathFile()).trim();
        for (String jar : cp.split(File.pathSeparator)) {
            if (jar.endsWith(".jar")) {
                for (String c : classes(jar)) {
                    cluster.putIfAbsent(c, jar);
                }
            }
        }
        assertTrue(cluster.containsKey("org/apache/spark/SparkContext.class"), "the distribution holds Spark");

        Map<String, String> clashes = new TreeMap<>();
        Set<String> unknown = new TreeSet<>();
        for (String c : ours) {
            if (c.startsWith("ai/sisom/") || c.startsWith("META-INF/") || c.equals("module-info.class")) {
                continue;
            }
            if (cluster.containsKey(c)) {
                clashes.putIfAbsent(pkg(c), cluster.get(c));
            }
            for (String banned : BANNED) {
                assertFalse(c.startsWith(banned), "unrelocated " + c);
            }
            if (ALLOWED.keySet().stream().noneMatch(c::startsWith)) {
                unknown.add(pkg(c));
            }
        }
        assertEquals(Map.of(), clashes, "packages of the jar that the cluster also ships (relocate or exclude them)");
        assertEquals(Set.of(), unknown, "third-party packages not on the allowed list");
    }

    @Test
    void theJarHasOurMainClassDjlsEngineAndTheLinuxNatives() throws Exception {
        try (JarFile jar = new JarFile(SparkSubmitIT.shadedJar())) {
            assertEquals("ai.sisom.jobs.SisomJob", jar.getManifest().getMainAttributes().getValue("Main-Class"));
            ZipEntry engines = jar.getEntry("META-INF/services/ai.djl.engine.EngineProvider");
            assertNotNull(engines);
            String providers = new String(jar.getInputStream(engines).readAllBytes());
            assertTrue(providers.contains("ai.djl.pytorch.engine.PtEngineProvider"), providers);
            List<String> natives = new ArrayList<>();
            jar.stream().map(ZipEntry::getName).filter(n -> n.startsWith("pytorch/") || n.startsWith("jnilib/"))
                    .filter(n -> !n.endsWith("/")).forEach(natives::add);
            assertTrue(natives.stream().anyMatch(n -> n.startsWith("pytorch/cpu/linux-x86_64/")), natives.toString());
            assertTrue(natives.stream().anyMatch(n -> n.startsWith("jnilib/linux-x86_64/cpu/")), natives.toString());
            assertTrue(natives.stream().noneMatch(n -> n.contains("/osx-") || n.contains("/win-")), natives.toString());
        }
    }

    private static Set<String> classes(String jar) throws Exception {
        Set<String> out = new TreeSet<>();
        try (JarFile j = new JarFile(jar)) {
            j.stream().map(ZipEntry::getName).filter(n -> n.endsWith(".class"))
                    // multi-release copies are the same classes
                    .map(n -> n.startsWith("META-INF/versions/") ? n.replaceFirst("META-INF/versions/\\d+/", "") : n)
                    .forEach(out::add);
        }
        return out;
    }

    private static String pkg(String cls) {
        return cls.substring(0, cls.lastIndexOf('/') + 1);
    }
}

package ai.sisom.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code spark-submit --packages ai.sisom:sisom-jobs_SCALA:VERSION}: Spark's own Ivy resolution, with its default
 * chain of resolvers, finds our artifacts in a Maven repository laid out as install and deploy lay it out (with the
 * installed, flattened POMs), their dependencies where Central would serve them, and the job's main class runs from
 * them. Spark and Hadoop, provided by the cluster, must not be fetched.
 *
 * <p>Both repositories are served over HTTP, as a team's repository manager serves a cluster: our artifacts at the
 * {@code --repositories} URL, and the local Maven repository (less {@code ai/sisom}, so an earlier install cannot
 * stand in for this build) as Central, through Spark's {@code DEFAULT_ARTIFACT_REPOSITORY}, passing on to Central the
 * few files it lacks (as a proxying repository manager does); the spark-submit JVM gets an empty home, so Ivy's
 * {@code local-m2-cache} is empty and nothing is read over {@code file:}. Over {@code file:}
 * the cuda build could not pass: Ivy 2.5 reads a file's length as an int and takes the 2.4 GB CUDA natives jar
 * for absent (docs/gpu.md).
 */
class PackagesIT {
    @TempDir
    Path tmp;

    @Test
    void sparkSubmitPackagesResolvesTheInstalledCoordinatesAndRunsTheJob() throws Exception {
        Path root = JobTests.repoRoot();
        String scala = System.getProperty("sisom.scala.binary.version", "2.13");
        String version = System.getProperty("sisom.version");
        assertNotNull(version, "sisom.version is not set (run through ./mvnw verify)");
        Path jobsBuild = SparkDistribution.buildDir().toAbsolutePath();
        Path commonBuild = root.resolve("common").resolve(root.resolve("jobs").relativize(jobsBuild));
        Path repo = tmp.resolve("repo");
        install(repo, "sisom-common_" + scala, version, commonBuild);
        install(repo, "sisom-jobs_" + scala, version, jobsBuild);

        List<Path> localRepos = new ArrayList<>();
        for (String r : new String[]{System.getProperty("sisom.local.repo"), System.getProperty("sisom.local.repo.tail")}) {
            if (r != null && !r.isBlank() && !r.startsWith("${") && Files.isDirectory(Paths.get(r))) {
                localRepos.add(Paths.get(r).toAbsolutePath());
            }
        }
        assertFalse(localRepos.isEmpty(), "no local Maven repository (run through ./mvnw verify)");
        Path app = tmp.resolve("empty.jar"); // spark-submit needs a primary resource; the job comes from --packages
        try (JarOutputStream ignored = new JarOutputStream(Files.newOutputStream(app), new Manifest())) {
            // an empty jar
        }
        Path home = Files.createDirectories(tmp.resolve("home"));
        SparkDistribution dist = SparkDistribution.create(tmp);
        Path ivy = tmp.resolve("ivy");
        Path log = tmp.resolve("submit.log");
        String natives = System.getProperty("sisom.pytorch.native", "pytorch-native-cpu");
        try (HttpRepository http = new HttpRepository()) {
            String team = http.serve("/team/", List.of(repo));
            // files the local repositories lack (jars of versions Maven's mediation did not pick) come from Central
            String central = http.serveProxying("/central/", localRepos, "https://repo.maven.apache.org/maven2/", "ai/sisom/");
            Process p = dist.start(tmp, log, "org.apache.spark.deploy.SparkSubmit", List.of("--master", "local[1]",
                    "--packages", "ai.sisom:sisom-jobs_" + scala + ":" + version,
                    "--repositories", team,
                    "--driver-java-options", "-Duser.home=" + home,
                    "--conf", "spark.jars.ivy=" + ivy, "--class", "ai.sisom.jobs.SisomJob", app.toString(), "--help"),
                    Map.of("DEFAULT_ARTIFACT_REPOSITORY", central));
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), "spark-submit --packages did not finish");
            String out = Files.readString(log);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("sisom.model") && out.contains("  run "), "the job's --help:\n" + out);
            assertTrue(http.served.stream().anyMatch(f -> f.startsWith("/team/ai/sisom/sisom-jobs_") && f.endsWith(".jar"))
                    && Stream.concat(http.served.stream(), http.proxied.stream())
                    .anyMatch(f -> f.startsWith("/central/ai/djl/pytorch/" + natives + "/")
                    && f.endsWith(".jar")), "not resolved through the two repositories: "
                    + http.served + ", passed on to Central: " + http.proxied);
        }

        List<String> fetched;
        try (Stream<Path> s = Files.list(ivy.resolve("jars"))) {
            fetched = s.map(f -> f.getFileName().toString()).sorted().toList();
        }
        for (String want : List.of("ai.sisom_sisom-jobs_" + scala + "-" + version + ".jar",
                "ai.sisom_sisom-common_" + scala + "-" + version + ".jar")) {
            assertTrue(fetched.contains(want), want + " not in " + fetched);
        }
        assertTrue(fetched.stream().anyMatch(f -> f.startsWith("ai.djl_api-")), fetched.toString());
        // the natives of the profile this build was made with: the CPU ones, or CUDA's in the cuda build
        assertTrue(fetched.stream().anyMatch(f -> f.startsWith("ai.djl.pytorch_" + natives + "-")
                && f.contains("linux-x86_64")), "the natives (" + natives + ", a classifier dependency): " + fetched);
        assertTrue(fetched.stream().noneMatch(f -> f.startsWith("org.apache.spark") || f.startsWith("org.apache.hadoop")
                || f.startsWith("org.scala-lang")), "provided dependencies were fetched: " + fetched);
    }

    /** What maven-install-plugin writes for one module: the jar and the (flattened) POM. */
    private static void install(Path repo, String artifact, String version, Path build) throws Exception {
        Path dir = Files.createDirectories(repo.resolve("ai/sisom").resolve(artifact).resolve(version));
        Path jar = build.resolve(artifact + "-" + version + ".jar");
        Path pom = build.resolve(".flattened-pom.xml");
        assertTrue(Files.isRegularFile(jar) && Files.isRegularFile(pom), jar + " / " + pom + " (package first)");
        String text = Files.readString(pom);
        assertTrue(text.contains("<artifactId>" + artifact + "</artifactId>") && !text.contains("${"),
                "the installed POM names concrete artifacts: " + pom);
        Files.copy(jar, dir.resolve(artifact + "-" + version + ".jar"));
        Files.copy(pom, dir.resolve(artifact + "-" + version + ".pom"));
    }
}

package ai.sisom.jobs;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Spark distribution made from the build's provided scope (Spark, Hadoop, hadoop-aws: what a cluster ships), laid
 * out as a real one ({@code SPARK_HOME/jars}), and Spark's own launcher: commands run exactly as
 * {@code bin/spark-submit} and {@code bin/spark-class} run them ({@code org.apache.spark.launcher.Main} builds the
 * java command line, from SPARK_HOME, the properties file and the arguments).
 */
final class SparkDistribution {
    final Path home;
    final List<String> jars;
    final String scala;

    private SparkDistribution(Path home, List<String> jars, String scala) {
        this.home = home;
        this.jars = jars;
        this.scala = scala;
    }

    /** SPARK_HOME under {@code dir}, its jars/ linking the build's provided-scope classpath. */
    static SparkDistribution create(Path dir) throws IOException {
        Path cpFile = classpathFile();
        List<String> jars = new ArrayList<>();
        for (String e : Files.readString(cpFile).trim().split(File.pathSeparator)) {
            if (e.endsWith(".jar")) {
                jars.add(e);
            }
        }
        Path home = dir.resolve("spark-home");
        Path jarDir = Files.createDirectories(home.resolve("jars"));
        for (String j : jars) {
            Path p = Paths.get(j);
            Path link = jarDir.resolve(p.getFileName());
            if (!Files.exists(link)) {
                Files.createSymbolicLink(link, p);
            }
        }
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("RELEASE"), "Spark (test distribution from the build's provided scope)\n");
        return new SparkDistribution(home, jars, System.getProperty("sisom.scala.binary.version", "2.13"));
    }

    /** Written by the jobs/spark-distribution module, in the build directory matching this module's. */
    static Path classpathFile() {
        Path jobs = JobTests.repoRoot().resolve("jobs");
        Path rel = jobs.relativize(buildDir().toAbsolutePath());
        return jobs.resolve("spark-distribution").resolve(rel).resolve("spark-distribution.classpath");
    }

    static Path buildDir() {
        return Paths.get(System.getProperty("sisom.build.dir", "target"));
    }

    /** The environment bin/spark-class would give a Spark process. */
    Map<String, String> env(ProcessBuilder pb) {
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", home.toString());
        // the launcher asks for the Scala version when SPARK_HOME is not a source build
        env.put("SPARK_SCALA_VERSION", scala);
        env.put("DJL_OFFLINE", "true");
        // every process binds and connects on loopback only
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_LOCAL_HOSTNAME", "localhost");
        env.remove("SPARK_CONF_DIR");
        return env;
    }

    /** The java command bin/spark-class would exec for {@code mainClass args}, built by Spark's launcher. */
    List<String> command(Path workDir, String mainClass, List<String> args) throws Exception {
        List<String> launcher = new ArrayList<>(List.of(java(), "-Xmx128m", "-cp", home.resolve("jars") + "/*",
                "org.apache.spark.launcher.Main", mainClass));
        launcher.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(launcher).directory(workDir.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        env(pb);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("Spark's launcher failed for " + launcher);
        }
        List<String> cmd = new ArrayList<>();
        for (String part : new String(out, StandardCharsets.UTF_8).split("\0")) {
            String arg = part.replaceAll("^\\n+|\\n+$", "");
            if (!arg.isEmpty()) {
                cmd.add(arg);
            }
        }
        return cmd;
    }

    /** Starts {@code mainClass args} as bin/spark-class would, its output (both streams) going to {@code log}. */
    Process start(Path workDir, Path log, String mainClass, List<String> args, Map<String, String> extraEnv)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command(workDir, mainClass, args)).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        env(pb).putAll(extraEnv);
        return pb.start();
    }

    static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }
}

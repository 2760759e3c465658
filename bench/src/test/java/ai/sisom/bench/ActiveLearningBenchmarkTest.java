package ai.sisom.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the active-learning benchmark (bench/python/al_benchmark.py) in its reduced configuration, every setting (closed
 * set, open set, polluted pool), with the job server started from this test JVM's classpath, and checks that its
 * outputs are complete and consistent, so the harness cannot rot. Skipped where Debian's Python lacks torch,
 * matplotlib, scikit-learn or scikit-image, except under CI (.ci/run installs them), where that is a failure.
 */
class ActiveLearningBenchmarkTest {
    static final List<String> CLOSED = List.of("random", "entropy", "margin", "coreset", "badge", "sisom", "sisome",
            "sisom-greedy");
    static final List<String> OPEN = concat(CLOSED, "sisome-gated", "sisom-greedy-gated", "lfosa");
    static final List<String> POLLUTED = List.of("sisome-gated", "sisom-greedy-gated", "sisome", "random", "entropy",
            "badge", "lfosa");
    static final List<String> SISOM_POLLUTED = List.of("sisome-gated", "sisom-greedy-gated", "sisome");
    // the reduced preset of al_benchmark.py
    static final int INITIAL = 20;
    static final int Q = 10;
    static final int CYCLES = 1;
    static final int POLLUTED_CYCLES = 2;

    @TempDir
    Path tmp;

    static Path root() {
        String prop = System.getProperty("sisom.repo.root");
        return prop != null ? Paths.get(prop) : Paths.get("..").toAbsolutePath().normalize();
    }

    static String python() {
        String p = System.getenv("SISOM_PYTHON");
        return p != null ? p : Files.isExecutable(Paths.get("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    static boolean pythonReady() {
        try {
            Process p = new ProcessBuilder(python(), "-c", "import torch, numpy, matplotlib, PIL, sklearn, skimage")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0
                    && Files.isDirectory(Paths.get("/usr/share/datasets/fashion-mnist"));
        } catch (Exception e) {
            return false;
        }
    }

    /** The launch file JobServer --print-launch would write, from this JVM's classpath and the pom's JVM flags. */
    Path launchFile() throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add("jvm\t-Xmx2g");
        for (String f : System.getProperty("sisom.test.jvmFlags", "").trim().split("\\s+")) {
            if (!f.isEmpty()) {
                lines.add("jvm\t" + f);
            }
        }
        lines.add("cp\t" + System.getProperty("java.class.path"));
        return Files.write(tmp.resolve("launch.txt"), lines);
    }

    static List<Map<String, String>> csv(Path file) throws Exception {
        List<String> lines = Files.readAllLines(file);
        String[] head = lines.get(0).split(",", -1);
        List<Map<String, String>> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] v = line.split(",", -1);
            assertEquals(head.length, v.length, "row of " + file + ": " + line);
            Map<String, String> row = new HashMap<>();
            for (int i = 0; i < head.length; i++) {
                row.put(head[i], v[i]);
            }
            rows.add(row);
        }
        return rows;
    }

    @Test
    void reducedBenchmarkWritesEveryStrategyCycleSelectionTableAndPlot() throws Exception {
        boolean ready = pythonReady();
        if ("true".equals(System.getenv("CI"))) {
            assertTrue(ready, "CI must have python3-torch, python3-matplotlib, python3-pil, python3-sklearn, "
                    + "python3-skimage and dataset-fashion-mnist");
        }
        assumeTrue(ready, "Debian's python3-torch/matplotlib/PIL/sklearn/skimage or dataset-fashion-mnist missing: "
                + "benchmark skipped");
        Path out = tmp.resolve("out");
        // one thread: the reduced run is tiny, and two threads on a busy machine make OpenMP spin (10x slower)
        Process p = new ProcessBuilder(python(), "bench/python/al_benchmark.py", "--preset", "reduced", "--open-set",
                "--polluted", "--threads", "1", "--launch", launchFile().toString(), "--out", out.toString())
                .directory(root().toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(15, TimeUnit.MINUTES), "benchmark timed out");
        System.out.println(log);
        assertEquals(0, p.exitValue(), log);

        Map<String, List<String>> strategies = Map.of("closed", CLOSED, "open", OPEN, "polluted-50", POLLUTED);
        List<Map<String, String>> cycles = csv(out.resolve("cycles.csv"));
        assertEquals(CLOSED.size() * (CYCLES + 1) + OPEN.size() * (CYCLES + 1)
                + POLLUTED.size() * (POLLUTED_CYCLES + 1), cycles.size());
        for (var e : strategies.entrySet()) {
            int nc = e.getKey().startsWith("polluted") ? POLLUTED_CYCLES : CYCLES;
            for (String s : e.getValue()) {
                for (int c = 0; c <= nc; c++) {
                    final int cycle = c;
                    Map<String, String> row = cycles.stream().filter(r -> r.get("setting").equals(e.getKey())
                            && r.get("strategy").equals(s) && r.get("cycle").equals(String.valueOf(cycle)))
                            .findFirst().orElseThrow(() -> new AssertionError(e.getKey() + "/" + s + " cycle " + cycle));
                    assertEquals(INITIAL + c * Q, Integer.parseInt(row.get("labeled")), row.toString());
                    double acc = Double.parseDouble(row.get("accuracy"));
                    assertTrue(acc >= 0 && acc <= 1, row.toString());
                    if (c > 0) {
                        double share = Double.parseDouble(row.get("known_share"));
                        assertTrue(share >= 0 && share <= 1, row.toString());
                        if (e.getKey().equals("closed")) {
                            assertEquals(1.0, share, row.toString());
                        }
                        boolean sisom = s.startsWith("sisom");
                        assertEquals(sisom, !row.get("ood_mode").isEmpty(), "the OOD filter recorded: " + row);
                        // recall needs unknowns in the pool; precision needs a flag
                        assertEquals(sisom && !e.getKey().equals("closed"), !row.get("filter_recall").isEmpty(),
                                row.toString());
                        for (String k : List.of("filter_precision", "filter_recall")) {
                            if (!row.get(k).isEmpty()) {
                                double v = Double.parseDouble(row.get(k));
                                assertTrue(v >= 0 && v <= 1, row.toString());
                            }
                        }
                    }
                }
            }
        }
        // the nightly loop: a polluted cycle's threshold is calibrated on every unknown queried before it
        for (String s : SISOM_POLLUTED) {
            Map<String, String> first = row(cycles, "polluted-50", s, 1);
            Map<String, String> second = row(cycles, "polluted-50", s, 2);
            assertEquals("keep", first.get("ood_mode"), "no unknowns in the first cycle: " + first);
            int unknowns = Integer.parseInt(first.get("queried")) - Integer.parseInt(first.get("queried_known"));
            assertEquals(unknowns, Integer.parseInt(second.get("ood_unknowns")), second.toString());
            assertEquals(unknowns > 0 ? "youden" : "keep", second.get("ood_mode"), second.toString());
        }

        // every strategy queries q new, distinct samples per cycle, never one of the initial labeled set
        Map<String, Set<String>> initial = new HashMap<>();
        for (Map<String, String> r : csv(out.resolve("initial.csv"))) {
            initial.computeIfAbsent(r.get("setting") + "/" + r.get("seed"), k -> new HashSet<>()).add(r.get("id"));
        }
        assertEquals(INITIAL, initial.get("closed/0").size());
        assertEquals(INITIAL, initial.get("open/0").size());
        assertEquals(INITIAL, initial.get("polluted-50/0").size());
        Map<String, List<String>> picked = new HashMap<>();
        for (Map<String, String> r : csv(out.resolve("selections.csv"))) {
            picked.computeIfAbsent(r.get("setting") + "/" + r.get("strategy") + "/" + r.get("seed"), k -> new ArrayList<>())
                    .add(r.get("id"));
        }
        for (var e : strategies.entrySet()) {
            for (String s : e.getValue()) {
                List<String> ids = picked.get(e.getKey() + "/" + s + "/0");
                assertNotNull(ids, e.getKey() + "/" + s + " selected nothing");
                assertEquals((e.getKey().startsWith("polluted") ? POLLUTED_CYCLES : CYCLES) * Q, ids.size(),
                        e.getKey() + "/" + s);
                assertEquals(ids.size(), new HashSet<>(ids).size(), e.getKey() + "/" + s + " selected a sample twice");
                for (String id : ids) {
                    assertFalse(initial.get(e.getKey() + "/0").contains(id), s + " selected labeled sample " + id);
                }
            }
        }

        String md = Files.readString(out.resolve("summary.md"));
        for (String s : OPEN) {
            assertTrue(md.contains("| " + s + " |"), "summary.md lacks " + s + ":\n" + md);
        }
        assertTrue(md.contains("Polluted pool (50 % OOD") && md.contains("queue purity") && md.contains("precision"), md);
        for (String png : List.of("learning-curves.png", "open-set.png", "polluted.png")) {
            byte[] b = Files.readAllBytes(out.resolve(png));
            assertTrue(b.length > 1000 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G', png + " is not a PNG plot");
        }
        assertTrue(Files.readString(out.resolve("config.json")).contains("\"preset\": \"reduced\""));
    }

    @Test
    void jobServerReportsABadCommandAndKeepsServing() throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                JobServer.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectError(new File(tmp.resolve("err.txt").toString())).start();
        try (Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
            w.write("score\t--set\tsisom.bogus=1\n--help\n");
        }
        List<String> lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
                .lines().toList();
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue());
        int first = lines.indexOf(JobServer.DONE + "2");
        assertTrue(first > 0, String.join("\n", lines));
        assertTrue(lines.get(first - 1).startsWith(JobServer.ERROR) && lines.get(first - 1).contains("sisom.bogus"),
                String.join("\n", lines));
        assertEquals(JobServer.DONE + "0", lines.get(lines.size() - 1), "the server must go on after an error");
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("usage: SisomJob")));
    }

    static Map<String, String> row(List<Map<String, String>> cycles, String setting, String strategy, int cycle) {
        return cycles.stream().filter(r -> r.get("setting").equals(setting) && r.get("strategy").equals(strategy)
                        && r.get("cycle").equals(String.valueOf(cycle)) && r.get("seed").equals("0")).findFirst()
                .orElseThrow(() -> new AssertionError(setting + "/" + strategy + " cycle " + cycle));
    }

    private static List<String> concat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }
}

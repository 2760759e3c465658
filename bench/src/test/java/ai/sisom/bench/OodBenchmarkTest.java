package ai.sisom.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The OOD benchmark's reduced configuration end to end (what {@code bench/ood.sh --reduced} runs), so the harness
 * cannot rot. Skipped where Debian's Python packages or Fashion-MNIST are missing, except under CI (CI=true), where
 * .ci/run installs them and a skip would hide a broken benchmark.
 */
class OodBenchmarkTest {
    private static final Path ROOT = Paths.get(System.getProperty("sisom.repo.root", "..")).toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private static String python() {
        String p = System.getenv("SISOM_PYTHON");
        return p != null ? p : "/usr/bin/python3";
    }

    private static boolean pythonReady() throws Exception {
        if (!Files.isExecutable(Paths.get(python()))
                || !Files.isRegularFile(Paths.get("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))) {
            return false;
        }
        Process p = new ProcessBuilder(python(), "-c",
                "import numpy, PIL, sklearn, skimage, torch, scipy, matplotlib").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }

    private static String exec(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    @Test
    void reducedConfigurationScoresEveryMethodAndGivesSaneMetrics() throws Exception {
        boolean ready = pythonReady();
        if ("true".equals(System.getenv("CI"))) {
            assertTrue(ready, "CI must have python3-numpy/pil/sklearn/skimage/torch/scipy/matplotlib and "
                    + "dataset-fashion-mnist (installed by .ci/run)");
        }
        assumeTrue(ready, "Debian's Python packages or dataset-fashion-mnist are not installed");
        Path data = tmp.resolve("data");
        Path out = tmp.resolve("out");
        exec(ROOT, python(), "bench/python/ood_data.py", data.toString(), "--reduced");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        OodBenchmark.run(data, out, new String[]{"model=" + ROOT.resolve("data-samples/model/fmnist_resnet18w16.pt")},
                new PrintStream(log, true, StandardCharsets.UTF_8));
        exec(ROOT, python(), "bench/python/ood_plots.py", out.toString());
        for (String f : List.of("results.csv", "results.md", "scores.csv", "auroc.png", "histograms.png")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }

        // method -> set -> AUROC
        Map<String, Map<String, Double>> auroc = new HashMap<>();
        List<String> lines = Files.readAllLines(out.resolve("results.csv"));
        for (String line : lines.subList(1, lines.size())) {
            List<String> c = OodBenchmark.parseCsvLine(line);
            for (int i = 4; i <= 7; i++) {
                double v = Double.parseDouble(c.get(i));
                assertTrue(v >= 0 && v <= 1, "metric out of [0, 1]: " + line);
            }
            auroc.computeIfAbsent(c.get(0), k -> new HashMap<>()).put(c.get(2), Double.parseDouble(c.get(4)));
        }
        // 10 baselines and 16 SISOM variants, each on 5 sets plus the near and far means
        assertEquals(26, auroc.size(), auroc.keySet().toString());
        for (Map<String, Double> m : auroc.values()) {
            assertEquals(7, m.size());
        }
        for (String v : List.of("sample", "anchor")) {
            assertTrue(auroc.containsKey("SISOMe (" + v + ", subset, search)"), auroc.keySet().toString());
            assertTrue(auroc.containsKey("SISOM (" + v + ", fixed)"), auroc.keySet().toString());
        }
        // uniform noise is easy for any working detector; a sign or pairing bug would put it near or below 0.5
        assertTrue(auroc.get("Energy").get("noise") > 0.9, auroc.get("Energy").toString());
        assertTrue(auroc.get("MSP").get("noise") > 0.8, auroc.get("MSP").toString());
        assertTrue(auroc.get("Mahalanobis").get("far-mean") > 0.9, auroc.get("Mahalanobis").toString());
        assertTrue(auroc.get("SISOMe (sample, fixed)").get("noise") > 0.75, auroc.get("SISOMe (sample, fixed)").toString());

        // the bundled model's test accuracy is 0.9179 on all 10,000 images; 500 of them stay within 3 sigma
        Matcher acc = Pattern.compile("ID accuracy \\*\\*([0-9.]+)\\*\\*").matcher(Files.readString(out.resolve("results.md")));
        assertTrue(acc.find());
        double a = Double.parseDouble(acc.group(1));
        assertEquals(0.9179, a, 3 * Math.sqrt(0.9179 * 0.0821 / 500), "ID accuracy");
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("ood-benchmark: 500 fit, 1250 eval samples"),
                log.toString(StandardCharsets.UTF_8));

        // reusing the extracted features gives the same metrics (scoring is deterministic), without extracting
        Path again = tmp.resolve("again");
        OodBenchmark.run(data, again, new String[]{"features=" + out.resolve("features")}, System.out);
        assertFalse(Files.exists(again.resolve("features")));
        List<String> first = Files.readAllLines(out.resolve("results.csv"));
        List<String> second = Files.readAllLines(again.resolve("results.csv"));
        assertEquals(first.size(), second.size());
        for (int i = 0; i < first.size(); i++) {
            // the last column is the method's run time
            assertEquals(first.get(i).substring(0, first.get(i).lastIndexOf(',')),
                    second.get(i).substring(0, second.get(i).lastIndexOf(',')));
        }
    }

    @Test
    void missingDataAndUnknownSettingsAreRefusedNamingWhat() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OodBenchmark.run(tmp, tmp.resolve("out"), new String[0], System.out));
        assertTrue(e.getMessage().contains("fit/manifest.csv") && e.getMessage().contains("ood_data.py"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OodBenchmark.run(tmp, tmp.resolve("out"), new String[]{"knn.kk=5"}, System.out));
        assertTrue(e.getMessage().contains("knn.kk=5"), e.getMessage());
    }

    @Test
    void aHeadThatDoesNotReproduceTheLogitsIsRefused() throws Exception {
        Path head = tmp.resolve("head.json");
        Files.writeString(head, "{\"weight\": [[1, 0], [0, 1]], \"bias\": [0, 0]}");
        var ok = new OodBenchmark.Sample("a", "s", "far", -1, 0, new double[]{2, 3}, new double[]{2, 3});
        assertEquals(2, OodBenchmark.readHead(head, List.of(ok)).inputs());
        var bad = new OodBenchmark.Sample("b", "s", "far", -1, 0, new double[]{2, 3}, new double[]{3, 2});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OodBenchmark.readHead(head, List.of(ok, bad)));
        assertTrue(e.getMessage().contains("does not reproduce"), e.getMessage());
    }
}

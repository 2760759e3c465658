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
        OodBenchmark.run(data, out, new String[]{"model=" + ROOT.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                        "heldout.model=" + ROOT.resolve("data-samples/model-heldout/fmnist8_resnet18w16.pt"),
                        "conf=" + ROOT.resolve("conf/local-samples.properties")},
                new PrintStream(log, true, StandardCharsets.UTF_8));
        String logText = log.toString(StandardCharsets.UTF_8);
        exec(ROOT, python(), "bench/python/ood_plots.py", out.toString());
        for (String f : List.of("results.csv", "results.md", "scores.csv", "scores-heldout.csv", "auroc.png",
                "histograms.png")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }

        // method -> set -> row; every metric in [0, 1], every AUROC inside its bootstrap interval
        Map<String, Map<String, List<String>>> rows = new HashMap<>();
        Map<String, Boolean> ranked = new HashMap<>();
        List<String> lines = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(OodBenchmark.CSV_HEADER, lines.get(0));
        for (String line : lines.subList(1, lines.size())) {
            List<String> c = OodBenchmark.parseCsvLine(line);
            for (int i = 6; i <= 12; i++) {
                double v = Double.parseDouble(c.get(i));
                assertTrue(v >= 0 && v <= 1, "metric out of [0, 1]: " + line);
            }
            double auroc = Double.parseDouble(c.get(6));
            double lo = Double.parseDouble(c.get(7));
            double hi = Double.parseDouble(c.get(8));
            assertTrue(lo <= auroc + 1e-9 && auroc <= hi + 1e-9 && hi - lo < 0.5, "interval: " + line);
            assertNull(rows.computeIfAbsent(c.get(0), k -> new HashMap<>()).put(c.get(4), c), "twice: " + line);
            ranked.put(c.get(0), Boolean.parseBoolean(c.get(2)));
        }
        // one ranked row per method: 10 baselines, SISOM, SISOMe; apart from them KNN at k=50 and 16 SISOM variants
        List<String> rankedMethods = ranked.keySet().stream().filter(ranked::get).sorted().toList();
        assertEquals(sortedExpected(), rankedMethods);
        assertEquals(12 + 1 + 16, rows.size(), rows.keySet().toString());
        for (String v : List.of("sample", "anchor")) {
            assertFalse(ranked.get("SISOMe (" + v + ", subset, search)"), "a variant is not ranked");
            assertFalse(ranked.get("SISOM (" + v + ", fixed)"));
        }
        assertFalse(ranked.get("KNN (k=50)"));
        // 5 main sets + near/far means, 2 held-out sets + their mean
        List<String> sets = List.of("letters", "digits", "natural", "textures", "noise", "near-mean", "far-mean",
                "shirt", "sneaker", "held-out-mean");
        for (Map.Entry<String, Map<String, List<String>>> e : rows.entrySet()) {
            assertEquals(new java.util.TreeSet<>(sets), new java.util.TreeSet<>(e.getValue().keySet()), e.getKey());
            assertEquals("held-out", e.getValue().get("shirt").get(3));
            assertEquals("main", e.getValue().get("letters").get(3));
        }
        // uniform noise is easy for any working detector; a sign or pairing bug would put it near or below 0.5
        assertTrue(auroc(rows, "Energy", "noise") > 0.9);
        assertTrue(auroc(rows, "MSP", "noise") > 0.8);
        assertTrue(auroc(rows, "Mahalanobis", "far-mean") > 0.9);
        assertTrue(auroc(rows, "SISOMe", "noise") > 0.75);
        // held-out classes are not confused with their ID test set by a working feature-space detector
        assertTrue(auroc(rows, "Mahalanobis", "held-out-mean") > 0.6, rows.get("Mahalanobis").toString());
        // the two FPR conventions are different numbers (columns 11 and 12) for at least some rows
        assertTrue(rows.values().stream().flatMap(m -> m.values().stream())
                .anyMatch(c -> !c.get(11).equals(c.get(12))));

        // KNN's k follows the fit set: 500 (main) and 400 (held-out) fit samples give k = 1; SISOM ranked at the
        // conf's configuration
        assertEquals("k = 1 (fit set 500 / 1000)", rows.get("KNN").get("letters").get(14));
        assertEquals("k = 1 (fit set 400 / 1000)", rows.get("KNN").get("shirt").get(14));
        assertTrue(rows.get("SISOM").get("letters").get(14).startsWith("d_out sample, no subset, steepness grid "
                + "layer1:0.05|1,layer2:1|10,layer3:10|100,avgpool:50|100"), rows.get("SISOM").get("letters").toString());

        // the bundled model's test accuracy is 0.9179 on all 10,000 images; 500 of them stay within 3 sigma
        String md = Files.readString(out.resolve("results.md"));
        Matcher acc = Pattern.compile("suite \\*\\*main\\*\\*.*ID accuracy \\*\\*([0-9.]+)\\*\\*").matcher(md);
        assertTrue(acc.find(), md);
        double a = Double.parseDouble(acc.group(1));
        assertEquals(0.9179, a, 3 * Math.sqrt(0.9179 * 0.0821 / 500), "ID accuracy");
        Matcher heldAcc = Pattern.compile("suite \\*\\*held-out\\*\\*.*ID accuracy \\*\\*([0-9.]+)\\*\\*")
                .matcher(md);
        assertTrue(heldAcc.find(), md);
        assertTrue(Double.parseDouble(heldAcc.group(1)) > 0.85, "the 8-class model's accuracy " + heldAcc.group(1));
        assertTrue(logText.contains("suite main: 500 fit, 1250 eval samples"), logText);
        assertTrue(logText.contains("suite held-out: 400 fit, 796 eval samples"), logText);
        // the ranked table has exactly one row per method, and the other configurations are marked as test-set picks
        String rankedTable = md.substring(md.indexOf("## Ranked"), md.indexOf("## Per question"));
        for (String m : rankedMethods) {
            assertEquals(1, Pattern.compile("\\| " + Pattern.quote(m) + " \\|").matcher(rankedTable).results().count(), m);
        }
        assertTrue(rankedTable.lines().filter(l -> l.startsWith("| ")).noneMatch(l -> l.contains("subset")),
                rankedTable);
        assertTrue(md.contains("choosing on the test sets"));
        for (String q : List.of("### near-OOD", "### far-OOD", "### held-out-OOD")) {
            assertTrue(md.contains(q), q);
        }
        // SISOMe against each other ranked method: the point difference is the two means' difference, and the
        // verdict follows the paired interval
        String ours = md.substring(md.indexOf("### SISOMe\n"), md.indexOf("### SISOM\n"));
        List<String> oursRows = ours.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| method")).toList();
        assertEquals(11, oursRows.size(), ours);
        List<String> groupOrder = List.of("near", "far", "held-out");
        for (String line : oursRows) {
            String[] c = line.substring(2, line.length() - 2).split(" \\| ");
            assertEquals(1 + 3 * groupOrder.size(), c.length, line);
            for (int g = 0; g < groupOrder.size(); g++) {
                String mean = groupOrder.get(g) + "-mean";
                double want = 100 * (auroc(rows, "SISOMe", mean) - auroc(rows, c[0], mean));
                assertEquals(want, Double.parseDouble(c[1 + 3 * g]), 0.011, line);
                String[] ci = c[2 + 3 * g].split(" to ");
                double lo = Double.parseDouble(ci[0]);
                double hi = Double.parseDouble(ci[1]);
                assertTrue(lo <= hi, line);
                assertEquals(lo > 0 ? "**better**" : hi < 0 ? "**worse**" : "tie", c[3 + 3 * g], line);
            }
        }

        // reusing the extracted features gives the same metrics and intervals for the ranked methods (scoring and
        // the bootstrap are deterministic, and the bootstrap's resamples do not depend on which methods run),
        // without extracting; variants=false scores only the ranked configurations
        Path again = tmp.resolve("again");
        OodBenchmark.run(data, again, new String[]{"features=" + out.resolve("features"), "variants=false",
                "conf=" + ROOT.resolve("conf/local-samples.properties")}, System.out);
        assertFalse(Files.exists(again.resolve("features")));
        List<List<String>> first = rankedRows(out.resolve("results.csv"));
        List<List<String>> second = rankedRows(again.resolve("results.csv"));
        assertEquals(12 * sets.size(), first.size());
        assertEquals(first, second);
        assertEquals(12 * sets.size() + 1, Files.readAllLines(again.resolve("results.csv")).size());
    }

    /** The ranked methods' rows without the run time (column 13). */
    private static List<List<String>> rankedRows(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv);
        List<List<String>> out = new java.util.ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            List<String> c = new java.util.ArrayList<>(OodBenchmark.parseCsvLine(line));
            if (c.get(2).equals("true")) {
                c.remove(13);
                out.add(c);
            }
        }
        return out;
    }

    private static List<String> sortedExpected() {
        return List.of("ASH-B", "ASH-S", "Energy", "GEN", "KNN", "Mahalanobis", "MaxLogit", "MSP", "ReAct", "SISOM",
                "SISOMe", "ViM").stream().sorted().toList();
    }

    private static double auroc(Map<String, Map<String, List<String>>> rows, String method, String set) {
        return Double.parseDouble(rows.get(method).get(set).get(6));
    }

    @Test
    void knnKScalesWithTheFitSetLikeTheKnnPaper() {
        // Sun et al. 2022: k = 50 for CIFAR-10's 50,000 training images
        assertEquals(50, OodBenchmark.knnK("auto", 50_000));
        assertEquals(10, OodBenchmark.knnK("auto", 10_000));
        assertEquals(8, OodBenchmark.knnK("auto", 8_000));
        assertEquals(1, OodBenchmark.knnK("auto", 500));
        assertEquals(1, OodBenchmark.knnK("auto", 20));
        assertEquals(7, OodBenchmark.knnK("7", 500));
        assertThrows(IllegalArgumentException.class, () -> OodBenchmark.knnK("0", 500));
        assertThrows(IllegalArgumentException.class, () -> OodBenchmark.knnK("600", 500));
        assertThrows(IllegalArgumentException.class, () -> OodBenchmark.knnK("many", 500));
    }

    @Test
    void sisomsRankedConfigurationIsReadFromTheShippedJobConfiguration() throws Exception {
        var d = OodBenchmark.SisomDefaults.read(ROOT.resolve("conf/local-samples.properties"));
        assertEquals("layer1:0.05|1,layer2:1|10,layer3:10|100,avgpool:50|100", d.steepness());
        assertEquals("sample", d.dOut());
        Path conf = tmp.resolve("subset.properties");
        Files.writeString(conf, "sisom.steepness=layer1:1\nsisom.subset.delta=1\nsisom.subset.size=5\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OodBenchmark.SisomDefaults.read(conf));
        assertTrue(e.getMessage().contains("sisom.subset.delta"), e.getMessage());
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

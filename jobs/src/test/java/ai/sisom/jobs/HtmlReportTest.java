package ai.sisom.jobs;

import ai.sisom.jobs.output.JsonFiles;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static ai.sisom.jobs.JobTests.runJob;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** report.html of the nightly run and of score: self-contained, complete, and rendered by headless Chromium. */
class HtmlReportTest {
    private static final Path CHROMIUM = Paths.get("/usr/bin/chromium");
    private static SparkSession spark;
    private static Path root;
    private static Path work;
    private static Path results;
    private static String runOutput;

    @BeforeAll
    static void start() throws Exception {
        root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-report-test");
        work = Files.createTempDirectory("sisom-report");
        // a small pool: 40 Fashion-MNIST test images and 20 digits (out-of-distribution)
        Path pool = work.resolve("pool");
        Files.createDirectories(pool);
        try (Stream<Path> s = Files.list(root.resolve("data-samples/pool/images"))) {
            List<Path> all = s.sorted().toList();
            List<Path> pick = new ArrayList<>(all.stream().filter(p -> p.getFileName().toString().startsWith("digit-"))
                    .limit(20).toList());
            pick.addAll(all.stream().filter(p -> p.getFileName().toString().startsWith("test-")).limit(40).toList());
            for (Path p : pick) {
                Files.copy(p, pool.resolve(p.getFileName()));
            }
        }
        results = work.resolve("results");
        runOutput = runJob("run", "--set", "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "--set", "sisom.labeled.path=" + root.resolve("data-samples/labeled/with-unknowns.csv"),
                "--set", "sisom.labeled.format=manifest", "--set", "sisom.labeled.unknownLabels=unknown",
                "--set", "sisom.input.path=" + pool,
                "--set", "sisom.input.format=images", "--set", "sisom.work=" + work.resolve("work"),
                "--set", "sisom.output=" + results, "--set", PipelineJobTest.STEEP, "--set", "sisom.q=8",
                "--set", "sisom.report.ood=6");
    }

    @AfterAll
    static void stop() throws Exception {
        spark.stop();
        JobTests.deleteTree(work);
    }

    @TempDir
    Path tmp;

    static List<String> imageAlts(String html) {
        List<String> ids = new ArrayList<>();
        Matcher m = Pattern.compile("<img alt=\"([^\"]+)\" src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\">").matcher(html);
        while (m.find()) {
            ids.add(m.group(1));
        }
        return ids;
    }

    @Test
    void theNightlyReportShowsTheQueueAndTheFlaggedSamplesApartWithTheThresholdOnItsHistogram() throws Exception {
        assertTrue(runOutput.contains("report: " + results + "/report.html"), runOutput);
        String html = Files.readString(results.resolve("report.html"));
        List<String> shown = imageAlts(html);
        List<String> picks = spark.read().parquet(results.resolve("selection").toString()).orderBy("rank")
                .select("id").collectAsList().stream().map(r -> r.getString(0)).toList();
        List<String> flagged = spark.read().parquet(results.resolve("ood").toString()).orderBy("ood_rank")
                .limit(6).select("id").collectAsList().stream().map(r -> r.getString(0)).toList();
        List<String> want = new ArrayList<>(picks);
        want.addAll(flagged);
        assertEquals(want, shown, "a thumbnail per pick (in rank order), then per flagged sample (most OOD first)");
        assertEquals(8, picks.size());
        assertEquals(6, flagged.size());
        assertTrue(java.util.Collections.disjoint(picks, flagged), "the queue and the flagged list are two lists");
        int queue = html.indexOf("<h2 id=\"queue\">");
        int ood = html.indexOf("<h2 id=\"flagged\">");
        assertTrue(queue > 0 && ood > queue, "two sections, the queue first");
        // the most out-of-distribution samples of this pool are digits, which the Fashion-MNIST model never saw
        assertTrue(flagged.stream().filter(id -> id.startsWith("digit-")).count() >= 5, flagged.toString());
        // self-contained: nothing fetched from elsewhere
        assertFalse(Pattern.compile("(src|href)=\"(?!data:)").matcher(html).find(), "external reference in the report");
        assertEquals(3, html.split("<svg ", -1).length - 1, "histograms of r, energy and the OOD metric");
        // each bar holds the pool samples of its bin, the range split into equal bins from the smallest to the largest
        List<Row> scores = spark.read().parquet(results.resolve("scores").toString())
                .select("r", "energy", "ood_metric").collectAsList();
        java.util.regex.Matcher figure = Pattern.compile("<svg .*?</svg>").matcher(html);
        for (int k = 0; k < 3; k++) {
            assertTrue(figure.find());
            java.util.regex.Matcher bar = Pattern.compile("<title>(\\d+)</title>").matcher(figure.group());
            List<Long> bars = new ArrayList<>();
            while (bar.find()) {
                bars.add(Long.parseLong(bar.group(1)));
            }
            int column = k;
            double lo = scores.stream().mapToDouble(r -> r.getDouble(column)).min().orElseThrow();
            double hi = scores.stream().mapToDouble(r -> r.getDouble(column)).max().orElseThrow();
            long[] binned = new long[bars.size()];
            for (Row r : scores) {
                binned[(int) Math.min(binned.length - 1, Math.floor((r.getDouble(column) - lo) / ((hi - lo) / binned.length)))]++;
            }
            assertEquals(java.util.Arrays.stream(binned).boxed().toList(), bars, "the bars of histogram " + k);
        }
        Map<String, Object> summary = JsonFiles.read(results.resolve("summary.json").toString(),
                spark.sparkContext().hadoopConfiguration());
        @SuppressWarnings("unchecked")
        Map<String, Object> threshold = (Map<String, Object>) summary.get("oodThreshold");
        assertEquals("youden", threshold.get("mode"));
        assertTrue(html.contains(String.format(java.util.Locale.ROOT, "red line: threshold = %.4f",
                (Double) threshold.get("value"))), "the threshold drawn on the OOD metric's histogram");
        assertTrue(html.contains("Youden"), "how the threshold was chosen");
        assertTrue(html.contains(String.format(java.util.Locale.ROOT, "<td>%.4f</td>", (Double) summary.get("rAvg"))),
                "r_avg in the summary table");
        assertTrue(html.contains(String.format(java.util.Locale.ROOT, "<td>%.4f</td>", (Double) summary.get("energyWeight"))),
                "the energy weight in the summary table");
        assertTrue(html.contains("<td>" + ((Number) summary.get("flagged")).longValue() + "</td>"),
                "the flagged count in the summary table");
    }

    @Test
    void scoreWritesAReportWithThumbnailsOnlyWhenTheImagesAreNamed() throws Exception {
        String[] base = {"score", "--set", "sisom.reference=" + work.resolve("work/reference"),
                "--set", "sisom.pool.features=" + work.resolve("work/pool/all/features"), "--set", "sisom.q=5",
                "--set", "sisom.report.ood=3"};
        String plain = tmp.resolve("plain").toString();
        runJob(concat(base, "--set", "sisom.output=" + plain));
        String html = Files.readString(Paths.get(plain, "report.html"));
        assertTrue(imageAlts(html).isEmpty());
        assertTrue(html.contains("No thumbnails"), html);
        for (Row r : spark.read().parquet(plain + "/selection").collectAsList()) {
            assertTrue(html.contains("<div>" + r.getString(r.fieldIndex("id")) + "</div>"), "pick listed by id");
        }

        String withImages = tmp.resolve("images").toString();
        runJob(concat(base, "--set", "sisom.output=" + withImages, "--set", "sisom.input.path=" + work.resolve("pool"),
                "--set", "sisom.input.format=images"));
        assertEquals(8, imageAlts(Files.readString(Paths.get(withImages, "report.html"))).size());

        String none = tmp.resolve("none").toString();
        runJob(concat(base, "--set", "sisom.output=" + none, "--set", "sisom.report=false"));
        assertFalse(Files.exists(Paths.get(none, "report.html")));
        assertTrue(Files.exists(Paths.get(none, "summary.json")));
    }

    @Test
    void theReportRendersInHeadlessChromium() throws Exception {
        boolean ci = "true".equals(System.getenv("CI"));
        if (!Files.isExecutable(CHROMIUM)) {
            assertFalse(ci, "CI must install Debian's chromium (.ci/run does)");
            assumeTrue(false, "chromium not installed: apt-get install chromium");
        }
        Path shot = tmp.resolve("report.png");
        Path profile = tmp.resolve("profile");
        Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile,
                "--window-size=1000,1400", "--screenshot=" + shot, results.resolve("report.html").toUri().toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("chromium.log").toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish");
        assertTrue(Files.exists(shot), "no screenshot; chromium said: " + Files.readString(tmp.resolve("chromium.log")));
        BufferedImage img = ImageIO.read(shot.toFile());
        String keep = System.getProperty("sisom.report.screenshot");
        if (keep != null) {
            Files.copy(shot, new File(keep).toPath(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        long bars = 0;
        long dark = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                int r = rgb >> 16;
                int g = (rgb >> 8) & 0xff;
                int b = rgb & 0xff;
                if (Math.abs(r - 0x4a) < 8 && Math.abs(g - 0x7e) < 8 && Math.abs(b - 0xbb) < 8) {
                    bars++;
                }
                if (r == g && g == b && r < 20) {
                    dark++;
                }
            }
        }
        // the thumbnails' black backgrounds (14 of 96x96 px) and the histogram bars must be painted, not just text
        assertTrue(dark > 40_000, "thumbnail pixels painted: " + dark);
        assertTrue(bars > 2_000, "histogram bars painted: " + bars);
    }

    private static String[] concat(String[] a, String... b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}

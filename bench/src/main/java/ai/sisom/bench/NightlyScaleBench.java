package ai.sisom.bench;

import ai.sisom.features.FeatureExtractor;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.jobs.SisomJob;
import ai.sisom.model.SisomModel;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sequence;

/**
 * The nightly run at lake scale (bench/nightly-scale.sh): a Parquet pool partitioned by night, N images over three
 * nights (the bundled pool's 1,000 images repeated under distinct ids), on local disk or on an in-process S3 server;
 * each night's `run` (read, decode, extract, score, select, write) timed in this JVM against the bare model forward
 * (the `java-forward` of bench/extract-speed.sh: same model, batch and threads) measured in the same JVM before each
 * night and after the last. Prints per night the new images, wall seconds, images/s, the bare forward bracketing it
 * (the mean of the measurements before and after), the ratio to it, images/s per core, peak RSS and the
 * executor time by stage; writes per night into OUT the run's printed output with each Spark job's wall time and the
 * gaps between jobs ({@code night-N.txt}), and where the driver thread spent the night ({@code night-N-driver.txt}).
 */
public final class NightlyScaleBench {
    private NightlyScaleBench() {}

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        String storage = args[1];
        Path out = Paths.get(args[2]).toAbsolutePath();
        int nights = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int cores = Runtime.getRuntime().availableProcessors();
        Path root = Paths.get("").toAbsolutePath();
        Path model = root.resolve("data-samples/model/fmnist_resnet18w16.pt");
        // this machine's speed drifts within minutes (2.7x within one run): the bare forward is measured again
        // before each night and after the last, and a night is compared with the mean of the two that bracket it
        BareForward bare = new BareForward(model, root.resolve("data-samples/pool/images"), 64, cores);
        List<Double> forwards = new ArrayList<>(List.of(bare.rate()));
        System.out.printf(Locale.ROOT, "bare forward (java-forward, batch 64, %d threads), before night 1: %.1f img/s%n",
                cores, forwards.get(0));
        List<String> lines = new ArrayList<>();

        S3Proxy proxy = null;
        BlobStoreContext blobs = null;
        SparkSession.Builder b = SparkSession.builder().master("local[" + cores + "]").appName("sisom-nightly-scale")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", Integer.toString(cores));
        String base = out.toUri().toString();
        if (storage.equals("s3")) {
            blobs = ContextBuilder.newBuilder("transient").credentials("unused", "unused").build(BlobStoreContext.class);
            blobs.getBlobStore().createContainerInLocation(null, "lake");
            proxy = S3Proxy.builder().blobStore(blobs.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                    .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "bench", "bench-secret").build();
            proxy.start();
            while (!AbstractLifeCycle.STARTED.equals(proxy.getState())) {
                Thread.sleep(10);
            }
            b = b.config("spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:" + proxy.getPort())
                    .config("spark.hadoop.fs.s3a.endpoint.region", "us-east-1")
                    .config("spark.hadoop.fs.s3a.path.style.access", "true")
                    .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
                    .config("spark.hadoop.fs.s3a.access.key", "bench")
                    .config("spark.hadoop.fs.s3a.secret.key", "bench-secret")
                    .config("spark.hadoop.fs.s3a.aws.credentials.provider",
                            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
                    .config("spark.hadoop.fs.s3a.change.detection.version.required", "false");
            base = "s3a://lake/scale";
        }
        SparkSession spark = b.getOrCreate();
        StageTimes stages = new StageTimes();
        spark.sparkContext().addSparkListener(stages);
        try {
            Dataset<Row> source = spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString())
                    .select("id", "image").cache();
            long k = source.count();
            int perNight = n / nights;
            for (int night = 1; night <= nights; night++) {
                // each night's images: the source images repeated under distinct ids, a few files per core
                long reps = (perNight + k - 1) / k;
                Dataset<Row> rows = source.withColumn("rep", explode(sequence(lit(0L), lit(reps - 1))))
                        .withColumn("id", concat(lit("n" + night + "-"), col("rep").cast("string"), lit("-"), col("id")))
                        .drop("rep").limit(perNight).repartition(Math.max(cores, perNight / 20_000));
                rows.write().mode("overwrite").parquet(base + "/pool/date=night-" + night);
                String[] run = {"run", "--set", "sisom.model=" + model,
                        "--set", "sisom.labeled.path=" + root.resolve("data-samples/labeled/parquet/data"),
                        "--set", "sisom.labeled.format=parquet", "--set", "sisom.input.path=" + base + "/pool",
                        "--set", "sisom.input.format=parquet", "--set", "sisom.input.partitionColumn=date",
                        "--set", "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50",
                        "--set", "sisom.work=" + base + "/work", "--set", "sisom.output=" + base + "/results",
                        "--set", "sisom.q=1000", "--set", "sisom.progressSeconds=600"};
                resetPeakRss();
                stages.clear();
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                long t0 = System.nanoTime();
                DriverSampler sampler = new DriverSampler(Thread.currentThread());
                int rc;
                try {
                    rc = SisomJob.run(run, new PrintStream(buf, true, StandardCharsets.UTF_8));
                } finally {
                    sampler.stop();
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                Files.writeString(out.resolve("night-" + night + "-driver.txt"), sampler.report());
                String printed = buf.toString(StandardCharsets.UTF_8);
                Files.writeString(out.resolve("night-" + night + ".txt"), printed + "\nwall time by job (call site):\n"
                        + stages.jobs());
                if (rc != 0) {
                    throw new IllegalStateException("night " + night + " failed:\n" + printed);
                }
                long scored = Long.parseLong(printed.replaceAll("(?s).*; (\\d+) samples scored.*", "$1"));
                double rate = perNight / secs;
                double peak = peakRssMb();
                forwards.add(bare.rate());
                double forward = (forwards.get(night - 1) + forwards.get(night)) / 2;
                System.out.printf(Locale.ROOT, "bare forward after night %d: %.1f img/s%n", night, forwards.get(night));
                lines.add(String.format(Locale.ROOT, "| %d | %d | %d | %.1f | %.0f | %.0f | %.2f | %.0f | %.0f | %s |",
                        night, perNight, scored, secs, rate, forward, rate / forward, rate / cores, peak,
                        stages.top(6)));
            }
            System.out.println("| night | new images | total scored | wall s | img/s | bare forward img/s (mean before "
                    + "and after) | ratio to bare forward | img/s per core | peak RSS MB | executor time by stage |");
            System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            lines.forEach(System.out::println);
        } finally {
            bare.close();
            spark.stop();
            if (proxy != null) {
                proxy.stop();
            }
            if (blobs != null) {
                blobs.close();
            }
        }
    }

    /**
     * The bare model forward on decoded images (ExtractionSpeedBench's java-forward): the model loaded and the images
     * decoded once; each {@link #rate} is the median of 5 rounds after a warm-up.
     */
    static final class BareForward implements AutoCloseable {
        private final SisomModel model;
        private final int batch;
        private final int size;
        private final int count;
        private final float[] all;

        BareForward(Path modelFile, Path images, int batch, int threads) throws Exception {
            List<FeatureExtractor.Item> items = ExtractionSpeedBench.readAll(images);
            model = SisomModel.load(modelFile);
            ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
            ImagePreprocessor pre = ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE);
            all = ExtractionSpeedBench.decodeAll(pre, items);
            this.batch = batch;
            size = pre.size();
            count = items.size();
        }

        double rate() throws Exception {
            double[] rate = new double[6];
            for (int r = 0; r < rate.length; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < count; i += batch) {
                    int bs = Math.min(batch, count - i);
                    model.forward(java.util.Arrays.copyOfRange(all, i * size, (i + bs) * size), bs);
                }
                rate[r] = count / ((System.nanoTime() - t0) / 1e9);
            }
            return ExtractionSpeedBench.median(java.util.Arrays.copyOfRange(rate, 1, rate.length));
        }

        @Override
        public void close() {
            model.close();
        }
    }

    private static void resetPeakRss() {
        try {
            Files.writeString(Paths.get("/proc/self/clear_refs"), "5");
        } catch (Exception ignored) {
            // not Linux, or not allowed: the peak then covers the whole process
        }
    }

    private static double peakRssMb() throws Exception {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }

    /**
     * Where the driver thread spends a night: its stack sampled every 50 ms, counted by the innermost frame of the
     * product's code and the innermost frame overall (the time outside Spark jobs shows here).
     */
    static final class DriverSampler {
        private static final long PERIOD_MS = 50;
        private final Map<String, Integer> counts = new ConcurrentHashMap<>();
        private final Thread sampler;
        private volatile boolean running = true;

        DriverSampler(Thread target) {
            sampler = new Thread(() -> {
                while (running) {
                    StackTraceElement[] st = target.getStackTrace();
                    String ours = "(outside ai.sisom)";
                    for (StackTraceElement f : st) {
                        if (f.getClassName().startsWith("ai.sisom.") && !f.getClassName().startsWith("ai.sisom.bench")) {
                            ours = f.getClassName().replace("ai.sisom.", "") + "." + f.getMethodName() + ":" + f.getLineNumber();
                            break;
                        }
                    }
                    String top = st.length == 0 ? "-" : st[0].getClassName() + "." + st[0].getMethodName();
                    counts.merge(ours + "  <-  " + top, 1, Integer::sum);
                    try {
                        Thread.sleep(PERIOD_MS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "driver-sampler");
            sampler.setDaemon(true);
            sampler.start();
        }

        void stop() throws InterruptedException {
            running = false;
            sampler.join();
        }

        String report() {
            StringBuilder b = new StringBuilder("seconds  product frame  <-  innermost frame\n");
            counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(60)
                    .forEach(e -> b.append(String.format(Locale.ROOT, "%7.2f  %s%n", e.getValue() * PERIOD_MS / 1000.0,
                            e.getKey())));
            return b.toString();
        }
    }

    /** Executor run time summed per stage name (the call site), largest first; and each job's wall time. */
    static final class StageTimes extends SparkListener {
        private final Map<String, Long> millis = new ConcurrentHashMap<>();
        private final Map<Integer, String> jobSite = new ConcurrentHashMap<>();
        private final Map<Integer, Long> jobStart = new ConcurrentHashMap<>();
        private final List<String> jobLines = java.util.Collections.synchronizedList(new ArrayList<>());
        private volatile long lastEnd;

        @Override
        public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
            String site = e.stageInfos().isEmpty() ? "job " + e.jobId() : e.stageInfos().last().name();
            long gap = e.time() - lastEnd;
            jobSite.put(e.jobId(), site + String.format(Locale.ROOT, " (%.2f s after the previous job)", gap / 1000.0));
            jobStart.put(e.jobId(), e.time());
        }

        @Override
        public void onJobEnd(org.apache.spark.scheduler.SparkListenerJobEnd e) {
            Long start = jobStart.remove(e.jobId());
            lastEnd = e.time();
            jobLines.add(String.format(Locale.ROOT, "  job %d %s: %.2f s", e.jobId(), jobSite.remove(e.jobId()),
                    start == null ? Double.NaN : (e.time() - start) / 1000.0));
        }

        String jobs() {
            synchronized (jobLines) {
                return String.join("\n", jobLines) + String.format(Locale.ROOT, "%n  (%.2f s after the last job)%n",
                        (System.currentTimeMillis() - lastEnd) / 1000.0);
            }
        }

        @Override
        public void onStageCompleted(SparkListenerStageCompleted e) {
            String name = e.stageInfo().name();
            long t = e.stageInfo().taskMetrics() == null ? 0 : e.stageInfo().taskMetrics().executorRunTime();
            millis.merge(name, t, Long::sum);
        }

        void clear() {
            millis.clear();
            jobLines.clear();
            lastEnd = System.currentTimeMillis();
        }

        String top(int k) {
            Map<Long, String> sorted = new TreeMap<>(java.util.Comparator.reverseOrder());
            millis.forEach((name, t) -> sorted.merge(t, name, (a, b2) -> a + ", " + b2));
            List<String> parts = new ArrayList<>();
            for (var e : sorted.entrySet()) {
                if (parts.size() == k) {
                    break;
                }
                parts.add(String.format(Locale.ROOT, "%s %.1f s", e.getValue(), e.getKey() / 1000.0));
            }
            return String.join("; ", parts);
        }
    }
}

package ai.sisom.bench;

import ai.djl.Device;
import ai.sisom.features.FeatureExtractor;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.SisomModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Native-memory check of feature extraction: pushes N images (the bundled pool, cycled) through the extractor
 * from T threads, as T Spark tasks in one executor would, each one long stream (a partition) with the next batch
 * decoded on D threads of its own, and prints the process RSS as it goes. Flat RSS after warm-up means per-batch
 * native memory is released.
 *
 * <pre>bench/extract-memory.sh [N=100000] [threads=2] [batch=64] [decode threads=1]</pre>
 */
public final class ExtractionMemoryBench {
    private ExtractionMemoryBench() {}

    public static void main(String[] args) throws Exception {
        long total = args.length > 0 ? Long.parseLong(args[0]) : 100_000;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int decode = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        List<FeatureExtractor.Item> pool = new ArrayList<>();
        try (Stream<Path> files = Files.list(Paths.get("data-samples/pool/images"))) {
            for (Path p : files.sorted().toList()) {
                pool.add(new FeatureExtractor.Item(p.getFileName().toString(), Files.readAllBytes(p)));
            }
        }
        try (SisomModel model = SisomModel.load(Paths.get("data-samples/model/fmnist_resnet18w16.pt"), Device.cpu())) {
            FeatureExtractor fx = new FeatureExtractor(model,
                    ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE), batch, decode);
            AtomicLong done = new AtomicLong();
            long start = System.nanoTime();
            long reportEvery = Math.max(total / 20, 1000);
            System.out.printf(Locale.ROOT, "images=%d threads=%d batch=%d decode-threads=%d%n", total, threads, batch,
                    decode);
            System.out.printf(Locale.ROOT, "%10s %10s %10s %10s%n", "images", "rss_mb", "heap_mb", "img_per_s");
            long[] rssAt = new long[2];
            long perThread = (total + threads - 1) / threads;
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    Iterator<FeatureExtractor.Item> items = new Iterator<>() {
                        long i;

                        @Override
                        public boolean hasNext() { return i < perThread; }

                        @Override
                        public FeatureExtractor.Item next() { return pool.get((int) (i++ % pool.size())); }
                    };
                    try (FeatureExtractor.Extraction e = fx.extract(items)) {
                        while (e.hasNext()) {
                            if (e.next().rejected()) {
                                throw new IllegalStateException("unexpected rejection");
                            }
                            long n = done.incrementAndGet();
                            if (n % reportEvery == 0) {
                                report(n, total, start, rssAt);
                            }
                        }
                    }
                });
                workers.add(th);
                th.start();
            }
            for (Thread th : workers) {
                th.join();
            }
            System.out.printf(Locale.ROOT, "rss growth from %d%% to 100%% of the run: %.0f MB -> %.0f MB (ratio %.3f)%n",
                    10, rssAt[0] / 1024.0, rssAt[1] / 1024.0, rssAt[1] / (double) rssAt[0]);
        }
    }

    private static synchronized void report(long n, long total, long start, long[] rssAt) {
        long rss = rssKb();
        if (rssAt[0] == 0 && n >= total / 10) {
            rssAt[0] = rss;
        }
        rssAt[1] = rss;
        Runtime rt = Runtime.getRuntime();
        double secs = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "%10d %10.0f %10.0f %10.1f%n", n, rss / 1024.0,
                (rt.totalMemory() - rt.freeMemory()) / 1048576.0, n / secs);
    }

    static long rssKb() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (java.io.IOException e) {
            return -1;
        }
        return -1;
    }
}

package ai.sisom.bench;

import ai.djl.pytorch.jni.JniUtils;
import ai.sisom.features.FeatureExtractor;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.SisomModel;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Our side of bench/extract-threads.sh: the model forward as an executor runs it, from TASKS long-lived task threads
 * at once (Spark's task threads, sharing one loaded model), with libtorch's intra-op pool set to THREADS. Prints
 * 'threads THREADS tasks TASKS IMG_PER_S' (median of ROUNDS rounds over the images, after an untimed round).
 */
public final class ExtractionThreadsBench {
    private ExtractionThreadsBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Paths.get(args[0]);
        List<FeatureExtractor.Item> items = ExtractionSpeedBench.readAll(Paths.get(args[1]));
        int batch = Integer.parseInt(args[2]);
        int tasks = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        int rounds = Integer.parseInt(args[5]);
        ExecutorService pool = Executors.newFixedThreadPool(tasks);
        try (SisomModel m = SisomModel.load(model)) {
            JniUtils.setNumThreads(threads);
            ImagePreprocessor pre = ImagePreprocessor.forModel(m.metadata(), ImagePreprocessor.Resize.NONE);
            float[] all = ExtractionSpeedBench.decodeAll(pre, items);
            int n = items.size();
            double[] rate = new double[rounds];
            for (int r = -1; r < rounds; r++) {   // round -1: untimed
                long t0 = System.nanoTime();
                List<Future<?>> running = new ArrayList<>();
                for (int t = 0; t < tasks; t++) {
                    int first = t * batch;
                    // task t takes batches t, t + tasks, ...: every task has the same share
                    running.add(pool.submit(() -> {
                        for (int i = first; i < n; i += batch * tasks) {
                            int b = Math.min(batch, n - i);
                            m.forward(Arrays.copyOfRange(all, i * pre.size(), (i + b) * pre.size()), b);
                        }
                    }));
                }
                for (Future<?> f : running) {
                    f.get();
                }
                if (r >= 0) {
                    rate[r] = n / ((System.nanoTime() - t0) / 1e9);
                }
            }
            System.out.printf(Locale.ROOT, "threads %d tasks %d %.1f%n", threads, tasks,
                    ExtractionSpeedBench.median(rate));
        } finally {
            pool.shutdown();
        }
    }
}

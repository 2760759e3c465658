package ai.sisom.bench;

import ai.sisom.features.FeatureExtractor;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.ModelCache;
import ai.sisom.model.SisomModel;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Our side of bench/extract-feed.sh: feature extraction end to end (PNG bytes to records, as an executor task runs
 * it) with the next batch decoded on D threads during the current forward, for each D given; D = 0 is decoding in
 * the task's thread between forwards. The settings alternate within every round, so drifting load on a shared
 * machine falls on all of them alike. Prints 'decode-threads D IMG_PER_S' (the median round) and the ratio to the
 * first D.
 *
 * <pre>args: MODEL IMAGES BATCH ROUNDS REPEAT D...   (REPEAT: passes over the images per round)</pre>
 */
public final class ExtractionFeedBench {
    private ExtractionFeedBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Paths.get(args[0]);
        List<FeatureExtractor.Item> once = ExtractionSpeedBench.readAll(Paths.get(args[1]));
        int batch = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        int repeat = Integer.parseInt(args[4]);
        int[] threads = new int[args.length - 5];
        for (int i = 5; i < args.length; i++) {
            threads[i - 5] = Integer.parseInt(args[i]);
        }
        List<FeatureExtractor.Item> items = new ArrayList<>();
        for (int r = 0; r < repeat; r++) {
            items.addAll(once);
        }
        SisomModel m = ModelCache.get(model);
        ImagePreprocessor pre = ImagePreprocessor.forModel(m.metadata(), ImagePreprocessor.Resize.NONE);
        double[][] rate = new double[threads.length][rounds];
        for (int r = -1; r < rounds; r++) {   // round -1: untimed (JIT, libtorch's first calls)
            for (int t = 0; t < threads.length; t++) {
                FeatureExtractor fx = new FeatureExtractor(m, pre, batch, threads[t]);
                long t0 = System.nanoTime();
                int n = 0;
                try (FeatureExtractor.Extraction e = fx.extract(items.iterator())) {
                    while (e.hasNext()) {
                        if (e.next().rejected()) {
                            throw new IllegalStateException("unexpected rejection");
                        }
                        n++;
                    }
                }
                if (r >= 0) {
                    rate[t][r] = n / ((System.nanoTime() - t0) / 1e9);
                }
            }
        }
        double base = ExtractionSpeedBench.median(rate[0]);
        for (int t = 0; t < threads.length; t++) {
            double med = ExtractionSpeedBench.median(rate[t]);
            System.out.printf(Locale.ROOT, "decode-threads %d batch %d: %.1f img/s, %.3fx decode-threads %d%n",
                    threads[t], batch, med, med / base, threads[0]);
        }
    }
}

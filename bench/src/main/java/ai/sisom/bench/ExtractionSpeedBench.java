package ai.sisom.bench;

import ai.djl.pytorch.jni.JniUtils;
import ai.sisom.features.FeatureExtractor;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.SisomModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Our side of bench/extract-speed.sh: the executor code (FeatureExtractor: PNG decode, normalise, DJL forward,
 * u = a * g, energy) and the bare model forward, on the same files, batch size and thread count as the Python
 * baseline. Prints 'java-forward IMG_PER_S' and 'java-end2end IMG_PER_S'.
 */
public final class ExtractionSpeedBench {
    private ExtractionSpeedBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Paths.get(args[0]);
        Path images = Paths.get(args[1]);
        int batch = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        List<FeatureExtractor.Item> items = readAll(images);
        try (SisomModel m = SisomModel.load(model)) {
            JniUtils.setNumThreads(threads);
            ImagePreprocessor pre = ImagePreprocessor.forModel(m.metadata(), ImagePreprocessor.Resize.NONE);
            float[] all = decodeAll(pre, items);
            // one untimed round over all images first, on both sides (JIT here, the profiling executor in Python)
            for (int i = 0; i < items.size(); i += batch) {
                int b = Math.min(batch, items.size() - i);
                m.forward(java.util.Arrays.copyOfRange(all, i * pre.size(), (i + b) * pre.size()), b);
            }
            // the median round's rate on both sides: the machines are noisy, and a median ignores one bad round
            double[] rate = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < items.size(); i += batch) {
                    int b = Math.min(batch, items.size() - i);
                    m.forward(java.util.Arrays.copyOfRange(all, i * pre.size(), (i + b) * pre.size()), b);
                }
                rate[r] = items.size() / ((System.nanoTime() - t0) / 1e9);
            }
            System.out.printf(Locale.ROOT, "java-forward %.1f%n", median(rate));
            FeatureExtractor fx = new FeatureExtractor(m, pre, batch);
            fx.extract(items);   // untimed round: decoding's JIT warm-up
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                int n = fx.extract(items).size();
                rate[r] = n / ((System.nanoTime() - t0) / 1e9);
            }
            System.out.printf(Locale.ROOT, "java-end2end %.1f%n", median(rate));
        }
    }

    /** Every file of a directory, in name order, as extractor items. */
    static List<FeatureExtractor.Item> readAll(Path images) throws java.io.IOException {
        List<FeatureExtractor.Item> items = new ArrayList<>();
        try (Stream<Path> s = Files.list(images)) {
            for (Path p : s.sorted().toList()) {
                items.add(new FeatureExtractor.Item(p.getFileName().toString(), Files.readAllBytes(p)));
            }
        }
        return items;
    }

    /** The items decoded and normalised for the model, one after another (n x C x H x W). */
    static float[] decodeAll(ImagePreprocessor pre, List<FeatureExtractor.Item> items)
            throws ai.sisom.image.InvalidImageException {
        float[] all = new float[items.size() * pre.size()];
        for (int i = 0; i < items.size(); i++) {
            pre.decodeInto(items.get(i).id(), items.get(i).image(), all, i * pre.size(), null);
        }
        return all;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}

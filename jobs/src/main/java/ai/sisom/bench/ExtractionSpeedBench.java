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
        List<FeatureExtractor.Item> items = new ArrayList<>();
        try (Stream<Path> s = Files.list(images)) {
            for (Path p : s.sorted().toList()) {
                items.add(new FeatureExtractor.Item(p.getFileName().toString(), Files.readAllBytes(p)));
            }
        }
        try (SisomModel m = SisomModel.load(model)) {
            JniUtils.setNumThreads(threads);
            ImagePreprocessor pre = ImagePreprocessor.forModel(m.metadata(), ImagePreprocessor.Resize.NONE);
            float[] all = new float[items.size() * pre.size()];
            for (int i = 0; i < items.size(); i++) {
                pre.decodeInto(items.get(i).id(), items.get(i).image(), all, i * pre.size(), null);
            }
            for (int w = 0; w < 2; w++) {
                m.forward(java.util.Arrays.copyOf(all, batch * pre.size()), batch);
            }
            long n = 0;
            long t0 = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < items.size(); i += batch) {
                    int b = Math.min(batch, items.size() - i);
                    m.forward(java.util.Arrays.copyOfRange(all, i * pre.size(), (i + b) * pre.size()), b);
                    n += b;
                }
            }
            System.out.printf(Locale.ROOT, "java-forward %.1f%n", n / ((System.nanoTime() - t0) / 1e9));
            FeatureExtractor fx = new FeatureExtractor(m, pre, batch);
            n = 0;
            t0 = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                n += fx.extract(items).size();
            }
            System.out.printf(Locale.ROOT, "java-end2end %.1f%n", n / ((System.nanoTime() - t0) / 1e9));
        }
    }
}

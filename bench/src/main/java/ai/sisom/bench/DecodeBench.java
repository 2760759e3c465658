package ai.sisom.bench;

import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.io.ByteArrayInputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Image decoding cost per image, CPU microseconds of this thread: ImageIO.read on a plain InputStream (ImageIO's
 * default, which caches through a temporary file) against an in-memory ImageInputStream (what ImagePreprocessor
 * uses). Prints the best of five rounds of each and the ratio.
 */
public final class DecodeBench {
    private DecodeBench() {}

    public static void main(String[] args) throws Exception {
        List<byte[]> images = new ArrayList<>();
        try (Stream<Path> s = Files.list(Paths.get(args.length > 0 ? args[0] : "data-samples/pool/images"))) {
            for (Path p : s.sorted().toList()) {
                images.add(Files.readAllBytes(p));
            }
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double plain = Double.MAX_VALUE;
        double memory = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long c0 = mx.getCurrentThreadCpuTime();
            for (byte[] b : images) {
                ImageIO.read(new ByteArrayInputStream(b));
            }
            long c1 = mx.getCurrentThreadCpuTime();
            for (byte[] b : images) {
                ImageIO.read(new MemoryCacheImageInputStream(new ByteArrayInputStream(b)));
            }
            long c2 = mx.getCurrentThreadCpuTime();
            plain = Math.min(plain, (c1 - c0) / 1e3 / images.size());
            memory = Math.min(memory, (c2 - c1) / 1e3 / images.size());
        }
        System.out.printf(Locale.ROOT, "decode-inputstream %.1f us/image (CPU)%n", plain);
        System.out.printf(Locale.ROOT, "decode-memorycache %.1f us/image (CPU)%n", memory);
        System.out.printf(Locale.ROOT, "ratio inputstream/memorycache: %.2fx on %d images%n", plain / memory, images.size());
    }
}

package ai.sisom.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.sisom.reference.ReferenceSet;
import ai.sisom.scoring.DOutVariant;
import ai.sisom.scoring.Ratio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Times our distance-ratio stage on the workload that bench/distance_baselines.py generated: d_in, d_out and r for
 * every pool row, both d_out variants, plus libtorch's sgemm GFLOP/s as the machine's peak. Prints
 * 'name seconds checksum' lines (checksum = sum of r, to check agreement with the baselines).
 */
public final class DistanceBench {
    private DistanceBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args[0]);
        int scalarSamples = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        String[] meta = Files.readString(dir.resolve("meta.txt")).trim().split("\\s+");
        int n = Integer.parseInt(meta[0]);
        int m = Integer.parseInt(meta[1]);
        int d = Integer.parseInt(meta[2]);
        int k = Integer.parseInt(meta[3]);
        float[] pool = floats(dir.resolve("pool.f32"));
        int[] pcls = ints(dir.resolve("pool_cls.i32"));
        float[] ref = floats(dir.resolve("ref.f32"));
        int[] rcls = ints(dir.resolve("ref_cls.i32"));
        List<String> ids = new ArrayList<>();
        List<float[]> z = new ArrayList<>();
        int[] src = new int[m];
        for (int i = 0; i < m; i++) {
            ids.add(String.format("r%08d", i));
            z.add(java.util.Arrays.copyOfRange(ref, i * d, (i + 1) * d));
            src[i] = i;
        }
        List<String> names = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            names.add("c" + c);
        }
        ReferenceSet set = ReferenceSet.of(ids, rcls, z, src, names);
        int[] none = new int[n];
        java.util.Arrays.fill(none, -1);

        // warm-up (JIT, libtorch thread pool)
        Ratio.of(set, java.util.Arrays.copyOf(pool, 4096 * d), 4096, pcls, none, DOutVariant.SAMPLE);

        // median of three timed runs per variant (the Python baselines do the same)
        Ratio[][] keep = new Ratio[1][];
        double cpu0 = processCpu();
        double tSample = median(() -> keep[0] = Ratio.of(set, pool, n, pcls, none, DOutVariant.SAMPLE));
        Ratio[] sample = keep[0];
        print("sisom-sample", tSample, sum(sample));
        // CPU seconds per run, all threads: steadier than wall time when other work shares the machine
        System.out.printf(Locale.ROOT, "cpu-sample %.4f%n", (processCpu() - cpu0) / 3);
        try (ai.sisom.reference.NearestKernel kernel = new ai.sisom.reference.NearestKernel(set)) {
            kernel.search(pool, n, pcls, none, true);
            System.out.printf(Locale.ROOT, "kernel-exhaustive %d of %d queries%n", kernel.exhaustiveSearches(), n);
        }
        set.anchorOutDistances(); // the anchor variant's per-reference distances are part of the reference build
        double tAnchor = median(() -> keep[0] = Ratio.of(set, pool, n, pcls, none, DOutVariant.ANCHOR));
        print("sisom-anchor", tAnchor, sum(keep[0]));

        long t0;
        int s = Math.min(scalarSamples, n);
        t0 = System.nanoTime();
        double scalarSum = 0;
        for (int i = 0; i < s; i++) {
            scalarSum += Ratio.of(set, java.util.Arrays.copyOfRange(pool, i * d, (i + 1) * d), pcls[i], -1,
                    DOutVariant.SAMPLE).r();
        }
        System.out.printf(Locale.ROOT, "scalar-java %.4f %.6f %d%n", (System.nanoTime() - t0) / 1e9, scalarSum, s);
        double firstSum = 0;
        for (int i = 0; i < s; i++) {
            firstSum += sample[i].r();
        }
        System.out.printf(Locale.ROOT, "sisom-sample-first %d %.6f%n", s, firstSum);
        System.out.printf(Locale.ROOT, "flops-sample %.6e%n", 2.0 * n * m * d);
        System.out.printf(Locale.ROOT, "sgemm-gflops %.2f%n", sgemm());
    }

    static double median(Runnable r) {
        double[] t = new double[3];
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        java.util.Arrays.sort(t);
        return t[1];
    }

    static double sgemm() {
        try (NDManager mgr = NDManager.newBaseManager("PyTorch")) {
            NDArray a = mgr.randomNormal(new Shape(2048, 2048));
            NDArray b = mgr.randomNormal(new Shape(2048, 2048));
            for (int i = 0; i < 2; i++) {
                a.matMul(b).close();
            }
            int reps = 10;
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                a.matMul(b).close();
            }
            return 2.0 * Math.pow(2048, 3) * reps / ((System.nanoTime() - t0) / 1e9) / 1e9;
        }
    }

    static double sum(Ratio[] r) {
        double s = 0;
        for (Ratio x : r) {
            s += x.r();
        }
        return s;
    }

    static double processCpu() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    static void print(String name, double secs, double checksum) {
        System.out.printf(Locale.ROOT, "%s %.4f %.6f%n", name, secs, checksum);
    }

    static float[] floats(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static int[] ints(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }
}

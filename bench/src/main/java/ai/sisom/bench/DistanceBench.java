package ai.sisom.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.sisom.reference.NearestKernel;
import ai.sisom.reference.ReferenceSet;
import ai.sisom.reference.DOutVariant;
import ai.sisom.reference.Ratio;

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
 * Times our distance-ratio stage on the workload that bench/python/distance_baselines.py generated: d_in, d_out and r for
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

        // one untimed run of the whole workload (JIT, libtorch thread pool); the baselines get one too
        Ratio.of(set, pool, n, pcls, none, DOutVariant.SAMPLE);

        // median of three timed runs per variant (the Python baselines do the same)
        Ratio[][] keep = new Ratio[1][];
        double cpu0 = processCpu();
        // the kernel's build (its reference blocks in native memory) is timed too, as Faiss's index build is; an
        // executor builds it once and reuses it for every batch ('sisom-sample-built' below)
        double tSample = median(() -> {
            try (NearestKernel kernel = new NearestKernel(set)) {
                keep[0] = Ratio.fromHits(set, kernel.search(pool, n, pcls, none, true), pcls, DOutVariant.SAMPLE);
            }
        });
        Ratio[] sample = keep[0];
        print("sisom-sample", tSample, sum(sample));
        // CPU seconds per run, all threads: steadier than wall time when other work shares the machine
        System.out.printf(Locale.ROOT, "cpu-sample %.4f%n", (processCpu() - cpu0) / 3);
        double tBuilt = median(() -> keep[0] = Ratio.of(set, pool, n, pcls, none, DOutVariant.SAMPLE));
        print("sisom-sample-built", tBuilt, sum(keep[0]));
        try (NearestKernel kernel = new NearestKernel(set)) {
            kernel.search(pool, n, pcls, none, true);
            System.out.printf(Locale.ROOT, "kernel-exhaustive %d of %d queries%n", kernel.exhaustiveSearches(), n);
        }
        set.anchorOutDistances(); // the anchor variant's per-reference distances are part of the reference build
        double tAnchor = median(() -> {
            try (NearestKernel kernel = new NearestKernel(set)) {
                keep[0] = Ratio.fromHits(set, kernel.search(pool, n, pcls, none, false), pcls, DOutVariant.ANCHOR);
            }
        });
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
        double[] floor = floor(n, m, d);
        System.out.printf(Locale.ROOT, "floor-sgemm %.4f%n", floor[0]);
        System.out.printf(Locale.ROOT, "floor-sgemm-scan %.4f%n", floor[1]);
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

    /**
     * What any kernel of this design must spend on the workload: the same N x M x (D + 1) products in the kernel's
     * tile shape (1024 queries x one class block), alone, and with the cheapest possible pass over each result (one
     * scalar minimum per row, no selection). Median of three each; random data of the workload's shape.
     */
    static double[] floor(int n, int m, int d) {
        int rows = 1024;
        int width = 1000;
        try (NDManager mgr = NDManager.newBaseManager("PyTorch")) {
            NDArray x = mgr.randomNormal(new Shape(rows, d + 1));
            NDArray b = mgr.randomNormal(new Shape(d + 1, width));
            long tiles = Math.round((double) n / rows * m / width);
            float[] row = new float[width];
            double[] sink = new double[1];
            double[] out = new double[2];
            for (int variant = 0; variant < 2; variant++) {
                boolean scan = variant == 1;
                for (int w = 0; w < 5; w++) {
                    x.matMul(b).close();
                }
                out[variant] = median(() -> {
                    for (long t = 0; t < tiles; t++) {
                        try (NDArray s = x.matMul(b)) {
                            if (scan) {
                                java.nio.FloatBuffer fb = s.toByteBuffer(true).order(ByteOrder.nativeOrder())
                                        .asFloatBuffer();
                                for (int i = 0; i < rows; i++) {
                                    fb.get(i * width, row, 0, width);
                                    float mn = Float.POSITIVE_INFINITY;
                                    for (float v : row) {
                                        mn = mn <= v ? mn : v;
                                    }
                                    sink[0] += mn;
                                }
                            }
                        }
                    }
                });
            }
            return out;
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

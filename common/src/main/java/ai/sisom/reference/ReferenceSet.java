package ai.sisom.reference;

import ai.djl.Device;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The reference set R laid out per class (METHOD.md section 2): for class c, its points' enhanced features z packed
 * row-major, their ids, and their index in the labeled set (for leave-one-out). Rows are ordered by id within a
 * class, so nearest-neighbour ties resolve the same way however the input was partitioned.
 *
 * <p>Immutable and serializable: it is what Spark broadcasts to the executors.
 */
public final class ReferenceSet implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A nearest reference point: its class, its row within the class, and the Euclidean distance. */
    public record Nearest(double distance, int cls, int row) implements Serializable {}

    private final List<String> classNames;
    private final int dimension;
    private final float[][] points;
    private final String[][] ids;
    private final int[][] sourceIndex;
    private double[][] anchorOut;   // per reference point: distance to the nearest other-class reference point
    private Nearest[][] anchorOutNearest;
    // the distance kernels, built once per device and JVM copy of this set (an executor's broadcast value) and shared by its
    // tasks: building it costs about as much as searching 500 queries against it (bench/scale.sh scores in batches
    // of 2,048). Its native memory is freed by a Cleaner once this set is unreachable.
    private transient volatile java.util.concurrent.ConcurrentHashMap<Device, NearestKernel> kernels;
    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();

    private ReferenceSet(List<String> classNames, int dimension, float[][] points, String[][] ids, int[][] sourceIndex) {
        this.classNames = List.copyOf(classNames);
        this.dimension = dimension;
        this.points = points;
        this.ids = ids;
        this.sourceIndex = sourceIndex;
    }

    /**
     * Builds R from labeled points.
     *
     * @param ids        ids of the points
     * @param labels     class index of each point (0..K-1)
     * @param z          enhanced feature of each point
     * @param source     index of each point in the labeled set (leave-one-out excludes by this index)
     * @param classNames the model's classes; every class must have at least one point
     */
    public static ReferenceSet of(List<String> ids, int[] labels, List<float[]> z, int[] source, List<String> classNames) {
        int k = classNames.size();
        int n = ids.size();
        if (labels.length != n || z.size() != n || source.length != n) {
            throw new IllegalArgumentException("ids, labels, features and source indexes differ in length");
        }
        if (n == 0) {
            throw new IllegalArgumentException("the reference set is empty");
        }
        int d = z.get(0).length;
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= k) {
                throw new IllegalArgumentException("reference point '" + ids.get(i) + "' has class index " + labels[i]
                        + ", outside 0.." + (k - 1));
            }
            if (z.get(i).length != d) {
                throw new IllegalArgumentException("reference point '" + ids.get(i) + "' has " + z.get(i).length
                        + " features, expected " + d);
            }
            for (float v : z.get(i)) {
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("reference point '" + ids.get(i) + "' has a non-finite feature");
                }
            }
            byClass.get(labels[i]).add(i);
        }
        List<String> empty = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            if (byClass.get(c).isEmpty()) {
                empty.add(classNames.get(c));
            }
        }
        if (!empty.isEmpty()) {
            throw new IllegalArgumentException("no reference sample for class(es) " + empty + ": d_in would be undefined "
                    + "for pool samples predicted as them; add labeled samples of every class");
        }
        float[][] pts = new float[k][];
        String[][] pid = new String[k][];
        int[][] src = new int[k][];
        for (int c = 0; c < k; c++) {
            List<Integer> members = byClass.get(c);
            members.sort(Comparator.comparing(ids::get));
            int m = members.size();
            pts[c] = new float[m * d];
            pid[c] = new String[m];
            src[c] = new int[m];
            for (int r = 0; r < m; r++) {
                int i = members.get(r);
                System.arraycopy(z.get(i), 0, pts[c], r * d, d);
                pid[c][r] = ids.get(i);
                src[c][r] = source[i];
            }
        }
        return new ReferenceSet(classNames, d, pts, pid, src);
    }

    public int numClasses() { return classNames.size(); }

    public List<String> classNames() { return classNames; }

    public int dimension() { return dimension; }

    public int size(int c) { return ids[c].length; }

    public int size() {
        int s = 0;
        for (String[] i : ids) {
            s += i.length;
        }
        return s;
    }

    public String id(int c, int row) { return ids[c][row]; }

    public int sourceIndex(int c, int row) { return sourceIndex[c][row]; }

    /** The packed points of class c (row-major, read-only by contract: used by the distance kernels). */
    float[] pointsOf(int c) {
        return points[c];
    }

    /** A copy of point (c, row). */
    public float[] point(int c, int row) {
        return Arrays.copyOfRange(points[c], row * dimension, (row + 1) * dimension);
    }

    /**
     * Nearest point of class c to z, skipping the point whose labeled-set index is {@code exclude} (-1: none).
     * Returns null when the class has no other point.
     */
    public Nearest nearestIn(float[] z, int c, int exclude) {
        float[] p = points[c];
        int[] src = sourceIndex[c];
        double best = Double.POSITIVE_INFINITY;
        int bestRow = -1;
        for (int r = 0; r < src.length; r++) {
            if (src[r] == exclude && exclude >= 0) {
                continue;
            }
            double s = Distances.squared(z, p, r, dimension);
            if (s < best) {
                best = s;
                bestRow = r;
            }
        }
        return bestRow < 0 ? null : new Nearest(Math.sqrt(best), c, bestRow);
    }

    /** Nearest point of any class other than c (ties: lowest class, then lowest row). */
    public Nearest nearestOutside(float[] z, int c) {
        return nearestOutside(z, c, -1);
    }

    /**
     * As {@link #nearestOutside(float[], int)}, skipping the point whose labeled-set index is {@code exclude} (-1:
     * none): a labeled sample scored with a class other than its own lives among the "other" points.
     */
    public Nearest nearestOutside(float[] z, int c, int exclude) {
        double best = Double.POSITIVE_INFINITY;
        int bestC = -1;
        int bestRow = -1;
        for (int o = 0; o < points.length; o++) {
            if (o == c) {
                continue;
            }
            float[] p = points[o];
            int[] src = sourceIndex[o];
            int m = ids[o].length;
            for (int r = 0; r < m; r++) {
                if (exclude >= 0 && src[r] == exclude) {
                    continue;
                }
                double s = Distances.squared(z, p, r, dimension);
                if (s < best) {
                    best = s;
                    bestC = o;
                    bestRow = r;
                }
            }
        }
        return bestC < 0 ? null : new Nearest(Math.sqrt(best), bestC, bestRow);
    }

    /**
     * The {@code anchor} variant's d_out of reference point (c, row): its distance to the nearest other-class
     * reference point. Computed once for all points on first use (it depends on R only).
     */
    public Nearest anchorOut(int c, int row) {
        if (anchorOutNearest == null) {
            computeAnchors();
        }
        return anchorOutNearest[c][row];
    }

    private synchronized void computeAnchors() {
        if (anchorOutNearest != null) {
            return;
        }
        Nearest[][] out = new Nearest[points.length][];
        double[][] dist = new double[points.length][];
        int total = size();
        float[] all = new float[total * dimension];
        int[] cls = new int[total];
        int[] none = new int[total];
        java.util.Arrays.fill(none, -1);
        int i = 0;
        for (int c = 0; c < points.length; c++) {
            System.arraycopy(points[c], 0, all, i * dimension, points[c].length);
            for (int r = 0; r < ids[c].length; r++) {
                cls[i++] = c;
            }
        }
        NearestKernel.Hits[] hits = null;
        if ((long) total * total >= 200_000) {
            hits = kernel().search(all, total, cls, none, true);
        }
        i = 0;
        for (int c = 0; c < points.length; c++) {
            int m = ids[c].length;
            out[c] = new Nearest[m];
            dist[c] = new double[m];
            for (int r = 0; r < m; r++, i++) {
                out[c][r] = hits != null ? hits[i].out() : nearestOutside(point(c, r), c);
                dist[c][r] = out[c][r] == null ? Double.NaN : out[c][r].distance();
            }
        }
        anchorOut = dist;
        anchorOutNearest = out;
    }

    /**
     * The batched distance kernel over this set on the CPU, shared by every caller in this JVM (it is thread-safe).
     * Not to be closed by callers: its native memory goes when this set becomes unreachable.
     */
    public NearestKernel kernel() {
        return kernel(Device.cpu());
    }

    /** As {@link #kernel()}, with the reference blocks on {@code device}: one kernel per set, device and JVM. */
    public NearestKernel kernel(Device device) {
        java.util.concurrent.ConcurrentHashMap<Device, NearestKernel> all = kernels;
        if (all == null) {
            synchronized (this) {
                all = kernels;
                if (all == null) {
                    all = new java.util.concurrent.ConcurrentHashMap<>();
                    kernels = all;
                }
            }
        }
        return all.computeIfAbsent(device, dev -> {
            NearestKernel k = new NearestKernel(this, dev);
            CLEANER.register(this, k.releaser());
            return k;
        });
    }

    /** Writes the points (and the anchor distances, when computed) in the artifact's binary layout. */
    void write(java.io.DataOutputStream out, boolean withAnchors) throws java.io.IOException {
        if (withAnchors && anchorOutNearest == null) {
            computeAnchors();
        }
        out.writeInt(classNames.size());
        out.writeInt(dimension);
        for (int c = 0; c < points.length; c++) {
            out.writeInt(ids[c].length);
            for (int r = 0; r < ids[c].length; r++) {
                out.writeUTF(ids[c][r]);
                out.writeInt(sourceIndex[c][r]);
                for (int k = 0; k < dimension; k++) {
                    out.writeFloat(points[c][r * dimension + k]);
                }
            }
        }
        out.writeBoolean(withAnchors);
        if (withAnchors) {
            for (Nearest[] cls : anchorOutNearest) {
                for (Nearest n : cls) {
                    out.writeDouble(n.distance());
                    out.writeInt(n.cls());
                    out.writeInt(n.row());
                }
            }
        }
    }

    static ReferenceSet read(java.io.DataInputStream in, List<String> classNames) throws java.io.IOException {
        int k = in.readInt();
        int d = in.readInt();
        if (k != classNames.size()) {
            throw new java.io.IOException("reference points have " + k + " classes, metadata " + classNames.size());
        }
        float[][] pts = new float[k][];
        String[][] pid = new String[k][];
        int[][] src = new int[k][];
        for (int c = 0; c < k; c++) {
            int m = in.readInt();
            pts[c] = new float[m * d];
            pid[c] = new String[m];
            src[c] = new int[m];
            for (int r = 0; r < m; r++) {
                pid[c][r] = in.readUTF();
                src[c][r] = in.readInt();
                for (int j = 0; j < d; j++) {
                    pts[c][r * d + j] = in.readFloat();
                }
            }
        }
        ReferenceSet set = new ReferenceSet(classNames, d, pts, pid, src);
        if (in.readBoolean()) {
            Nearest[][] out = new Nearest[k][];
            double[][] dist = new double[k][];
            for (int c = 0; c < k; c++) {
                out[c] = new Nearest[pid[c].length];
                dist[c] = new double[pid[c].length];
                for (int r = 0; r < out[c].length; r++) {
                    out[c][r] = new Nearest(in.readDouble(), in.readInt(), in.readInt());
                    dist[c][r] = out[c][r].distance();
                }
            }
            set.anchorOut = dist;
            set.anchorOutNearest = out;
        }
        return set;
    }

    /** Distances of every reference point to its nearest other-class point (forces the anchor precomputation). */
    public double[][] anchorOutDistances() {
        if (anchorOutNearest == null) {
            computeAnchors();
        }
        double[][] copy = new double[anchorOut.length][];
        for (int c = 0; c < copy.length; c++) {
            copy[c] = anchorOut[c].clone();
        }
        return copy;
    }
}

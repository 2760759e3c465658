package ai.sisom.reference;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.sisom.model.Natives;
import ai.sisom.reference.ReferenceSet.Nearest;
import ai.sisom.util.Chunks;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Batched exact nearest-neighbour search against a {@link ReferenceSet}, for the SISOM workload: for each query,
 * the nearest reference point of its own class and (optionally) the nearest point of any other class.
 *
 * <p>Why hand-written around libtorch: the expensive part is the query x reference inner-product matrix, which
 * libtorch's sgemm computes at close to the machine's peak (blocked over reference columns so memory stays
 * bounded); the selection of the nearest point, with leave-one-out exclusion and class masks, is ours. Float32
 * products are not exact: a rigorous bound on the float32 error of the approximate squared distances
 * {@code |r|^2 - 2 x.r} says which columns could still be the nearest (those within twice the bound of the
 * approximate minimum, usually one), and the winner among them is decided by exact double-precision distances. A
 * crowd of more than {@value #MAX_CANDIDATES} near-ties sends that query to the exhaustive search in double. The
 * result is therefore identical to
 * {@link ReferenceSet#nearestIn}/{@link ReferenceSet#nearestOutside}, ties included.
 *
 * <p>On a GPU the products stay on the device and so does the scan's bulk: each row's minimum (and where it sits) and
 * the count of columns within the candidate limit are computed there, and only those come back, with the rare rows
 * that hold more than one candidate, which are then scanned here as on the CPU. The CPU reads each product block
 * in place instead. Both scans make the same candidate lists, so the results are identical; the tests run the
 * device scan on CPU tensors against the host scan.
 *
 * <p>Thread-safe: {@link #search} may run in several tasks at once (each call works in its own sub-manager; the
 * reference blocks are only read), so one kernel per set and device serves a whole executor
 * ({@link ReferenceSet#kernel(Device)}).
 */
public final class NearestKernel implements AutoCloseable {
    private static final int COLUMN_BLOCK = 16384;

    private final ReferenceSet set;
    private final NDManager manager;
    private final boolean deviceScan;
    private final int d;
    private final int m;
    private final int[] colClass;
    private final int[] colRow;
    private final int[] classStart;
    private final java.util.Map<Integer, Integer> sourceColumn = new java.util.HashMap<>();
    // the reference in column blocks that never straddle a class, so no class mask is ever needed:
    // a query's own class is a set of whole blocks, and the anchor variant skips every other block
    private final List<NDArray> blocksT = new ArrayList<>();  // (D + 1) x width: -2 R^T over |r|^2
    private final List<Integer> blockClass = new ArrayList<>();
    private final List<Integer> blockStart = new ArrayList<>();
    private final double maxRefNorm;
    private final float[] center;
    private final java.util.concurrent.atomic.LongAdder exhaustive = new java.util.concurrent.atomic.LongAdder();

    /** The best candidates of one query on one side: exact result. */
    public record Hits(Nearest in, Nearest out) {}

    /** A kernel on the CPU. */
    public NearestKernel(ReferenceSet set) {
        this(set, Device.cpu());
    }

    /** A kernel whose reference blocks and products live on {@code device}. */
    public NearestKernel(ReferenceSet set, Device device) {
        this(set, COLUMN_BLOCK, device, device.isGpu());
    }

    NearestKernel(ReferenceSet set, int columnBlock) {
        this(set, columnBlock, Device.cpu(), false);
    }

    /** @param deviceScan scan the products where they live (a GPU's way) rather than reading them in place */
    NearestKernel(ReferenceSet set, int columnBlock, Device device, boolean deviceScan) {
        this.set = set;
        Natives.prepare();
        this.manager = NDManager.newBaseManager(device, "PyTorch");
        this.deviceScan = deviceScan;
        this.d = set.dimension();
        int k = set.numClasses();
        int total = 0;
        classStart = new int[k + 1];
        for (int c = 0; c < k; c++) {
            classStart[c] = total;
            total += set.size(c);
        }
        classStart[k] = total;
        this.m = total;
        colClass = new int[m];
        colRow = new int[m];
        // Points and queries are shifted by the reference mean before the sgemm: distances do not change, but the
        // float32 error bound scales with the norms, and features such as z = sigmoid(alpha * u) at low steepness
        // sit in a tiny ball far from the origin (all near 0.5), where unshifted norms would make every query a
        // near-tie and send it to the exhaustive search.
        double[] mean = new double[d];
        for (int c = 0; c < k; c++) {
            for (int r = 0; r < set.size(c); r++) {
                float[] p = set.point(c, r);
                for (int j = 0; j < d; j++) {
                    mean[j] += p[j];
                }
            }
        }
        center = new float[d];
        for (int j = 0; j < d; j++) {
            center[j] = m == 0 ? 0f : (float) (mean[j] / m);
        }
        float[] all = new float[m * d];
        double maxNorm = 0;
        for (int c = 0; c < k; c++) {
            for (int r = 0; r < set.size(c); r++) {
                int col = classStart[c] + r;
                colClass[col] = c;
                colRow[col] = r;
                sourceColumn.put(set.sourceIndex(c, r), col);
                float[] p = set.point(c, r);
                double n = 0;
                for (int j = 0; j < d; j++) {
                    float v = p[j] - center[j];   // rounded once: accounted for in the error bound
                    all[col * d + j] = v;
                    n += (double) v * v;
                }
                maxNorm = Math.max(maxNorm, n);
            }
        }
        this.maxRefNorm = maxNorm;
        for (int c = 0; c < k; c++) {
            for (int s = classStart[c]; s < classStart[c + 1]; s += columnBlock) {
                int e = Math.min(classStart[c + 1], s + columnBlock);
                float[] block = new float[(e - s) * d];
                System.arraycopy(all, s * d, block, 0, block.length);
                float[] norms = new float[e - s];
                for (int col = s; col < e; col++) {
                    double nrm = 0;
                    for (int j = 0; j < d; j++) {
                        nrm += (double) all[col * d + j] * all[col * d + j];
                    }
                    norms[col - s] = (float) nrm;
                }
                // one sgemm gives |r|^2 - 2 x.r directly: [x, 1] @ [-2 R^T; |r|^2]
                float[] aug = new float[(d + 1) * (e - s)];
                for (int col = 0; col < e - s; col++) {
                    for (int j = 0; j < d; j++) {
                        aug[j * (e - s) + col] = -2f * block[col * d + j];
                    }
                    aug[d * (e - s) + col] = norms[col];
                }
                blocksT.add(manager.create(aug, new Shape(d + 1, e - s)));
                blockClass.add(c);
                blockStart.add(s);
            }
        }
    }

    /** The device the reference blocks and products live on. */
    public Device device() { return manager.getDevice(); }

    /** Queries that needed the exhaustive double-precision search (near-ties beyond the candidate list). */
    public long exhaustiveSearches() { return exhaustive.sum(); }

    /**
     * @param z       queries, n x D row-major
     * @param n       number of queries
     * @param cls     inner class of each query
     * @param exclude labeled-set index to leave out of each query's own class (-1: none)
     * @param outside also search the nearest other-class point
     */
    public Hits[] search(float[] z, int n, int[] cls, int[] exclude, boolean outside) {
        Hits[] out = new Hits[n];
        // group the queries by class: a batch then shares its inner blocks
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingInt(i -> cls[i]));
        int s = 0;
        while (s < n) {
            // with the other-class search every query needs every block, so a batch is any BATCH queries; without
            // it a batch holds one class, which then needs only that class's blocks
            int c = cls[order[s]];
            int e = s;
            while (e < n && e - s < BATCH && (outside || cls[order[e]] == c)) {
                e++;
            }
            int[] rows = new int[e - s];
            for (int i = s; i < e; i++) {
                rows[i - s] = order[i];
            }
            searchBatch(z, rows, cls, exclude, outside, out);
            s = e;
        }
        return out;
    }

    /**
     * Candidates of one query on one side: every column whose approximate value lies within twice the error bound
     * of the side's running approximate minimum. The exact winner is always among them: its approximate value is at
     * most its exact value + err <= (exact value of the approximate minimum's column) + err <= minimum + 2 err.
     */
    private static final class Side {
        float min = Float.POSITIVE_INFINITY;
        float limit = Float.POSITIVE_INFINITY;
        int n;
        int[] cols = new int[4];
        float[] vals = new float[4];
        boolean overflow;

        /** Lowers the running minimum to m and drops the candidates it puts out of reach. */
        void lower(float m, double err) {
            min = m;
            limit = limit(m, err);
            int k = 0;
            for (int j = 0; j < n; j++) {
                if (vals[j] <= limit) {
                    cols[k] = cols[j];
                    vals[k++] = vals[j];
                }
            }
            n = k;
        }

        void add(int col, float v) {
            if (n == MAX_CANDIDATES) {
                overflow = true;   // a crowd of near-ties: decided by the exhaustive search
                return;
            }
            if (n == cols.length) {
                cols = java.util.Arrays.copyOf(cols, 2 * n);
                vals = java.util.Arrays.copyOf(vals, 2 * n);
            }
            cols[n] = col;
            vals[n++] = v;
        }

        static float limit(float m, double err) {
            return Math.nextUp((float) (m + 2 * err));   // rounded up: nothing within 2 err of m is missed
        }
    }

    static final int MAX_CANDIDATES = 64;
    /** Queries per sgemm: a 1024 x 16384 float result is 64 MB, and 1024 rows keep libtorch's sgemm near peak. */
    private static final int BATCH = 1024;

    private void searchBatch(float[] z, int[] rows, int[] cls, int[] exclude, boolean outside, Hits[] out) {
        int b = rows.length;
        int[] rowClass = new int[b];
        boolean[] hasClass = new boolean[set.numClasses()];
        Side[] in = new Side[b];
        Side[] other = new Side[b];
        double[] err = new double[b];
        int[] skipCol = new int[b];
        float[] q = new float[b * (d + 1)];
        for (int i = 0; i < b; i++) {
            rowClass[i] = cls[rows[i]];
            hasClass[rowClass[i]] = true;
            in[i] = new Side();
            other[i] = outside ? new Side() : null;
            double xn = 0;
            for (int j = 0; j < d; j++) {
                float v = z[rows[i] * d + j] - center[j];
                q[i * (d + 1) + j] = v;
                xn += (double) v * v;
            }
            q[i * (d + 1) + d] = 1f;
            // rigorous error bound of |r|^2 - 2 x.r (shifted) against the exact |x - r|^2 - |x|^2: the float32
            // sgemm of length D + 1 (-2r and |r|^2 rounded once each; unit roundoff 2^-24), plus the rounding of
            // the two shifts, which moves |x - r|^2 by at most 2 * 2^-24 * (|x| + |r|)^2 (to first order)
            double xr = Math.sqrt(xn) + Math.sqrt(maxRefNorm);
            err[i] = 1.01 * ((d + 4) * 0x1p-24 * (maxRefNorm + 2 * Math.sqrt(xn * maxRefNorm))
                    + 2.01 * 0x1p-24 * xr * xr) + 1e-30;
            Integer col = exclude[rows[i]] >= 0 ? sourceColumn.get(exclude[rows[i]]) : null;
            skipCol[i] = col != null && colClass[col] == rowClass[i] ? col : -1;
        }
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(q, new Shape(b, d + 1));
            for (int blk = 0; blk < blocksT.size(); blk++) {
                int bc = blockClass.get(blk);
                if (!outside && !hasClass[bc]) {
                    continue;
                }
                try (NDArray approx = x.matMul(blocksT.get(blk))) {     // b x width: |r|^2 - 2 x.r
                    int width = (int) approx.getShape().get(1);
                    if (deviceScan) {
                        scanOnDevice(sub, approx, width, blockStart.get(blk), bc, rowClass, skipCol, in, other, err);
                        continue;
                    }
                    // a direct view of libtorch's (contiguous, CPU) result: no copy until the scan below, which
                    // must finish before the tensor is closed
                    FloatBuffer values = approx.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
                    Block block = new Block(values, width, blockStart.get(blk), bc);
                    // scalar Java (C2 in Java 17 does not vectorise a float min reduction); rows split over the
                    // fork-join pool while libtorch's threads are idle (a few percent, bench/distance.sh)
                    Chunks.map(b, ROWS_PER_TASK, (from, to) -> {
                        scanRows(block, from, to, rowClass, skipCol, in, other, err);
                        return null;
                    });
                }
            }
        }
        for (int i = 0; i < b; i++) {
            int qi = rows[i];
            float[] zq = java.util.Arrays.copyOfRange(z, qi * d, (qi + 1) * d);
            Nearest nIn = decide(zq, in[i], cls[qi], exclude[qi], true);
            Nearest nOut = outside ? decide(zq, other[i], cls[qi], -1, false) : null;
            out[qi] = new Hits(nIn, nOut);
        }
    }

    /**
     * The scan of one block where its products live: the same candidates as {@link #scanRows}, from four vectors of
     * b numbers copied back (row minima, their columns, the candidate limits sent down, the candidate counts) and
     * the rows with more than one candidate. A row's one candidate is its minimum's column: the limit is never
     * below the minimum.
     */
    private static void scanOnDevice(NDManager sub, NDArray approx, int width, int start, int cls, int[] rowClass,
                                     int[] skipCol, Side[] in, Side[] other, double[] err) {
        int b = rowClass.length;
        int[] skip = new int[b];
        boolean anySkip = false;
        for (int i = 0; i < b; i++) {
            boolean inner = rowClass[i] == cls;
            skip[i] = inner && skipCol[i] >= start && skipCol[i] < start + width ? skipCol[i] - start : -1;
            anySkip |= skip[i] >= 0;
        }
        // everything made here is closed before the next block: a batch's sub-manager lives across all blocks
        try (NDManager scratch = sub.newSubManager()) {
            NDArray v = approx;
            if (anySkip) {   // the left-out point: never a candidate
                NDArray keep = scratch.arange(width).reshape(1, width).neq(scratch.create(skip, new Shape(b, 1)));
                v = NDArrays.where(keep, approx, scratch.create(Float.POSITIVE_INFINITY));
                v.attach(scratch);
            }
            float[] mins = detached(v.min(new int[]{1}), scratch).toFloatArray();
            long[] at = detached(v.argMin(1), scratch).toType(DataType.INT64, false).toLongArray();
            float[] limit = new float[b];
            boolean any = false;
            for (int i = 0; i < b; i++) {
                Side side = rowClass[i] == cls ? in[i] : other[i];
                limit[i] = Float.NEGATIVE_INFINITY;
                float m = mins[i];
                if (side == null || m > side.limit || m == Float.POSITIVE_INFINITY) {
                    continue;
                }
                if (m < side.min) {
                    side.lower(m, err[i]);
                }
                limit[i] = side.limit;
                any = true;
            }
            if (!any) {
                return;
            }
            long[] counts = detached(v.lte(scratch.create(limit, new Shape(b, 1))), scratch).sum(new int[]{1})
                    .toType(DataType.INT64, false).toLongArray();
            for (int i = 0; i < b; i++) {
                if (limit[i] == Float.NEGATIVE_INFINITY) {
                    continue;
                }
                Side side = rowClass[i] == cls ? in[i] : other[i];
                if (counts[i] == 1) {
                    side.add(start + (int) at[i], mins[i]);
                    continue;
                }
                float[] row = detached(v.get(i), scratch).toFloatArray();   // a near-tie row: scanned here
                float t = limit[i];
                for (int j = 0; j < width; j++) {
                    if (row[j] <= t) {
                        side.add(start + j, row[j]);
                    }
                }
            }
        }
    }

    /** Moves a result (attached to its operand's manager) to the block's scratch manager, which frees it. */
    private static NDArray detached(NDArray a, NDManager scratch) {
        a.attach(scratch);
        return a;
    }

    /** Rows per scan task: below this the fork costs more than the scan. */
    private static final int ROWS_PER_TASK = 128;

    /** One block's sgemm result (b x width, a view of libtorch's memory) and the columns it covers. */
    private record Block(FloatBuffer values, int width, int start, int cls) {}

    /**
     * Rows from..to of one block, each into its own-class side or (when searched) its other-class side. Each row is
     * copied out of libtorch's memory into a small array that stays in L1, then scanned.
     */
    private static void scanRows(Block block, int from, int to, int[] rowClass, int[] skipCol, Side[] in,
                                 Side[] other, double[] err) {
        int width = block.width();
        float[] row = new float[width];
        for (int i = from; i < to; i++) {
            boolean inner = rowClass[i] == block.cls();
            Side side = inner ? in[i] : other[i];
            if (side == null) {
                continue;   // another class's block, and no other-class search
            }
            block.values().get(i * width, row, 0, width);   // absolute bulk get: safe for concurrent readers
            int skip = inner && skipCol[i] >= block.start() && skipCol[i] < block.start() + width
                    ? skipCol[i] - block.start() : -1;
            if (skip >= 0) {
                row[skip] = Float.POSITIVE_INFINITY;   // the left-out point: never a candidate
            }
            scan(row, width, block.start(), side, err[i]);
        }
    }

    /**
     * Two passes over one row: its minimum (a plain compare-and-select, about 40 % faster than Math.min, whose NaN and
     * -0.0 rules cost extra instructions; the values are finite because non-finite features are rejected before
     * scoring), then, only when that minimum is within reach of the side's running minimum (for all but one or two
     * blocks it is not), the candidates. Partial minima per chunk, to narrow the second pass, measured slower: C2
     * handles short inner loops poorly.
     */
    private static void scan(float[] v, int width, int start, Side side, double err) {
        float m = Float.POSITIVE_INFINITY;
        for (int j = 0; j < width; j++) {
            float x = v[j];
            m = m <= x ? m : x;
        }
        if (m > side.limit || m == Float.POSITIVE_INFINITY) {
            return;   // out of reach, or nothing but the left-out point
        }
        if (m < side.min) {
            side.lower(m, err);
        }
        float t = side.limit;
        for (int j = 0; j < width; j++) {
            if (v[j] <= t) {
                side.add(start + j, v[j]);
            }
        }
    }

    private Nearest decide(float[] zq, Side side, int c, int exclude, boolean inner) {
        if (side.n == 0 || side.overflow) {
            exhaustive.increment();
            return inner ? set.nearestIn(zq, c, exclude) : set.nearestOutside(zq, c);
        }
        double bestExact = Double.POSITIVE_INFINITY;
        int bestCol = -1;
        for (int j = 0; j < side.n; j++) {
            int col = side.cols[j];
            double ex = Distances.squared(zq, set.pointsOf(colClass[col]), colRow[col], d);
            if (ex < bestExact || (ex == bestExact && col < bestCol)) {
                bestExact = ex;
                bestCol = col;
            }
        }
        return new Nearest(Math.sqrt(bestExact), colClass[bestCol], colRow[bestCol]);
    }

    /** Frees the native memory; holds no reference to this kernel or its set (for a {@link java.lang.ref.Cleaner}). */
    Runnable releaser() {
        NDManager m = manager;
        return m::close;
    }

    @Override
    public void close() {
        manager.close();
    }
}

package ai.sisom.reference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.sisom.reference.ReferenceSet.Nearest;

import java.util.ArrayList;
import java.util.List;

/**
 * Batched exact nearest-neighbour search against a {@link ReferenceSet}, for the SISOM workload: for each query,
 * the nearest reference point of its own class and (optionally) the nearest point of any other class.
 *
 * <p>Why hand-written around libtorch: the expensive part is the query x reference inner-product matrix, which
 * libtorch's sgemm computes at close to the machine's peak (blocked over reference columns so memory stays
 * bounded); the selection of the nearest point, with leave-one-out exclusion and class masks, is ours. Float32
 * products are not exact, so each query keeps its {@value #K} best candidates per side from the approximate squared
 * distances {@code |r|^2 - 2 x.r} and the winner is decided by exact double-precision distances among them. A
 * rigorous bound on the float32 error decides whether those candidates are enough; when they are not (near-ties
 * within the bound), that query is searched exhaustively in double. The result is therefore identical to
 * {@link ReferenceSet#nearestIn}/{@link ReferenceSet#nearestOutside}, ties included.
 */
public final class NearestKernel implements AutoCloseable {
    static final int K = 8;
    private static final int COLUMN_BLOCK = 16384;

    private final ReferenceSet set;
    private final NDManager manager;
    private final int d;
    private final int m;
    private final int[] colClass;
    private final int[] colRow;
    private final int[] classStart;
    // the reference in column blocks that never straddle a class, so no class mask is ever needed:
    // a query's own class is a set of whole blocks, and the anchor variant skips every other block
    private final List<NDArray> blocksT = new ArrayList<>();  // (D + 1) x width: -2 R^T over |r|^2
    private final List<Integer> blockClass = new ArrayList<>();
    private final List<Integer> blockStart = new ArrayList<>();
    private final double maxRefNorm;
    private long exhaustive;

    /** The best candidates of one query on one side: exact result. */
    public record Hits(Nearest in, Nearest out) {}

    public NearestKernel(ReferenceSet set) {
        this(set, COLUMN_BLOCK);
    }

    NearestKernel(ReferenceSet set, int columnBlock) {
        this.set = set;
        this.manager = NDManager.newBaseManager("PyTorch");
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
        float[] all = new float[m * d];
        double maxNorm = 0;
        for (int c = 0; c < k; c++) {
            for (int r = 0; r < set.size(c); r++) {
                int col = classStart[c] + r;
                colClass[col] = c;
                colRow[col] = r;
                float[] p = set.point(c, r);
                System.arraycopy(p, 0, all, col * d, d);
                double n = 0;
                for (float v : p) {
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

    /** Queries that needed the exhaustive double-precision search (near-ties beyond the candidate list). */
    public long exhaustiveSearches() { return exhaustive; }

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
        int batch = 1024;
        int s = 0;
        while (s < n) {
            int c = cls[order[s]];
            int e = s;
            while (e < n && e - s < batch && cls[order[e]] == c) {
                e++;
            }
            int[] rows = new int[e - s];
            for (int i = s; i < e; i++) {
                rows[i - s] = order[i];
            }
            searchBatch(z, rows, c, cls, exclude, outside, out);
            s = e;
        }
        return out;
    }

    private void searchBatch(float[] z, int[] rows, int c, int[] cls, int[] exclude, boolean outside, Hits[] out) {
        int b = rows.length;
        int keep = K + 1; // one spare for leave-one-out
        int[][] inCol = new int[b][keep];
        float[][] inVal = new float[b][keep];
        int[][] outCol = new int[b][keep];
        float[][] outVal = new float[b][keep];
        for (int i = 0; i < b; i++) {
            java.util.Arrays.fill(inVal[i], Float.POSITIVE_INFINITY);
            java.util.Arrays.fill(outVal[i], Float.POSITIVE_INFINITY);
        }
        float[] q = new float[b * (d + 1)];
        for (int i = 0; i < b; i++) {
            System.arraycopy(z, rows[i] * d, q, i * (d + 1), d);
            q[i * (d + 1) + d] = 1f;
        }
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(q, new Shape(b, d + 1));
            for (int blk = 0; blk < blocksT.size(); blk++) {
                boolean inner = blockClass.get(blk) == c;
                if (!inner && !outside) {
                    continue;
                }
                NDArray approx = x.matMul(blocksT.get(blk));      // b x width: |r|^2 - 2 x.r
                int width = (int) approx.getShape().get(1);
                int k = Math.min(keep, width);
                NDList top = approx.topK(k, 1, false, true);
                float[] v = top.get(0).toFloatArray();
                long[] idx = top.get(1).toLongArray();
                int start = blockStart.get(blk);
                for (int i = 0; i < b; i++) {
                    for (int j = 0; j < k; j++) {
                        insert(inner ? inCol[i] : outCol[i], inner ? inVal[i] : outVal[i], v[i * k + j],
                                start + (int) idx[i * k + j]);
                    }
                }
                top.close();
                approx.close();
            }
        }
        for (int i = 0; i < b; i++) {
            int qi = rows[i];
            float[] zq = new float[d];
            System.arraycopy(z, qi * d, zq, 0, d);
            double xn = 0;
            for (float v : zq) {
                xn += (double) v * v;
            }
            // rigorous error bound of |r|^2 - 2 x.r from a float32 sgemm of length D + 1 with float32 inputs
            // (-2r and |r|^2 rounded once each; relative unit roundoff 2^-24)
            double err = 1.01 * (d + 4) * 0x1p-24 * (maxRefNorm + 2 * Math.sqrt(xn * maxRefNorm)) + 1e-30;
            Nearest in = refine(zq, inCol[i], inVal[i], cls[qi], exclude[qi], true, err);
            Nearest o = outside ? refine(zq, outCol[i], outVal[i], cls[qi], -1, false, err) : null;
            out[qi] = new Hits(in, o);
        }
    }

    /** Inserts (value, column) into a row's sorted candidate list of fixed length, dropping the worst. */
    private static void insert(int[] cols, float[] vals, float v, int col) {
        int last = vals.length - 1;
        if (!(v < vals[last] || v == vals[last] && col < cols[last])) {
            return;
        }
        int p = last;
        while (p > 0 && (v < vals[p - 1] || v == vals[p - 1] && col < cols[p - 1])) {
            vals[p] = vals[p - 1];
            cols[p] = cols[p - 1];
            p--;
        }
        vals[p] = v;
        cols[p] = col;
    }

    private Nearest refine(float[] zq, int[] cols, float[] vals, int c, int exclude, boolean inner, double err) {
        int finite = 0;
        while (finite < vals.length && !Float.isInfinite(vals[finite])) {
            finite++; // values are sorted; masked (other-side) columns are +inf and come last
        }
        double bestExact = Double.POSITIVE_INFINITY;
        int bestCol = -1;
        float minApprox = Float.POSITIVE_INFINITY;
        for (int j = 0; j < finite; j++) {
            int col = cols[j];
            if (inner && exclude >= 0 && set.sourceIndex(colClass[col], colRow[col]) == exclude) {
                continue;
            }
            if (minApprox == Float.POSITIVE_INFINITY) {
                minApprox = vals[j]; // candidates are sorted: the first kept one is the approximate minimum
            } else if (vals[j] - minApprox > 2 * err) {
                break; // cannot beat the best: its exact value exceeds minApprox + err
            }
            double ex = Distances.squared(zq, set.pointsOf(colClass[col]), colRow[col], d);
            if (ex < bestExact || (ex == bestExact && col < bestCol)) {
                bestExact = ex;
                bestCol = col;
            }
        }
        // fewer than K+1 finite candidates: every column of this side was seen. Otherwise an unseen column has an
        // approximate value >= the last candidate's, so it cannot beat (or tie) the best unless the candidates'
        // approximate values span no more than twice the error bound.
        boolean full = finite >= K + 1;
        if (bestCol < 0 || full && vals[finite - 1] - vals[0] <= 2 * err) {
            exhaustive++;
            return inner ? set.nearestIn(zq, c, exclude) : set.nearestOutside(zq, c);
        }
        return new Nearest(Math.sqrt(bestExact), colClass[bestCol], colRow[bestCol]);
    }

    @Override
    public void close() {
        manager.close();
    }
}

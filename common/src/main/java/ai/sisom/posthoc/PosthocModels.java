package ai.sisom.posthoc;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.sisom.model.Natives;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The post-hoc scorers fitted on the labeled set by the reference build (KNN's normalised features, Mahalanobis'
 * class means and precision, ReAct's percentile, ViM's origin, residual space and alpha) and the model's final linear
 * layer, so that executors compute every {@link PosthocMethod} in the same pass as SISOM. Stored in the reference
 * artifact; immutable and thread-safe.
 *
 * <p>The configuration is OpenOOD v1.5's defaults, fixed (docs/evaluation.md ranks them so): KNN's k = n / 1000
 * rounded, at least 1 (the KNN paper's proportion); ReAct and ASH-B (OpenOOD's ASHNet) percentile 90; ViM's D = P / 2; GEN gamma 0.1 and
 * M = min(100, K). KNN's distances in a batch come from one float32 matrix product on libtorch, as Faiss' flat index
 * computes them for OpenOOD; every other method is evaluated in double precision.
 */
public final class PosthocModels implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final double REACT_PERCENTILE = 90;
    public static final double ASH_PERCENTILE = 90;
    public static final double GEN_GAMMA = 0.1;
    public static final int GEN_M = 100;
    private static final int MAGIC = 0x504f5354; // "POST"
    /** Queries per KNN matrix product: 256 x a 50,000-sample fit set is a 51 MB float product. */
    private static final int KNN_BLOCK = 256;

    private final OodPostprocessors.Head head;
    private final OodPostprocessors.Knn knn;
    private final OodPostprocessors.Mahalanobis mahalanobis;
    private final OodPostprocessors.ReAct react;
    private final OodPostprocessors.Vim vim;
    private final int classes;
    private final int penultimateSize;
    private final float[][] labeled; // the raw fit features: CoreSet's initial centers
    private transient float[] knnFit; // the normalised fit features packed n x P, made on first use

    private PosthocModels(OodPostprocessors.Head head, OodPostprocessors.Knn knn,
                          OodPostprocessors.Mahalanobis mahalanobis, OodPostprocessors.ReAct react,
                          OodPostprocessors.Vim vim, int classes, int penultimateSize, float[][] labeled) {
        this.labeled = labeled;
        this.head = head;
        this.knn = knn;
        this.mahalanobis = mahalanobis;
        this.react = react;
        this.vim = vim;
        this.classes = classes;
        this.penultimateSize = penultimateSize;
    }

    /** KNN's k for a fit set of n samples: n / 1000 rounded, at least 1. */
    public static int knnK(int n) {
        return (int) Math.max(1, Math.round(n / 1000.0));
    }

    /**
     * Fits every method the inputs allow.
     *
     * @param penultimate the labeled in-distribution samples' penultimate features
     * @param labels      their classes
     * @param classes     K
     * @param head        the final linear layer, or null (ReAct, ASH and ViM are then unavailable)
     */
    public static PosthocModels fit(List<float[]> penultimate, int[] labels, int classes,
                                    OodPostprocessors.Head head) {
        if (penultimate.isEmpty()) {
            throw new IllegalArgumentException("the post-hoc scorers need labeled samples to fit on");
        }
        int p = penultimate.get(0).length;
        double[][] x = new double[penultimate.size()][];
        for (int i = 0; i < x.length; i++) {
            float[] f = penultimate.get(i);
            if (f.length != p) {
                throw new IllegalArgumentException("labeled sample " + i + " has " + f.length
                        + " penultimate features, the first has " + p);
            }
            x[i] = new double[p];
            for (int j = 0; j < p; j++) {
                x[i][j] = f[j];
            }
        }
        if (head != null && (head.inputs() != p || head.bias().length != classes)) {
            throw new IllegalArgumentException("the model's final linear layer is " + head.bias().length + " x "
                    + head.inputs() + ", but the labeled features have " + p + " penultimate values and " + classes
                    + " classes");
        }
        var knn = new OodPostprocessors.Knn(x, knnK(x.length));
        var maha = new OodPostprocessors.Mahalanobis(x, labels, classes);
        OodPostprocessors.ReAct react = null;
        OodPostprocessors.Vim vim = null;
        if (head != null) {
            react = new OodPostprocessors.ReAct(x, head, REACT_PERCENTILE);
            vim = p >= 2 ? new OodPostprocessors.Vim(x, head, p / 2) : null;
        }
        return new PosthocModels(head, knn, maha, react, vim, classes, p, penultimate.toArray(new float[0][]));
    }

    /** The labeled samples' penultimate features the scorers were fitted on (shared, do not modify). */
    public float[][] labeledPenultimate() { return labeled; }

    /** Whether {@code m} can be computed with what was fitted (a model exported without its head has no ReAct, ASH, ViM). */
    public boolean has(PosthocMethod m) {
        return switch (m) {
            case REACT -> react != null;
            case VIM -> vim != null;
            case ASH -> head != null;
            default -> true;
        };
    }

    /** The methods this can compute. */
    public Set<PosthocMethod> available() {
        Set<PosthocMethod> s = EnumSet.noneOf(PosthocMethod.class);
        for (PosthocMethod m : PosthocMethod.values()) {
            if (has(m)) {
                s.add(m);
            }
        }
        return s;
    }

    /** The final linear layer, or null. */
    public OodPostprocessors.Head head() { return head; }

    public int penultimateSize() { return penultimateSize; }

    /**
     * The in-distribution scores of n samples: {@code [i][m.ordinal()]} for each requested method, NaN for the others.
     *
     * @param logits      per sample, K values
     * @param penultimate per sample, P values (may be null when no requested method reads them)
     * @param device      where KNN's matrix product runs
     */
    public double[][] score(Set<PosthocMethod> methods, float[][] logits, float[][] penultimate, Device device) {
        return score(methods, logits, penultimate, device, false);
    }

    /**
     * As {@link #score(Set, float[][], float[][], Device)}; {@code fitSamples}: the samples are the labeled ones the
     * scorers were fitted on, so KNN leaves each one's own feature out (its (k+1)-th neighbour). The other fitted
     * methods score them in-sample, as they were fitted.
     */
    public double[][] score(Set<PosthocMethod> methods, float[][] logits, float[][] penultimate, Device device,
                            boolean fitSamples) {
        int n = logits.length;
        double[][] out = new double[n][PosthocMethod.values().length];
        for (double[] row : out) {
            Arrays.fill(row, Double.NaN);
        }
        for (PosthocMethod m : methods) {
            if (!has(m)) {
                throw new IllegalArgumentException("post-hoc score '" + m.label() + "' needs the model's final linear "
                        + "layer, and the model was exported without it: export it again with python/sisom_export.py");
            }
        }
        if (methods.contains(PosthocMethod.KNN)) {
            double[] k = knnScores(penultimate, device, fitSamples ? 1 : 0);
            for (int i = 0; i < n; i++) {
                out[i][PosthocMethod.KNN.ordinal()] = k[i];
            }
        }
        for (int i = 0; i < n; i++) {
            double[] l = doubles(logits[i]);
            double[] x = penultimate == null ? null : doubles(penultimate[i]);
            for (PosthocMethod m : methods) {
                if (m == PosthocMethod.KNN) {
                    continue;
                }
                if (m.needsPenultimate() && (x == null || x.length != penultimateSize)) {
                    throw new IllegalArgumentException("post-hoc score '" + m.label() + "' needs " + penultimateSize
                            + " penultimate features per sample, got " + (x == null ? "none" : x.length));
                }
                out[i][m.ordinal()] = logitScore(m, l, x);
            }
        }
        return out;
    }

    /**
     * The in-distribution scores of n samples for methods that need nothing fitted, from the logits alone:
     * {@code [i][m.ordinal()]}, NaN for the methods not asked for (the scorer's way without fitted models).
     */
    public static double[][] logitScores(Set<PosthocMethod> methods, float[][] logits) {
        double[][] out = new double[logits.length][PosthocMethod.values().length];
        for (int i = 0; i < logits.length; i++) {
            Arrays.fill(out[i], Double.NaN);
            double[] l = doubles(logits[i]);
            for (PosthocMethod m : methods) {
                out[i][m.ordinal()] = logitScore(m, l);
            }
        }
        return out;
    }

    /** The score of a method that needs nothing fitted, from the logits alone; NaN-free for finite logits. */
    public static double logitScore(PosthocMethod m, double[] logits) {
        if (m.needsPenultimate()) {
            throw new IllegalArgumentException("post-hoc score '" + m.label() + "' needs the penultimate features");
        }
        return switch (m) {
            case MSP -> OodPostprocessors.msp(logits);
            case MAXLOGIT -> OodPostprocessors.maxLogit(logits);
            case ENERGY -> OodPostprocessors.energy(logits);
            case GEN -> OodPostprocessors.gen(logits, GEN_GAMMA, GEN_M);
            case ENTROPY -> OodPostprocessors.negEntropy(logits);
            case MARGIN -> OodPostprocessors.margin(logits);
            default -> throw new AssertionError(m);
        };
    }

    private double logitScore(PosthocMethod m, double[] l, double[] x) {
        return switch (m) {
            case MAHALANOBIS -> mahalanobis.score(x);
            case REACT -> react.score(x);
            case ASH -> OodPostprocessors.ash(x, head, ASH_PERCENTILE, true);
            case VIM -> vim.score(x);
            default -> logitScore(m, l);
        };
    }

    /** KNN for n samples: their normalised features against the fit set in blocks of float32 products, then top-k. */
    private double[] knnScores(float[][] penultimate, Device device, int skip) {
        int n = penultimate.length;
        int p = penultimateSize;
        double[][] fit = knn.normalisedFit();
        int m = fit.length;
        float[] packed = knnFit;
        if (packed == null) {
            packed = new float[m * p];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < p; j++) {
                    packed[i * p + j] = (float) fit[i][j];
                }
            }
            knnFit = packed;
        }
        double[] out = new double[n];
        Natives.prepare();
        try (NDManager manager = NDManager.newBaseManager(device, "PyTorch")) {
            NDArray f = manager.create(packed, new Shape(m, p)).transpose();
            for (int start = 0; start < n; start += KNN_BLOCK) {
                int b = Math.min(KNN_BLOCK, n - start);
                float[] q = new float[b * p];
                double[][] qd = new double[b][];
                for (int i = 0; i < b; i++) {
                    float[] xi = penultimate[start + i];
                    if (xi == null || xi.length != p) {
                        throw new IllegalArgumentException("post-hoc score 'knn' needs " + p
                                + " penultimate features per sample, got " + (xi == null ? "none" : xi.length));
                    }
                    double[] nx = OodPostprocessors.Knn.normalised(doubles(xi));
                    qd[i] = nx;
                    for (int j = 0; j < p; j++) {
                        q[i * p + j] = (float) nx[j];
                    }
                }
                try (NDManager block = manager.newSubManager()) {
                    NDArray dots = block.create(q, new Shape(b, p)).matMul(f);
                    // the k-th nearest by squared distance is the k-th largest dot product (both sides unit length)
                    int rank = Math.min(knn.k() + skip, m);
                    NDList top = dots.topK(rank, 1, true, true);
                    long[] kth = top.get(1).get(":, " + (rank - 1)).toLongArray();
                    for (int i = 0; i < b; i++) {
                        // the product only ranks; the k-th neighbour's distance is recomputed in double
                        double[] fi = fit[(int) kth[i]];
                        double d = 0;
                        for (int j = 0; j < p; j++) {
                            double t = qd[i][j] - fi[j];
                            d += t * t;
                        }
                        out[start + i] = -d;
                    }
                }
            }
        }
        return out;
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int j = 0; j < f.length; j++) {
            d[j] = f[j];
        }
        return d;
    }

    /** What was fitted, for reference.json (the matrices are in points.bin). */
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("methods", available().stream().map(PosthocMethod::label).toList());
        m.put("knnK", knn.k());
        m.put("knnFitSamples", knn.normalisedFit().length);
        m.put("head", head != null);
        if (react != null) {
            m.put("reactPercentile", REACT_PERCENTILE);
            m.put("reactThreshold", react.threshold());
        }
        if (head != null) {
            m.put("ashPercentile", ASH_PERCENTILE);
        }
        if (vim != null) {
            m.put("vimDim", vim.dim());
            m.put("vimAlpha", vim.alpha());
        }
        m.put("genGamma", GEN_GAMMA);
        m.put("genM", Math.min(GEN_M, classes));
        return m;
    }

    // ---- persistence (inside points.bin, after the reference set) ----

    public void write(DataOutputStream out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(classes);
        out.writeInt(penultimateSize);
        out.writeBoolean(head != null);
        if (head != null) {
            writeMatrix(out, head.weight());
            writeVector(out, head.bias());
        }
        out.writeInt(knn.k());
        writeMatrix(out, knn.normalisedFit());
        writeMatrix(out, mahalanobis.means());
        writeMatrix(out, mahalanobis.precision());
        out.writeBoolean(react != null);
        if (react != null) {
            out.writeDouble(react.threshold());
        }
        out.writeBoolean(vim != null);
        if (vim != null) {
            writeVector(out, vim.origin());
            writeMatrix(out, vim.residualBasis());
            out.writeDouble(vim.alpha());
        }
        out.writeInt(labeled.length);
        for (float[] row : labeled) {
            for (float v : row) {
                out.writeFloat(v);
            }
        }
    }

    public static PosthocModels read(DataInputStream in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("points.bin: the post-hoc scorers' section is missing or damaged");
        }
        int classes = in.readInt();
        int p = in.readInt();
        OodPostprocessors.Head head = null;
        if (in.readBoolean()) {
            head = new OodPostprocessors.Head(readMatrix(in), readVector(in));
        }
        int k = in.readInt();
        var knn = OodPostprocessors.Knn.ofNormalised(readMatrix(in), k);
        var maha = OodPostprocessors.Mahalanobis.of(readMatrix(in), readMatrix(in));
        OodPostprocessors.ReAct react = in.readBoolean() ? new OodPostprocessors.ReAct(head, in.readDouble()) : null;
        OodPostprocessors.Vim vim = null;
        if (in.readBoolean()) {
            double[] origin = readVector(in);
            double[][] basis = readMatrix(in);
            vim = OodPostprocessors.Vim.of(head, origin, basis, in.readDouble());
        }
        int n = in.readInt();
        if (n < 0 || (long) n * p > 1L << 31) {
            throw new IOException("points.bin: " + n + " labeled post-hoc features");
        }
        float[][] labeled = new float[n][p];
        for (float[] row : labeled) {
            for (int j = 0; j < p; j++) {
                row[j] = in.readFloat();
            }
        }
        return new PosthocModels(head, knn, maha, react, vim, classes, p, labeled);
    }

    private static void writeVector(DataOutputStream out, double[] v) throws IOException {
        out.writeInt(v.length);
        for (double x : v) {
            out.writeDouble(x);
        }
    }

    private static double[] readVector(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 28) {
            throw new IOException("points.bin: a post-hoc vector of length " + n);
        }
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = in.readDouble();
        }
        return v;
    }

    private static void writeMatrix(DataOutputStream out, double[][] m) throws IOException {
        out.writeInt(m.length);
        for (double[] row : m) {
            writeVector(out, row);
        }
    }

    private static double[][] readMatrix(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 28) {
            throw new IOException("points.bin: a post-hoc matrix of " + n + " rows");
        }
        double[][] m = new double[n][];
        for (int i = 0; i < n; i++) {
            m[i] = readVector(in);
        }
        return m;
    }
}

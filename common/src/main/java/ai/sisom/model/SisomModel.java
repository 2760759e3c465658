package ai.sisom.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoopTranslator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A SISOM-contract TorchScript model loaded with DJL (PyTorch engine), offline.
 *
 * <p>The four conditions of DJL-GRADIENTS.md are met here and in the exporter: the model is loaded with
 * {@code trainParam=true} (weights are not inference tensors), and forward is called on the block with
 * {@code training=true}, because a {@code Predictor} always runs under c10::InferenceMode where the script cannot
 * re-enable autograd. BN folding and leaf-only differentiation are the exporter's job.
 *
 * <p>Thread-safe: {@link #forward} may be called from several Spark tasks at once; each call works in its own
 * sub-manager whose native memory is freed before the call returns.
 */
public final class SisomModel implements AutoCloseable {
    static final String GRAPH_OPTIMIZER = "ai.djl.pytorch.graph_optimizer";
    private final ZooModel<NDList, NDList> model;
    private final ModelMetadata metadata;
    private final Path modelFile;
    private final NDManager cpu;   // the model's own manager on a CPU model; decoding never runs on a GPU

    /** Raw outputs of one batch of n samples, row-major: logits n x K, penultimate n x P, a and g n x D. */
    public record Outputs(int n, float[] logits, float[] penultimate, float[] activations, float[] gradients) {}

    private SisomModel(ZooModel<NDList, NDList> model, ModelMetadata metadata, Path modelFile) {
        this.model = model;
        this.metadata = metadata;
        this.modelFile = modelFile;
        Device dev = model.getNDManager().getDevice();
        this.cpu = dev.isGpu() ? NDManager.newBaseManager(Device.cpu(), "PyTorch") : model.getNDManager();
    }

    /** Loads {@code model.pt} and its metadata {@code model.json} on DJL's default device (a GPU if present). */
    public static SisomModel load(Path modelFile) throws IOException {
        return load(modelFile, null);
    }

    /**
     * Loads {@code model.pt} and its metadata {@code model.json}.
     *
     * @param device the device to run on, or null for DJL's default (the first GPU if there is one, else CPU)
     */
    public static SisomModel load(Path modelFile, Device device) throws IOException {
        Natives.prepare();
        // TorchScript's profiling graph executor breaks the chained autograd.grad calls from the second forward on
        // (DJL-GRADIENTS.md, condition 4); DJL applies this property on every forward, in the calling thread.
        if (System.getProperty(GRAPH_OPTIMIZER) == null) {
            System.setProperty(GRAPH_OPTIMIZER, "false");
        }
        Path file = modelFile.toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new IOException("model file not found: " + file);
        }
        String fileName = file.getFileName().toString();
        String stem = fileName.endsWith(".pt") ? fileName.substring(0, fileName.length() - 3) : fileName;
        ModelMetadata meta = ModelMetadata.read(file.resolveSibling(stem + ".json"));
        if (!fileName.equals(meta.modelFile())) {
            throw new IOException("metadata " + stem + ".json describes '" + meta.modelFile() + "', not '" + fileName + "'");
        }
        Criteria.Builder<NDList, NDList> b = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("PyTorch")
                .optModelPath(file.getParent())
                .optModelName(stem)
                .optOption("trainParam", "true")
                .optOption("mapLocation", "true")
                .optTranslator(new NoopTranslator());
        if (device != null) {
            b.optDevice(device);
        }
        ZooModel<NDList, NDList> zoo;
        try {
            zoo = b.build().loadModel();
        } catch (ModelNotFoundException | MalformedModelException | ai.djl.engine.EngineException e) {
            throw new IOException("cannot load TorchScript model " + file + (device == null ? "" : " on " + device)
                    + ": " + e.getMessage(), e);
        }
        SisomModel m = new SisomModel(zoo, meta, file);
        try {
            m.forward(new float[meta.channels() * meta.height() * meta.width()], 1); // checks the contract once
        } catch (RuntimeException e) {
            zoo.close();
            throw new IOException("model " + file + " does not follow the SISOM contract: " + e.getMessage(), e);
        }
        return m;
    }

    public ModelMetadata metadata() { return metadata; }

    public Path modelFile() { return modelFile; }

    /** The model's manager, on the model's device. */
    public NDManager manager() { return model.getNDManager(); }

    /** A manager on the CPU (the model's own when the model runs there): callers create short-lived sub-managers
     * from it, e.g. for resizing while decoding. */
    public NDManager cpuManager() { return cpu; }

    public Device device() { return model.getNDManager().getDevice(); }

    /**
     * Runs the network on n normalised images (n x C x H x W floats, row-major) and copies the four contract
     * outputs out of native memory.
     */
    public Outputs forward(float[] images, int n) {
        int c = metadata.channels();
        int h = metadata.height();
        int w = metadata.width();
        if (n < 1 || images.length < (long) n * c * h * w) {
            throw new IllegalArgumentException("expected " + n + " images of " + c + "x" + h + "x" + w);
        }
        boolean gradMode = JniUtils.isGradMode();
        try (NDManager sub = model.getNDManager().newSubManager()) {
            // exactly n images: callers pass reused buffers that may be longer
            NDArray x = sub.create(java.nio.FloatBuffer.wrap(images, 0, n * c * h * w), new Shape(n, c, h, w));
            NDList out = model.getBlock().forward(new ParameterStore(sub, false), new NDList(x), true);
            if (out.size() != 4) {
                throw new IllegalStateException("expected 4 outputs (logits, penultimate, activations, gradients), got "
                        + out.size());
            }
            int d = metadata.featureSize();
            float[] logits = copy(out.get(0), n, metadata.numClasses(), "logits");
            float[] pen = copy(out.get(1), n, metadata.penultimateSize(), "penultimate");
            float[] acts = copy(out.get(2), n, d, "activations");
            float[] grads = copy(out.get(3), n, d, "gradients");
            return new Outputs(n, logits, pen, acts, grads);
        } finally {
            // grad mode is per thread; a script that throws leaves it switched on (DJL-GRADIENTS.md)
            JniUtils.setGradMode(gradMode);
        }
    }

    private static float[] copy(NDArray a, int n, int cols, String name) {
        Shape s = a.getShape();
        if (s.dimension() != 2 || s.get(0) != n || s.get(1) != cols) {
            throw new IllegalStateException(name + " has shape " + s + ", metadata says (" + n + ", " + cols + ")");
        }
        return a.toFloatArray();
    }

    @Override
    public void close() {
        if (cpu != model.getNDManager()) {
            cpu.close();
        }
        model.close();
    }
}

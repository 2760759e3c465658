package ai.sisom.model;

import ai.djl.util.JsonUtils;
import com.google.gson.JsonParseException;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The metadata file written by {@code python/sisom_export.py} next to a SISOM-contract TorchScript model.
 * It names the chosen layers and their sizes, so a feature vector {@code u} can be split back into layers
 * (for per-layer sigmoid steepness), and records the input preprocessing the model was trained with.
 */
public final class ModelMetadata implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final String FORMAT = "sisom-contract";
    public static final int FORMAT_VERSION = 1;

    /** One chosen layer: its module name and its channel count C_j. */
    public static final class Layer implements Serializable {
        private static final long serialVersionUID = 1L;
        String name;
        int size;

        public Layer() {}

        public Layer(String name, int size) {
            this.name = name;
            this.size = size;
        }

        public String name() { return name; }

        public int size() { return size; }
    }

    /** The final linear layer, {@code logits = weight x penultimate + bias}: K x P and K. */
    public static final class Head implements Serializable {
        private static final long serialVersionUID = 1L;
        float[][] weight;
        float[] bias;

        public Head() {}

        public Head(float[][] weight, float[] bias) {
            this.weight = weight;
            this.bias = bias;
        }

        public float[][] weight() { return weight; }

        public float[] bias() { return bias; }
    }

    String format;
    int formatVersion;
    String modelFile;
    int[] inputShape;
    int numClasses;
    List<String> classNames;
    float[] mean;
    float[] std;
    List<Layer> layers;
    int penultimateSize;
    String memoryFormat;
    Head head;

    /** Reads and validates {@code <model>.json}; the error names the file and the field at fault. */
    public static ModelMetadata read(Path jsonFile) throws IOException {
        if (!Files.isRegularFile(jsonFile)) {
            throw new IOException("model metadata not found: " + jsonFile
                    + " (export the model with python/sisom_export.py, which writes it next to the .pt file)");
        }
        ModelMetadata m;
        try (Reader r = Files.newBufferedReader(jsonFile)) {
            m = JsonUtils.GSON.fromJson(r, ModelMetadata.class);
        } catch (JsonParseException e) {
            throw new IOException("model metadata " + jsonFile + " is not valid JSON: " + e.getMessage(), e);
        }
        if (m == null) {
            throw new IOException("model metadata " + jsonFile + " is empty");
        }
        m.validate(jsonFile.toString());
        return m;
    }

    void validate(String source) throws IOException {
        if (!FORMAT.equals(format)) {
            throw bad(source, "format is '" + format + "', expected '" + FORMAT + "'");
        }
        if (formatVersion != FORMAT_VERSION) {
            throw bad(source, "formatVersion " + formatVersion + " is not supported (expected " + FORMAT_VERSION + ")");
        }
        if (inputShape == null || inputShape.length != 3 || inputShape[0] < 1 || inputShape[1] < 1 || inputShape[2] < 1) {
            throw bad(source, "inputShape must be [C, H, W] with positive entries");
        }
        if (inputShape[0] != 1 && inputShape[0] != 3) {
            throw bad(source, "only 1-channel (grayscale) or 3-channel (RGB) models are supported, got " + inputShape[0]);
        }
        if (numClasses < 2) {
            throw bad(source, "numClasses must be at least 2");
        }
        if (classNames == null || classNames.size() != numClasses) {
            throw bad(source, "classNames must list " + numClasses + " names");
        }
        if (classNames.stream().distinct().count() != numClasses) {
            throw bad(source, "classNames must be distinct");
        }
        if (mean == null || std == null || mean.length != inputShape[0] || std.length != inputShape[0]) {
            throw bad(source, "mean and std need one value per input channel");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw bad(source, "std values must be positive");
            }
        }
        if (layers == null || layers.isEmpty()) {
            throw bad(source, "layers must name at least one layer");
        }
        for (Layer l : layers) {
            if (l.name == null || l.size < 1) {
                throw bad(source, "every layer needs a name and a positive size");
            }
        }
        if (penultimateSize < 1) {
            throw bad(source, "penultimateSize must be positive");
        }
        if (head != null) {
            if (head.weight == null || head.bias == null || head.weight.length != numClasses
                    || head.bias.length != numClasses) {
                throw bad(source, "head must have " + numClasses + " weight rows and " + numClasses + " biases");
            }
            for (float[] row : head.weight) {
                if (row == null || row.length != penultimateSize) {
                    throw bad(source, "every head weight row must have penultimateSize = " + penultimateSize
                            + " values");
                }
            }
        }
        if (modelFile == null || modelFile.isBlank()) {
            throw bad(source, "modelFile is missing");
        }
    }

    private static IOException bad(String source, String what) {
        return new IOException("invalid model metadata " + source + ": " + what);
    }

    public String modelFile() { return modelFile; }

    public int channels() { return inputShape[0]; }

    public int height() { return inputShape[1]; }

    public int width() { return inputShape[2]; }

    public int numClasses() { return numClasses; }

    public List<String> classNames() { return Collections.unmodifiableList(classNames); }

    public float[] mean() { return mean.clone(); }

    public float[] std() { return std.clone(); }

    public List<Layer> layers() { return Collections.unmodifiableList(layers); }

    public int penultimateSize() { return penultimateSize; }

    /** Layout of the convolution weights: {@code channels_last}, or {@code contiguous} (also for older exports). */
    public String memoryFormat() { return memoryFormat == null ? "contiguous" : memoryFormat; }

    /**
     * The final linear layer the exporter wrote (ReAct, ASH and ViM recompute logits from altered penultimate
     * features), or null for a model exported before the contract carried it.
     */
    public Head head() { return head; }

    /** D = sum of the chosen layers' sizes: the length of u (and of the enhanced feature z). */
    public int featureSize() {
        return layers.stream().mapToInt(Layer::size).sum();
    }

    /** Offsets of each layer inside u: layer j occupies [offsets[j], offsets[j+1]). */
    public int[] layerOffsets() {
        int[] off = new int[layers.size() + 1];
        for (int j = 0; j < layers.size(); j++) {
            off[j + 1] = off[j] + layers.get(j).size;
        }
        return off;
    }

    public List<String> layerNames() {
        List<String> names = new ArrayList<>();
        layers.forEach(l -> names.add(l.name));
        return names;
    }
}

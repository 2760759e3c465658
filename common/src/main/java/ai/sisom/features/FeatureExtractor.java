package ai.sisom.features;

import ai.sisom.image.ImagePreprocessor;
import ai.sisom.image.InvalidImageException;
import ai.sisom.model.SisomModel;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Images in, SISOM feature records out: decodes and normalises each image, runs the contract model in batches
 * and derives pseudo-class, energy and {@code u = a * g}. Bad items (corrupt or wrong-shape image, non-finite
 * network output) become {@link Rejection}s naming the item; the rest of the batch is still scored.
 *
 * <p>Thread-safe as long as the model is: it keeps no mutable state. Streaming: {@link #extract(Iterator)} holds
 * one batch at a time, which is what a Spark {@code mapPartitions} needs.
 */
public final class FeatureExtractor {
    /** One input item: an id and the stored image bytes. */
    public record Item(String id, byte[] image) {}

    /** A scored record or a rejection, in input order. */
    public record Result(FeatureRecord record, Rejection rejection) {
        public boolean rejected() { return rejection != null; }
    }

    private final SisomModel model;
    private final ImagePreprocessor preprocessor;
    private final int batchSize;

    public FeatureExtractor(SisomModel model, ImagePreprocessor preprocessor, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        var meta = model.metadata();
        if (preprocessor.channels() != meta.channels() || preprocessor.height() != meta.height()
                || preprocessor.width() != meta.width()) {
            throw new IllegalArgumentException("preprocessor produces " + preprocessor.channels() + "x"
                    + preprocessor.height() + "x" + preprocessor.width() + " but the model takes "
                    + meta.channels() + "x" + meta.height() + "x" + meta.width());
        }
        this.model = model;
        this.preprocessor = preprocessor;
        this.batchSize = batchSize;
    }

    public SisomModel model() { return model; }

    public int batchSize() { return batchSize; }

    /** Scores a list of items (at most batchSize at a time inside). */
    public List<Result> extract(List<Item> items) {
        List<Result> out = new ArrayList<>(items.size());
        extract(items.iterator()).forEachRemaining(out::add);
        return out;
    }

    /** Lazily scores a stream of items one batch at a time. */
    public Iterator<Result> extract(Iterator<Item> items) {
        return new Batches<>(items, () -> {
            List<Item> batch = new ArrayList<>(batchSize);
            while (batch.size() < batchSize && items.hasNext()) {
                batch.add(items.next());
            }
            return runBatch(batch);
        });
    }

    /** Scores one batch; the results are in input order. */
    List<Result> runBatch(List<Item> batch) {
        int per = preprocessor.size();
        float[] input = new float[batch.size() * per];
        Result[] results = new Result[batch.size()];
        int[] slot = new int[batch.size()]; // batch position of each decoded image
        int n = 0;
        for (int i = 0; i < batch.size(); i++) {
            Item it = batch.get(i);
            try {
                preprocessor.decodeInto(it.id(), it.image(), input, n * per, model.manager());
                slot[n++] = i;
            } catch (InvalidImageException e) {
                results[i] = new Result(null, new Rejection(it.id(), e.reason()));
            }
        }
        if (n > 0) {
            SisomModel.Outputs o = model.forward(input, n);
            var meta = model.metadata();
            int k = meta.numClasses();
            int p = meta.penultimateSize();
            int d = meta.featureSize();
            for (int r = 0; r < n; r++) {
                int i = slot[r];
                String id = batch.get(i).id();
                float[] logits = slice(o.logits(), r, k);
                float[] pen = slice(o.penultimate(), r, p);
                float[] u = new float[d];
                int base = r * d;
                for (int j = 0; j < d; j++) {
                    u[j] = o.activations()[base + j] * o.gradients()[base + j];
                }
                String bad = firstNonFinite(logits, "logits", pen, "penultimate feature", u, "a*g");
                results[i] = bad != null
                        ? new Result(null, new Rejection(id, "network output has non-finite values in " + bad))
                        : new Result(new FeatureRecord(id, logits, FeatureRecord.argmax(logits),
                                FeatureRecord.energy(logits), pen, u), null);
            }
        }
        return java.util.Arrays.asList(results);
    }

    private static float[] slice(float[] all, int row, int cols) {
        float[] out = new float[cols];
        System.arraycopy(all, row * cols, out, 0, cols);
        return out;
    }

    private static String firstNonFinite(Object... arraysAndNames) {
        for (int a = 0; a < arraysAndNames.length; a += 2) {
            for (float v : (float[]) arraysAndNames[a]) {
                if (!Float.isFinite(v)) {
                    return (String) arraysAndNames[a + 1];
                }
            }
        }
        return null;
    }
}

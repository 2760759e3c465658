package ai.sisom.features;

import ai.sisom.image.ImagePreprocessor;
import ai.sisom.image.InvalidImageException;
import ai.sisom.model.SisomModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Images in, SISOM feature records out: decodes and normalises each image, runs the contract model in batches
 * and derives pseudo-class, energy and {@code u = a * g}. Bad items (corrupt or wrong-shape image, non-finite
 * network output) become {@link Rejection}s naming the item; the rest of the batch is still scored.
 *
 * <p>Feeding the network: with {@code decodeThreads > 0}, the next batch is decoded on that many threads of the
 * extraction's own while the network runs the current one in the calling thread, so a GPU (or libtorch's CPU
 * threads) waits for decoding only when decoding is the slower side. With 0, each batch is decoded in the calling
 * thread before its forward. Input items are always read in the calling thread (a Spark task's iterator is not
 * to be shared), at most two batches ahead.
 *
 * <p>Thread-safe as long as the model is: the extractor keeps no mutable state; each {@link #extract(Iterator)}
 * has its own buffers and threads, freed by {@link Extraction#close()} or when the input is used up.
 */
public final class FeatureExtractor {
    /**
     * One input item: an id and the stored image bytes, or the reason it was rejected before extraction (an
     * unreadable source file), which it keeps.
     */
    public record Item(String id, byte[] image, String rejectedReason) {
        public Item(String id, byte[] image) {
            this(id, image, null);
        }

        /** An item rejected upstream: it comes out as this rejection, in its place. */
        public static Item rejected(String id, String reason) {
            return new Item(id, null, reason);
        }
    }

    /** A scored record or a rejection, in input order. */
    public record Result(FeatureRecord record, Rejection rejection) {
        public boolean rejected() { return rejection != null; }
    }

    private final SisomModel model;
    private final ImagePreprocessor preprocessor;
    private final int batchSize;
    private final int decodeThreads;

    public FeatureExtractor(SisomModel model, ImagePreprocessor preprocessor, int batchSize) {
        this(model, preprocessor, batchSize, 0);
    }

    /**
     * @param decodeThreads threads that decode the next batch while the network runs the current one; 0 decodes
     *                      in the calling thread between forwards
     */
    public FeatureExtractor(SisomModel model, ImagePreprocessor preprocessor, int batchSize, int decodeThreads) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        if (decodeThreads < 0) {
            throw new IllegalArgumentException("decodeThreads must be 0 or more, got " + decodeThreads);
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
        this.decodeThreads = decodeThreads;
    }

    public SisomModel model() { return model; }

    public int batchSize() { return batchSize; }

    public int decodeThreads() { return decodeThreads; }

    /** Scores a list of items (at most batchSize at a time inside). */
    public List<Result> extract(List<Item> items) {
        List<Result> out = new ArrayList<>(items.size());
        try (Extraction e = extract(items.iterator())) {
            e.forEachRemaining(out::add);
        }
        return out;
    }

    /** Lazily scores a stream of items one batch at a time; close it when abandoning it before the end. */
    public Extraction extract(Iterator<Item> items) {
        return new Extraction(items);
    }

    /** A running extraction: results in input order. */
    public final class Extraction implements Iterator<Result>, AutoCloseable {
        private final Iterator<Item> source;
        private final ExecutorService pool;
        private final float[][] buffers = new float[2][];
        private int nextBuffer;
        private Batch ahead;
        private List<Result> pending = List.of();
        private int next;
        private boolean closed;

        private Extraction(Iterator<Item> source) {
            this.source = source;
            if (decodeThreads > 0) {
                AtomicInteger n = new AtomicInteger();
                this.pool = Executors.newFixedThreadPool(decodeThreads, r -> {
                    Thread t = new Thread(r, "sisom-decode-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
            } else {
                this.pool = null;
            }
        }

        @Override
        public boolean hasNext() {
            while (next >= pending.size()) {
                Batch current = ahead != null ? ahead : start();
                ahead = null;
                if (current == null) {
                    close();
                    return false;
                }
                current.await();
                if (pool != null) {
                    ahead = start();   // decoded while the network runs the current batch
                }
                pending = forward(current);
                next = 0;
            }
            return true;
        }

        @Override
        public Result next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return pending.get(next++);
        }

        /** Reads the next batch and starts decoding it (in this thread without decode threads); null at the end. */
        private Batch start() {
            if (closed) {
                return null;
            }
            List<Item> items = new ArrayList<>(batchSize);
            while (items.size() < batchSize && source.hasNext()) {
                items.add(source.next());
            }
            if (items.isEmpty()) {
                return null;
            }
            int per = preprocessor.size();
            int b = nextBuffer;
            nextBuffer ^= 1;
            if (buffers[b] == null || buffers[b].length < items.size() * per) {
                buffers[b] = new float[batchSize * per];
            }
            Batch batch = new Batch(items, buffers[b]);
            if (pool == null) {
                batch.decode(0, items.size());
            } else {
                int parts = Math.min(decodeThreads, items.size());
                batch.parts = new Future<?>[parts];
                for (int p = 0; p < parts; p++) {
                    int from = p * items.size() / parts;
                    int to = (p + 1) * items.size() / parts;
                    batch.parts[p] = pool.submit(() -> batch.decode(from, to));
                }
            }
            return batch;
        }

        /** Stops the decode threads; the results already produced stay readable. */
        @Override
        public void close() {
            closed = true;
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    /** One batch: its items, the buffer its images are decoded into (item i at i * size), and what decoding found. */
    private final class Batch {
        final List<Item> items;
        final float[] input;
        final Result[] results;
        final boolean[] decoded;
        Future<?>[] parts;

        Batch(List<Item> items, float[] input) {
            this.items = items;
            this.input = input;
            this.results = new Result[items.size()];
            this.decoded = new boolean[items.size()];
        }

        void decode(int from, int to) {
            int per = preprocessor.size();
            for (int i = from; i < to; i++) {
                Item it = items.get(i);
                if (it.rejectedReason() != null) {
                    results[i] = new Result(null, new Rejection(it.id(), it.rejectedReason()));
                    continue;
                }
                try {
                    preprocessor.decodeInto(it.id(), it.image(), input, i * per, model.cpuManager());
                    decoded[i] = true;
                } catch (InvalidImageException e) {
                    results[i] = new Result(null, new Rejection(it.id(), e.reason()));
                }
            }
        }

        void await() {
            if (parts == null) {
                return;
            }
            try {
                for (Future<?> f : parts) {
                    f.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while decoding images", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new IllegalStateException("decoding images failed: " + e.getCause(), e.getCause());
            }
        }
    }

    /** Runs the network on a decoded batch; the results are in input order. */
    private List<Result> forward(Batch batch) {
        int per = preprocessor.size();
        float[] input = batch.input;
        Result[] results = batch.results;
        int[] slot = new int[results.length]; // batch position of each decoded image
        int n = 0;
        for (int i = 0; i < results.length; i++) {
            if (batch.decoded[i]) {
                if (n != i) {   // close the gaps of rejected items: the network sees only decoded images
                    System.arraycopy(input, i * per, input, n * per, per);
                }
                slot[n++] = i;
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
                String id = batch.items.get(i).id();
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
        return Arrays.asList(results);
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

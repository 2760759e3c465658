package ai.sisom.spark;

import ai.djl.Device;
import ai.sisom.features.FeatureExtractor;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.DeviceBinding;
import ai.sisom.model.DeviceResolver;
import ai.sisom.model.ModelCache;
import ai.sisom.model.Natives;
import ai.sisom.model.SisomModel;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;
import org.apache.spark.util.TaskCompletionListener;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The images -> features stage on Spark: executors run the DJL model inside {@code mapPartitions}, one batch at a
 * time, on the task's own GPU when Spark assigned it one ({@link TaskGpus}), else on the CPU, with the model loaded
 * once per executor JVM and device ({@link ModelCache}); the next batch is decoded on threads of the task's own
 * while the network runs the current one. Executors read the model from its URI
 * (a path every node can read: S3A, HDFS, or a local path in local mode) rather than through
 * {@code SparkContext.addFile}, whose per-context file registry cannot hold two models of the same file name.
 *
 * <p>Output: {@link FeatureTable#schema} with every input row present, as a feature record or as a rejection
 * ({@code rejected_reason} set), followed by the input's pass-through columns (label, partition columns).
 */
public final class FeatureExtraction {
    private FeatureExtraction() {}

    /**
     * Settings of the stage.
     *
     * @param batchSize        images per network batch on the CPU
     * @param gpuBatchSize     images per network batch on a GPU
     * @param decodeThreads    threads per task decoding the next batch during the forward on the CPU (0: none)
     * @param gpuDecodeThreads the same on a GPU
     * @param binding          which device each task uses
     */
    public record Settings(String modelUri, int batchSize, ImagePreprocessor.Resize resize, int gpuBatchSize,
                           int decodeThreads, int gpuDecodeThreads, DeviceBinding binding)
            implements java.io.Serializable {
        public Settings {
            if (batchSize < 1 || gpuBatchSize < 1) {
                throw new IllegalArgumentException("batch sizes must be positive, got " + batchSize + " and "
                        + gpuBatchSize);
            }
            if (decodeThreads < 0 || gpuDecodeThreads < 0) {
                throw new IllegalArgumentException("decode threads must be 0 or more, got " + decodeThreads + " and "
                        + gpuDecodeThreads);
            }
        }

        /** CPU batch size and resize as given; on a GPU 512 images a batch and 4 decode threads; 1 on the CPU. */
        public Settings(String modelUri, int batchSize, ImagePreprocessor.Resize resize) {
            this(modelUri, batchSize, resize, 512, 1, 4, TaskGpus.binding(false));
        }

        public Settings withBinding(DeviceBinding b) {
            return new Settings(modelUri, batchSize, resize, gpuBatchSize, decodeThreads, gpuDecodeThreads, b);
        }
    }

    /**
     * Extracts features for every row of {@code images} (columns from {@link ImageSources}).
     */
    public static Dataset<Row> extract(SparkSession spark, Dataset<Row> images, Settings s) {
        ai.sisom.model.ModelMetadata meta;
        try {
            meta = ModelCache.metadata(s.modelUri(), spark.sparkContext().hadoopConfiguration()); // fail fast
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        checkNatives(spark, s.binding());
        if (!"channels_last".equals(meta.memoryFormat())) {
            // a hint, not an error: the model runs, only slower on CPU executors (README, Performance)
            org.slf4j.LoggerFactory.getLogger(FeatureExtraction.class).warn(
                    "model {} has {} convolution weights; re-exporting it with python/sisom_export.py (default "
                            + "--memory-format channels_last) makes extraction on CPU executors faster",
                    s.modelUri(), meta.memoryFormat());
        }
        var conf = spark.sparkContext().broadcast(
                new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()),
                scala.reflect.ClassTag$.MODULE$.apply(SerializableConfiguration.class));
        if (!Arrays.asList(images.columns()).contains(ImageSources.ID)
                || !Arrays.asList(images.columns()).contains(ImageSources.IMAGE)) {
            throw new IllegalArgumentException("extraction needs columns id and image, got "
                    + Arrays.toString(images.columns()));
        }
        if (!Arrays.asList(images.columns()).contains(FeatureTable.CONTENT_HASH)) {
            // computed by Spark on the executors, in the same pass that feeds the model
            images = images.withColumn(FeatureTable.CONTENT_HASH,
                    org.apache.spark.sql.functions.sha2(images.col(ImageSources.IMAGE), 256));
        }
        StructType in = images.schema();
        List<String> cols = Arrays.asList(in.fieldNames());
        List<StructField> pass = new ArrayList<>();
        List<Integer> passIdx = new ArrayList<>();
        for (int i = 0; i < in.fields().length; i++) {
            String n = in.fields()[i].name();
            if (!n.equals(ImageSources.ID) && !n.equals(ImageSources.IMAGE) && !n.equals(ImageSources.SOURCE_ERROR)) {
                pass.add(in.fields()[i]);
                passIdx.add(i);
            }
        }
        TableLayout<FeatureTable.Entry> layout = FeatureTable.layout(meta);
        StructType out = layout.schema(pass);
        Fn fn = new Fn(s, conf, layout, in.fieldIndex(ImageSources.ID),
                in.fieldIndex(ImageSources.IMAGE), cols.contains(ImageSources.SOURCE_ERROR)
                ? in.fieldIndex(ImageSources.SOURCE_ERROR) : -1, passIdx.stream().mapToInt(Integer::intValue).toArray());
        Dataset<Row> features = images.mapPartitions(fn, Encoders.row(out));
        // the row encoder does not carry column metadata through mapPartitions: attach it to the result
        List<org.apache.spark.sql.Column> withMetadata = new ArrayList<>();
        for (StructField f : out.fields()) {
            withMetadata.add(f.metadata().json().equals("{}") ? features.col(f.name())
                    : features.col(f.name()).as(f.name(), f.metadata()));
        }
        return features.select(withMetadata.toArray(new org.apache.spark.sql.Column[0]));
    }

    /**
     * Fails before any task runs when tasks get GPUs that the natives of this application cannot use: the driver
     * and the executors run the same jar, so CPU-only natives here are CPU-only natives there, unless the executors
     * are given a libtorch of their own ({@code spark.executorEnv.PYTORCH_LIBRARY_PATH}).
     */
    static void checkNatives(SparkSession spark, DeviceBinding binding) {
        String key = "spark.task.resource." + TaskGpus.RESOURCE + ".amount";
        if (Double.parseDouble(spark.conf().get(key, "0")) <= 0 || binding.cpuFallback()
                || binding.resolver() == DeviceResolver.NONE
                || spark.conf().contains("spark.executorEnv.PYTORCH_LIBRARY_PATH") || Natives.cudaBuild()) {
            return;
        }
        throw new IllegalArgumentException(key + "=" + spark.conf().get(key) + " gives tasks GPUs, but the PyTorch "
                + "natives of this jar are CPU-only: use the GPU jar (./mvnw -Pcuda package, docs/gpu.md) or a CUDA libtorch "
                + "(spark.executorEnv.PYTORCH_LIBRARY_PATH), or set " + DeviceBinding.FALLBACK_SETTING
                + "=true to extract on the executors' CPUs");
    }

    /** The executor side: one output row per input row, in order, through the task's {@link FeatureExtractor}. */
    private static final class Fn implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final Settings settings;
        private final Broadcast<SerializableConfiguration> conf;
        private final TableLayout<FeatureTable.Entry> layout;
        private final int idIdx;
        private final int imageIdx;
        private final int errorIdx;
        private final int[] passIdx;

        Fn(Settings settings, Broadcast<SerializableConfiguration> conf, TableLayout<FeatureTable.Entry> layout,
           int idIdx, int imageIdx, int errorIdx, int[] passIdx) {
            this.settings = settings;
            this.conf = conf;
            this.layout = layout;
            this.idIdx = idIdx;
            this.imageIdx = imageIdx;
            this.errorIdx = errorIdx;
            this.passIdx = passIdx;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            Device device = settings.binding().device();
            SisomModel model = ModelCache.get(settings.modelUri(), conf.value().value(), device);
            boolean gpu = device.isGpu();
            FeatureExtractor fx = new FeatureExtractor(model,
                    ImagePreprocessor.forModel(model.metadata(), settings.resize()),
                    gpu ? settings.gpuBatchSize() : settings.batchSize(),
                    gpu ? settings.gpuDecodeThreads() : settings.decodeThreads());
            // every row becomes one item and one result, in order: the pass-through values wait here meanwhile
            ArrayDeque<Object[]> passes = new ArrayDeque<>();
            Iterator<FeatureExtractor.Item> items = new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public FeatureExtractor.Item next() {
                    Row r = rows.next();
                    Object[] pass = new Object[passIdx.length];
                    for (int p = 0; p < passIdx.length; p++) {
                        pass[p] = r.get(passIdx[p]);
                    }
                    passes.add(pass);
                    String id = r.getString(idIdx);
                    if (errorIdx >= 0 && !r.isNullAt(errorIdx)) {
                        return FeatureExtractor.Item.rejected(id, r.getString(errorIdx));
                    }
                    return new FeatureExtractor.Item(id, r.isNullAt(imageIdx) ? null : (byte[]) r.get(imageIdx));
                }
            };
            FeatureExtractor.Extraction results = fx.extract(items);
            TaskContext task = TaskContext.get();
            if (task != null) {   // a task that stops early (a limit, a failure) stops its decode threads too
                task.addTaskCompletionListener((TaskCompletionListener) t -> results.close());
            }
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return results.hasNext();
                }

                @Override
                public Row next() {
                    FeatureExtractor.Result res = results.next();
                    Object[] pass = passes.remove();
                    return layout.row(res.rejected()
                            ? FeatureTable.Entry.rejection(res.rejection().id(), res.rejection().reason())
                            : FeatureTable.Entry.of(res.record()), pass);
                }
            };
        }
    }
}

package ai.sisom.spark;

import ai.sisom.features.Batches;
import ai.sisom.features.FeatureExtractor;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.ModelCache;
import ai.sisom.model.SisomModel;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The images -> features stage on Spark: executors run the DJL model inside {@code mapPartitions}, one batch at a
 * time, with the model loaded once per executor JVM ({@link ModelCache}). Executors read the model from its URI
 * (a path every node can read: S3A, HDFS, or a local path in local mode) rather than through
 * {@code SparkContext.addFile}, whose per-context file registry cannot hold two models of the same file name.
 *
 * <p>Output: {@link FeatureTable#schema} with every input row present, as a feature record or as a rejection
 * ({@code rejected_reason} set), followed by the input's pass-through columns (label, partition columns).
 */
public final class FeatureExtraction {
    private FeatureExtraction() {}

    /** Settings of the stage. */
    public record Settings(String modelUri, int batchSize, ImagePreprocessor.Resize resize) implements java.io.Serializable {
        public Settings {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
            }
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
        Fn fn = new Fn(s.modelUri(), conf, s.batchSize(), s.resize(), layout, in.fieldIndex(ImageSources.ID),
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

    /** The executor side: batches rows, runs the model, emits one output row per input row. */
    private static final class Fn implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final String modelUri;
        private final Broadcast<SerializableConfiguration> conf;
        private final int batchSize;
        private final ImagePreprocessor.Resize resize;
        private final TableLayout<FeatureTable.Entry> layout;
        private final int idIdx;
        private final int imageIdx;
        private final int errorIdx;
        private final int[] passIdx;

        Fn(String modelUri, Broadcast<SerializableConfiguration> conf, int batchSize, ImagePreprocessor.Resize resize,
           TableLayout<FeatureTable.Entry> layout, int idIdx, int imageIdx, int errorIdx, int[] passIdx) {
            this.modelUri = modelUri;
            this.conf = conf;
            this.batchSize = batchSize;
            this.resize = resize;
            this.layout = layout;
            this.idIdx = idIdx;
            this.imageIdx = imageIdx;
            this.errorIdx = errorIdx;
            this.passIdx = passIdx;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            SisomModel model = ModelCache.get(modelUri, conf.value().value());
            FeatureExtractor fx = new FeatureExtractor(model, ImagePreprocessor.forModel(model.metadata(), resize),
                    batchSize);
            return new Batches<>(rows, () -> {
                List<Row> out = new ArrayList<>(batchSize);
                List<Row> batch = new ArrayList<>(batchSize);
                List<FeatureExtractor.Item> items = new ArrayList<>(batchSize);
                Object[][] passes = new Object[batchSize][];
                String[] errors = new String[batchSize];
                while (batch.size() < batchSize && rows.hasNext()) {
                    Row r = rows.next();
                    int i = batch.size();
                    batch.add(r);
                    passes[i] = new Object[passIdx.length];
                    for (int p = 0; p < passIdx.length; p++) {
                        passes[i][p] = r.get(passIdx[p]);
                    }
                    errors[i] = errorIdx >= 0 && !r.isNullAt(errorIdx) ? r.getString(errorIdx) : null;
                    if (errors[i] == null) {
                        items.add(new FeatureExtractor.Item(r.getString(idIdx),
                                r.isNullAt(imageIdx) ? null : (byte[]) r.get(imageIdx)));
                    }
                }
                Iterator<FeatureExtractor.Result> results = fx.extract(items).iterator();
                for (int i = 0; i < batch.size(); i++) {
                    String id = batch.get(i).getString(idIdx);
                    if (errors[i] != null) {
                        out.add(layout.row(FeatureTable.Entry.rejection(id, errors[i]), passes[i]));
                        continue;
                    }
                    FeatureExtractor.Result res = results.next();
                    out.add(layout.row(res.rejected() ? FeatureTable.Entry.rejection(id, res.rejection().reason())
                            : FeatureTable.Entry.of(res.record()), passes[i]));
                }
                return out;
            });
        }
    }
}

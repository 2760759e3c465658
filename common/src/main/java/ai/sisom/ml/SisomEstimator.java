package ai.sisom.ml;

import ai.sisom.spark.FeatureColumns;
import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.SisomReference;
import ai.sisom.reference.SteepnessSpec;
import ai.sisom.reference.DOutVariant;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.LabeledFeatures;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;

/**
 * SISOM as a Spark ML Estimator: {@code fit} on a labeled feature table (the output of feature extraction with a
 * label column) builds the reference (METHOD.md sections 2, 4, 6, 7) and returns a {@link SisomScoringModel} that
 * transforms pool feature tables into scores. The class names and layers come from the feature table's column
 * metadata; the jobs use this class for their reference build.
 *
 * <pre>{@code
 * SisomScoringModel model = new SisomEstimator()
 *     .setSteepness("layer1:0.05,layer2:1,layer3:10|100,avgpool:50")
 *     .setDOutVariant("sample")
 *     .fit(spark.read().parquet("labeled/features"));
 * Dataset<Row> scores = model.setQ(1000).transform(spark.read().parquet("pool/features"));
 * }</pre>
 */
public final class SisomEstimator extends Estimator<SisomScoringModel> implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;
    private final String uid;

    private final Param<String> steepness;
    private final Param<String> dOutVariant;
    private final DoubleParam subsetDelta;
    private final IntParam subsetSize;
    private final Param<String> labelCol;

    public SisomEstimator() {
        this(Identifiable$.MODULE$.randomUID("sisomEstimator"));
    }

    public SisomEstimator(String uid) {
        this.uid = uid;
        steepness = new Param<>(this, "steepness", "per-layer sigmoid steepness, layer:value or layer:v1|v2|... "
                + "(a grid: the combination with the lowest leave-one-out r_avg wins), every layer named");
        dOutVariant = new Param<>(this, "dOutVariant", "d_out definition: sample (paper, AL code) or anchor (OOD code)");
        subsetDelta = new DoubleParam(this, "subsetDelta", "ProbCover ball radius on penultimate features (0: no subset)");
        subsetSize = new IntParam(this, "subsetSize", "ProbCover reference subset size (0: no subset)");
        labelCol = new Param<>(this, "labelCol", "column holding the true class name of each labeled sample");
        setDefault(dOutVariant, "sample");
        setDefault(subsetDelta, 0.0);
        setDefault(subsetSize, 0);
        setDefault(labelCol, "label");
    }

    @Override
    public String uid() { return uid; }

    // Spark ML finds params through public no-argument methods, so each field has one
    public Param<String> steepness() { return steepness; }

    public Param<String> dOutVariant() { return dOutVariant; }

    public DoubleParam subsetDelta() { return subsetDelta; }

    public IntParam subsetSize() { return subsetSize; }

    public Param<String> labelCol() { return labelCol; }

    public SisomEstimator setSteepness(String v) { set(steepness, v); return this; }

    public SisomEstimator setDOutVariant(String v) { set(dOutVariant, v); return this; }

    public SisomEstimator setDOutVariant(DOutVariant v) {
        return setDOutVariant(v.name().toLowerCase(java.util.Locale.ROOT));
    }

    public SisomEstimator setSubset(double delta, int size) {
        set(subsetDelta, delta);
        set(subsetSize, size);
        return this;
    }

    public SisomEstimator setLabelCol(String v) { set(labelCol, v); return this; }

    @Override
    public SisomScoringModel fit(Dataset<?> dataset) {
        StructType schema = transformSchema(dataset.schema());
        List<String> classes = FeatureColumns.classNames(schema, FeatureTable.PSEUDO_CLASS);
        List<String> layers = FeatureColumns.layerNames(schema, FeatureTable.U);
        int[] offsets = FeatureColumns.layerOffsets(schema, FeatureTable.U);
        LabeledSet labeled = LabeledFeatures.collect(dataset.toDF(), classes, $(labelCol));
        double delta = (Double) $(subsetDelta);
        int size = (Integer) $(subsetSize);
        SisomReference.Settings settings = new SisomReference.Settings(steepnessGrid($(steepness), layers),
                DOutVariant.parse($(dOutVariant)), delta > 0 ? delta : null, size > 0 ? size : null);
        SisomReference ref = SisomReference.build(labeled, classes, layers, offsets, settings);
        return copyValues(new SisomScoringModel(uid, ref), ParamMap.empty()).setParent(this);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        List<String> cols = Arrays.asList(schema.fieldNames());
        for (String c : List.of(FeatureTable.ID, FeatureTable.U, FeatureTable.ENERGY, FeatureTable.PENULTIMATE,
                FeatureTable.PSEUDO_CLASS, $(labelCol))) {
            if (!cols.contains(c)) {
                throw new IllegalArgumentException("the labeled feature table has no column '" + c + "'; columns: " + cols);
            }
        }
        if (FeatureColumns.classNames(schema, FeatureTable.PSEUDO_CLASS) == null
                || FeatureColumns.layerNames(schema, FeatureTable.U) == null) {
            throw new IllegalArgumentException("the feature table carries no class or layer metadata: "
                    + "make it with the extract job (or attach it with FeatureColumns)");
        }
        if (!isDefined(steepness)) {
            throw new IllegalArgumentException("set the steepness, e.g. layer1:0.05,layer2:1,layer3:10,avgpool:50");
        }
        return schema;
    }

    @Override
    public SisomEstimator copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /**
     * {@code layer1:0.05,layer2:1|10,...} -> one candidate list per layer in the model's order; every layer must be
     * named, each once, with positive values ({@link SteepnessSpec}).
     */
    public static double[][] steepnessGrid(String spec, List<String> layers) {
        return SteepnessSpec.parse(spec).grid(layers);
    }
}

package ai.sisom.ml;

import ai.sisom.ood.OodCalibration;
import ai.sisom.scoring.Fusion;
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
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
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
 * metadata; the jobs use this class for their reference build. The reference carries its OOD threshold, calibrated on
 * the labeled set (the open-world params below; docs/open-world.md).
 *
 * <pre>{@code
 * SisomScoringModel model = new SisomEstimator()
 *     .setSteepness("layer1:0.05,layer2:1,layer3:10|100,avgpool:50")
 *     .setDOutVariant("sample")
 *     .setUnknownLabels(new String[]{"unknown"})   // samples annotators rejected calibrate the OOD threshold
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

    // ---- open world (METHOD.md 10): the OOD threshold calibrated on the labeled set ----
    private final Param<String> score;
    private final DoubleParam lambda;
    private final StringArrayParam unknownLabels;
    private final Param<String> oodThresholdMode;
    private final DoubleParam oodThreshold;
    private final Param<String> oodMetric;
    private final DoubleParam oodKeepShare;

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

        // open world; score, lambda and oodThreshold share names (and meaning) with the model's params, so fit
        // hands them on
        score = new Param<>(this, "score", "the score that ranks the queue, sisome or sisom; the OOD metric 'score' "
                + "means it", ParamValidators.inArray(new String[]{"sisome", "sisom"}));
        lambda = new DoubleParam(this, "lambda", "fixed fusion weight in [0, 1] replacing r_avg (negative: use r_avg)");
        unknownLabels = new StringArrayParam(this, "unknownLabels", "label values that mark a labeled sample as not "
                + "one of the model's classes: such samples calibrate the OOD threshold and never enter the reference");
        oodThresholdMode = new Param<>(this, "oodThresholdMode", "how the OOD threshold is chosen: auto (youden with "
                + "labeled unknowns, keep without), youden, keep",
                ParamValidators.inArray(new String[]{"auto", "youden", "keep"}));
        oodThreshold = new DoubleParam(this, "oodThreshold", "a fixed OOD threshold on oodMetric (NaN: calibrate by "
                + "oodThresholdMode)");
        oodMetric = new Param<>(this, "oodMetric", "the metric the OOD threshold is on: score (the ranking score), "
                + "sisom, sisome, energy, ratio, ab (d_in + d_out), or auto (with labeled unknowns the one of largest "
                + "Youden's J on them, ties to the score; without, the score)", ParamValidators.inArray(new String[]{"auto", "score", "sisom", "sisome", "energy",
                "ratio", "ab"}));
        oodKeepShare = new DoubleParam(this, "oodKeepShare", "keep mode: the share of labeled in-distribution samples "
                + "(scored leave-one-out) the threshold keeps, in (0, 1)", ParamValidators.inRange(0, 1, false, false));
        setDefault(score, "sisome");
        setDefault(lambda, -1.0);
        setDefault(unknownLabels, new String[0]);
        setDefault(oodThresholdMode, "auto");
        setDefault(oodThreshold, Double.NaN);
        setDefault(oodMetric, "auto");
        setDefault(oodKeepShare, OodCalibration.Spec.DEFAULT_KEEP_SHARE);
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

    // ---- open world ----
    public Param<String> score() { return score; }

    public DoubleParam lambda() { return lambda; }

    public StringArrayParam unknownLabels() { return unknownLabels; }

    public Param<String> oodThresholdMode() { return oodThresholdMode; }

    public DoubleParam oodThreshold() { return oodThreshold; }

    public Param<String> oodMetric() { return oodMetric; }

    public DoubleParam oodKeepShare() { return oodKeepShare; }

    public SisomEstimator setScore(String v) { set(score, v); return this; }

    public SisomEstimator setLambda(double v) { set(lambda, v); return this; }

    public SisomEstimator setUnknownLabels(String[] v) { set(unknownLabels, v); return this; }

    public SisomEstimator setOodThresholdMode(String v) { set(oodThresholdMode, v); return this; }

    public SisomEstimator setOodThreshold(double v) { set(oodThreshold, v); return this; }

    public SisomEstimator setOodMetric(String v) { set(oodMetric, v); return this; }

    public SisomEstimator setOodKeepShare(double v) { set(oodKeepShare, v); return this; }

    /** The calibration these params describe. */
    public OodCalibration.Spec oodSpec() {
        double l = (Double) $(lambda);
        double fixed = (Double) $(oodThreshold);
        return new OodCalibration.Spec(OodCalibration.Mode.parse($(oodThresholdMode)), Double.isNaN(fixed) ? null : fixed,
                OodCalibration.MetricChoice.parse($(oodMetric)), (Double) $(oodKeepShare),
                new Fusion(Fusion.Score.parse($(score)), l >= 0 ? l : null));
    }

    @Override
    public SisomScoringModel fit(Dataset<?> dataset) {
        StructType schema = transformSchema(dataset.schema());
        List<String> classes = FeatureColumns.classNames(schema, FeatureTable.PSEUDO_CLASS);
        List<String> layers = FeatureColumns.layerNames(schema, FeatureTable.U);
        int[] offsets = FeatureColumns.layerOffsets(schema, FeatureTable.U);
        LabeledSet labeled = LabeledFeatures.collect(dataset.toDF(), classes, $(labelCol),
                new java.util.LinkedHashSet<>(Arrays.asList($(unknownLabels))));
        double delta = (Double) $(subsetDelta);
        int size = (Integer) $(subsetSize);
        SisomReference.Settings settings = new SisomReference.Settings(steepnessGrid($(steepness), layers),
                DOutVariant.parse($(dOutVariant)), delta > 0 ? delta : null, size > 0 ? size : null);
        SisomReference ref = OodCalibration.build(labeled, classes, layers, offsets, settings, oodSpec());
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
        if ("youden".equals($(oodThresholdMode)) && Double.isNaN((Double) $(oodThreshold))
                && $(unknownLabels).length == 0) {
            throw new IllegalArgumentException("OOD threshold mode 'youden' (sisom.ood.threshold / oodThresholdMode) "
                    + "needs labeled unknowns: name their label values (sisom.labeled.unknownLabels / unknownLabels)");
        }
        oodSpec(); // a fixed threshold with metric auto, or a bad share, is refused before the labeled set is read
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

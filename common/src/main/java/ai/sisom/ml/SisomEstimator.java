package ai.sisom.ml;

import ai.sisom.ood.OodCalibration;
import ai.sisom.scoring.Fusion;
import ai.sisom.spark.FeatureColumns;
import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.OodMetric;
import ai.sisom.reference.SisomReference;
import ai.sisom.reference.SteepnessSpec;
import ai.sisom.reference.DOutVariant;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.LabeledFeatures;
import ai.sisom.spark.ScoreTable;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.types.DataTypes;
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
 *
 * As in MLlib: every param is validated when it is set, {@link #transformSchema} checks the input columns and returns
 * the fitted model's output schema (so a Pipeline can hold stages after it), the column params name the input and
 * output columns (defaults: the feature table's names), and {@link #read()}/{@link #load} read a saved estimator.
 */
public final class SisomEstimator extends Estimator<SisomScoringModel>
        implements DefaultParamsWritable, HasScoreColumns {
    private static final long serialVersionUID = 1L;
    private final String uid;

    private final Param<String> steepness;
    private final Param<String> dOutVariant;
    private final DoubleParam subsetDelta;
    private final IntParam subsetSize;
    private final Param<String> labelCol;

    // ---- columns: the labeled feature table's, and the model's output (handed on by fit: same names as its) ----
    private final Param<String> idCol;
    private final Param<String> featuresCol;
    private final Param<String> pseudoClassCol;
    private final Param<String> energyCol;
    private final Param<String> penultimateCol;
    private final Param<String> logitsCol;
    private final BooleanParam keepFeatureArrays;
    private final Param<String> pseudoLabelCol;
    private final Param<String> scoreCol;
    private final Param<String> oodScoreCol;
    private final Param<String> oodMetricCol;
    private final Param<String> oodFlagCol;
    private final org.apache.spark.ml.param.StringArrayParam extraScores;
    private final Param<String> modelPath;

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
                + "(a grid: the combination with the lowest leave-one-out r_avg wins), every layer named, values > 0",
                Checks.<String>because("steepness", v -> {
                    try {
                        SteepnessSpec.parse(v);
                        return null;
                    } catch (IllegalArgumentException e) {
                        return e.getMessage();
                    }
                }));
        dOutVariant = new Param<>(this, "dOutVariant", "d_out definition: sample (paper, AL code) or anchor (OOD code)",
                ParamValidators.inArray(new String[]{"sample", "anchor"}));
        subsetDelta = new DoubleParam(this, "subsetDelta", "ProbCover ball radius on penultimate features, >= 0 "
                + "(0: no subset); set with subsetSize (both > 0 or both 0)", ParamValidators.gtEq(0));
        subsetSize = new IntParam(this, "subsetSize", "ProbCover reference subset size, >= 0 (0: no subset); set "
                + "with subsetDelta (both > 0 or both 0)", ParamValidators.gtEq(0));
        labelCol = new Param<>(this, "labelCol", "column holding the true class name of each labeled sample",
                Checks.columnName());
        setDefault(dOutVariant, "sample");
        setDefault(subsetDelta, 0.0);
        setDefault(subsetSize, 0);
        setDefault(labelCol, "label");

        idCol = ModelColumns.idCol(this);
        featuresCol = ModelColumns.featuresCol(this);
        pseudoClassCol = ModelColumns.pseudoClassCol(this);
        energyCol = ModelColumns.energyCol(this);
        penultimateCol = ModelColumns.penultimateCol(this);
        logitsCol = ModelColumns.logitsCol(this);
        keepFeatureArrays = ModelColumns.keepFeatureArrays(this);
        pseudoLabelCol = ModelColumns.pseudoLabelCol(this);
        scoreCol = ModelColumns.scoreCol(this);
        oodScoreCol = ModelColumns.oodScoreCol(this);
        oodMetricCol = ModelColumns.oodMetricCol(this);
        oodFlagCol = ModelColumns.oodFlagCol(this);
        setDefault(idCol, FeatureTable.ID);
        setDefault(featuresCol, FeatureTable.U);
        setDefault(pseudoClassCol, FeatureTable.PSEUDO_CLASS);
        setDefault(energyCol, FeatureTable.ENERGY);
        setDefault(penultimateCol, FeatureTable.PENULTIMATE);
        setDefault(logitsCol, FeatureTable.LOGITS);
        setDefault(keepFeatureArrays, true);
        setDefault(pseudoLabelCol, ScoreTable.PSEUDO_LABEL);
        setDefault(scoreCol, ScoreTable.SCORE);
        setDefault(oodScoreCol, ScoreTable.OOD_SCORE);
        setDefault(oodMetricCol, ScoreTable.OOD_METRIC);
        extraScores = ModelColumns.extraScores(this);
        setDefault(extraScores, new String[0]);
        modelPath = new Param<>(this, "modelPath", "the contract model (.pt, or its .json metadata; any Hadoop URI) whose metadata carries "
                + "the final linear layer that ReAct, ASH and ViM need; empty (default): those three are not fitted",
                Checks.<String>when(v -> v != null));
        setDefault(modelPath, "");
        setDefault(oodFlagCol, ScoreTable.OOD_FLAG);

        // open world; score, lambda and oodThreshold share names (and meaning) with the model's params, so fit
        // hands them on
        score = new Param<>(this, "score", "the score that ranks the queue: sisome, sisom or a post-hoc score ("
                + ai.sisom.posthoc.PosthocMethod.labels() + "); the OOD metric 'score' means it", ParamValidators.inArray(java.util.Arrays.stream(Fusion.Score.values()).map(Fusion.Score::label).toArray(String[]::new)));
        lambda = new DoubleParam(this, "lambda", "fixed fusion weight in [0, 1] replacing r_avg, or -1 (default): "
                + "use r_avg", Checks.lambda());
        unknownLabels = new StringArrayParam(this, "unknownLabels", "label values that mark a labeled sample as not "
                + "one of the model's classes: such samples calibrate the OOD threshold and never enter the reference",
                Checks.<String[]>when(a -> Arrays.stream(a).allMatch(l -> l != null && !l.isBlank())));
        oodThresholdMode = new Param<>(this, "oodThresholdMode", "how the OOD threshold is chosen: auto (youden with "
                + "labeled unknowns, keep without), youden, keep",
                ParamValidators.inArray(new String[]{"auto", "youden", "keep"}));
        oodThreshold = new DoubleParam(this, "oodThreshold", "a fixed OOD threshold on oodMetric, finite (NaN: "
                + "calibrate by oodThresholdMode)", Checks.finiteOrNaN());
        oodMetric = new Param<>(this, "oodMetric", "the metric the OOD threshold is on: score (the ranking score), "
                + "sisom, sisome, energy, ratio, ab (d_in + d_out), a post-hoc score (msp, maxlogit, gen, entropy, "
                + "margin, knn, mahalanobis, react, ash, vim), or auto (with labeled unknowns the one of largest "
                + "Youden's J on them, ties to the score; without, the score)", ParamValidators.inArray(
                java.util.Arrays.stream(OodCalibration.MetricChoice.values()).map(OodCalibration.MetricChoice::label)
                        .toArray(String[]::new)));
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

    public String getSteepness() { return $(steepness); }

    public String getDOutVariant() { return $(dOutVariant); }

    public double getSubsetDelta() { return (Double) $(subsetDelta); }

    public int getSubsetSize() { return (Integer) $(subsetSize); }

    public String getLabelCol() { return $(labelCol); }

    public SisomEstimator setSteepness(String v) { set(steepness, v); return this; }

    public SisomEstimator setDOutVariant(String v) { set(dOutVariant, v); return this; }

    public SisomEstimator setDOutVariant(DOutVariant v) {
        return setDOutVariant(v.name().toLowerCase(java.util.Locale.ROOT));
    }

    /** The ProbCover subset: radius and size both positive, or both 0 for none. */
    public SisomEstimator setSubset(double delta, int size) {
        requireSubset(delta, size);
        set(subsetDelta, delta);
        set(subsetSize, size);
        return this;
    }

    public SisomEstimator setSubsetDelta(double v) { set(subsetDelta, v); return this; }

    public SisomEstimator setSubsetSize(int v) { set(subsetSize, v); return this; }

    public SisomEstimator setLabelCol(String v) { set(labelCol, v); return this; }

    private static void requireSubset(double delta, int size) {
        if (delta > 0 != size > 0) {
            throw new IllegalArgumentException("parameters subsetDelta and subsetSize go together: both > 0 for a "
                    + "ProbCover subset, or both 0 for none; got subsetDelta " + delta + ", subsetSize " + size);
        }
    }

    // ---- columns ----
    public Param<String> idCol() { return idCol; }

    public Param<String> featuresCol() { return featuresCol; }

    public Param<String> pseudoClassCol() { return pseudoClassCol; }

    public Param<String> energyCol() { return energyCol; }

    public Param<String> penultimateCol() { return penultimateCol; }

    public Param<String> logitsCol() { return logitsCol; }

    public BooleanParam keepFeatureArrays() { return keepFeatureArrays; }

    public Param<String> pseudoLabelCol() { return pseudoLabelCol; }

    public Param<String> scoreCol() { return scoreCol; }

    public Param<String> oodScoreCol() { return oodScoreCol; }

    public Param<String> oodMetricCol() { return oodMetricCol; }

    public Param<String> oodFlagCol() { return oodFlagCol; }

    public SisomEstimator setIdCol(String v) { set(idCol, v); return this; }

    public SisomEstimator setFeaturesCol(String v) { set(featuresCol, v); return this; }

    public SisomEstimator setPseudoClassCol(String v) { set(pseudoClassCol, v); return this; }

    public SisomEstimator setEnergyCol(String v) { set(energyCol, v); return this; }

    public SisomEstimator setPenultimateCol(String v) { set(penultimateCol, v); return this; }

    public SisomEstimator setLogitsCol(String v) { set(logitsCol, v); return this; }

    public SisomEstimator setKeepFeatureArrays(boolean v) { set(keepFeatureArrays, v); return this; }

    public SisomEstimator setPseudoLabelCol(String v) { set(pseudoLabelCol, v); return this; }

    public SisomEstimator setScoreCol(String v) { set(scoreCol, v); return this; }

    public SisomEstimator setOodScoreCol(String v) { set(oodScoreCol, v); return this; }

    public SisomEstimator setOodMetricCol(String v) { set(oodMetricCol, v); return this; }

    public SisomEstimator setOodFlagCol(String v) { set(oodFlagCol, v); return this; }

    @Override
    public org.apache.spark.ml.param.StringArrayParam extraScores() { return extraScores; }

    public SisomEstimator setExtraScores(String[] v) { set(extraScores, v); return this; }

    public Param<String> modelPath() { return modelPath; }

    public String getModelPath() { return $(modelPath); }

    public SisomEstimator setModelPath(String v) { set(modelPath, v); return this; }

    /** The final linear layer from {@link #modelPath}'s metadata, or null (no path, or an export without it). */
    private ai.sisom.posthoc.OodPostprocessors.Head head(Dataset<?> dataset) {
        if (getModelPath().isEmpty()) {
            return null;
        }
        ai.sisom.model.ModelMetadata meta;
        try {
            var conf = dataset.sparkSession().sparkContext().hadoopConfiguration();
            meta = getModelPath().endsWith(".json") ? ai.sisom.model.ModelCache.metadataFile(getModelPath(), conf)
                    : ai.sisom.model.ModelCache.metadata(getModelPath(), conf);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("modelPath: " + e.getMessage(), e);
        }
        ai.sisom.model.ModelMetadata.Head h = meta.head();
        return h == null ? null : ai.sisom.posthoc.OodPostprocessors.Head.of(h.weight(), h.bias());
    }

    // ---- open world ----
    public Param<String> score() { return score; }

    public DoubleParam lambda() { return lambda; }

    public StringArrayParam unknownLabels() { return unknownLabels; }

    public Param<String> oodThresholdMode() { return oodThresholdMode; }

    public DoubleParam oodThreshold() { return oodThreshold; }

    public Param<String> oodMetric() { return oodMetric; }

    public DoubleParam oodKeepShare() { return oodKeepShare; }

    public String getScore() { return $(score); }

    public double getLambda() { return (Double) $(lambda); }

    public String[] getUnknownLabels() { return $(unknownLabels); }

    public String getOodThresholdMode() { return $(oodThresholdMode); }

    public double getOodThreshold() { return (Double) $(oodThreshold); }

    public String getOodMetric() { return $(oodMetric); }

    public double getOodKeepShare() { return (Double) $(oodKeepShare); }

    public SisomEstimator setScore(String v) { set(score, v); return this; }

    public SisomEstimator setLambda(double v) { set(lambda, v); return this; }

    public SisomEstimator setUnknownLabels(String[] v) { set(unknownLabels, v); return this; }

    public SisomEstimator setOodThresholdMode(String v) { set(oodThresholdMode, v); return this; }

    public SisomEstimator setOodThreshold(double v) { set(oodThreshold, v); return this; }

    public SisomEstimator setOodMetric(String v) { set(oodMetric, v); return this; }

    public SisomEstimator setOodKeepShare(double v) { set(oodKeepShare, v); return this; }

    /** The calibration these params describe. */
    public OodCalibration.Spec oodSpec() {
        double l = getLambda();
        double fixed = getOodThreshold();
        return new OodCalibration.Spec(OodCalibration.Mode.parse($(oodThresholdMode)), Double.isNaN(fixed) ? null : fixed,
                OodCalibration.MetricChoice.parse($(oodMetric)), getOodKeepShare(),
                new Fusion(Fusion.Score.parse($(score)), l >= 0 ? l : null));
    }

    @Override
    public SisomScoringModel fit(Dataset<?> dataset) {
        StructType schema = dataset.schema();
        transformSchema(schema);
        List<String> classes = FeatureColumns.classNames(schema, getPseudoClassCol());
        List<String> layers = FeatureColumns.layerNames(schema, getFeaturesCol());
        int[] offsets = FeatureColumns.layerOffsets(schema, getFeaturesCol());
        // the Spark layer reads the feature table's own names
        // with the logits, the post-hoc scorers are fitted and their OOD metrics can be calibrated
        boolean logits = Arrays.asList(schema.fieldNames()).contains(getLogitsCol());
        List<org.apache.spark.sql.Column> cols = new java.util.ArrayList<>(List.of(
                ScoreColumns.col(getIdCol()).as(FeatureTable.ID),
                ScoreColumns.col(getFeaturesCol()).as(FeatureTable.U), ScoreColumns.col(getEnergyCol()).as(FeatureTable.ENERGY),
                ScoreColumns.col(getPenultimateCol()).as(FeatureTable.PENULTIMATE),
                ScoreColumns.col(getPseudoClassCol()).as(FeatureTable.PSEUDO_CLASS), ScoreColumns.col(getLabelCol()).as(LABEL)));
        if (logits) {
            cols.add(ScoreColumns.col(getLogitsCol()).as(FeatureTable.LOGITS));
        }
        Dataset<org.apache.spark.sql.Row> table = dataset.toDF().select(cols.toArray(new org.apache.spark.sql.Column[0]));
        LabeledSet labeled = LabeledFeatures.collect(table, classes, LABEL,
                new java.util.LinkedHashSet<>(Arrays.asList($(unknownLabels))));
        double delta = getSubsetDelta();
        int size = getSubsetSize();
        SisomReference.Settings settings = new SisomReference.Settings(steepnessGrid($(steepness), layers),
                DOutVariant.parse($(dOutVariant)), delta > 0 ? delta : null, size > 0 ? size : null);
        SisomReference ref = OodCalibration.build(labeled, classes, layers, offsets, settings, oodSpec(), logits,
                logits ? head(dataset) : null);
        return copyValues(new SisomScoringModel(uid, ref), ParamMap.empty()).setParent(this);
    }

    private static final String LABEL = "label";

    /** Checks the labeled feature table's columns and the params; returns the fitted model's output schema. */
    @Override
    public StructType transformSchema(StructType schema) {
        ScoreColumns columns = ModelColumns.of(this);
        String table = "labeled feature table";
        columns.requireInputs(schema, table);
        ScoreColumns.require(schema, getPenultimateCol(), DataTypes.createArrayType(DataTypes.FloatType),
                "penultimateCol", table);
        if (!Arrays.asList(schema.fieldNames()).contains(getLabelCol())) {
            throw new IllegalArgumentException("the labeled feature table has no column '" + getLabelCol()
                    + "' (labelCol): extract the labeled set with sisom.input.labeled=true; columns: "
                    + Arrays.asList(schema.fieldNames()));
        }
        if (FeatureColumns.classNames(schema, getPseudoClassCol()) == null
                || FeatureColumns.layerNames(schema, getFeaturesCol()) == null) {
            throw new IllegalArgumentException("the feature table carries no class or layer metadata: "
                    + "make it with the extract job (or attach it with FeatureColumns)");
        }
        if (!isDefined(steepness)) {
            throw new IllegalArgumentException("set the steepness, e.g. layer1:0.05,layer2:1,layer3:10,avgpool:50");
        }
        requireSubset(getSubsetDelta(), getSubsetSize());
        if ("youden".equals($(oodThresholdMode)) && Double.isNaN(getOodThreshold())
                && $(unknownLabels).length == 0) {
            throw new IllegalArgumentException("OOD threshold mode 'youden' (sisom.ood.threshold / oodThresholdMode) "
                    + "needs labeled unknowns: name their label values (sisom.labeled.unknownLabels / unknownLabels)");
        }
        oodSpec(); // a fixed threshold with metric auto, or a bad share, is refused before the labeled set is read
        java.util.Set<ai.sisom.posthoc.PosthocMethod> posthoc = java.util.EnumSet.noneOf(ai.sisom.posthoc.PosthocMethod.class);
        posthoc.addAll(extraScoreSet());
        if (Fusion.Score.parse($(score)).posthoc() != null) {
            posthoc.add(Fusion.Score.parse($(score)).posthoc());
        }
        OodMetric asked = "auto".equals($(oodMetric)) || "score".equals($(oodMetric)) ? null : OodMetric.parse($(oodMetric));
        if (asked != null && asked.posthoc() != null) {
            posthoc.add(asked.posthoc());
        }
        if (!posthoc.isEmpty() && !Arrays.asList(schema.fieldNames()).contains(getLogitsCol())) {
            throw new IllegalArgumentException("the post-hoc scores " + posthoc + " (score / oodMetric / extraScores) need the "
                    + "labeled feature table's logits, and it has no column '" + getLogitsCol() + "' (logitsCol)");
        }
        if (posthoc.stream().anyMatch(ai.sisom.posthoc.PosthocMethod::needsHead) && getModelPath().isEmpty()) {
            throw new IllegalArgumentException("the post-hoc scores " + posthoc + " include ones that need the "
                    + "model's final linear layer (react, ash, vim): set modelPath to the contract model");
        }
        return columns.outputSchema(schema);
    }


    @Override
    public SisomEstimator copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads an estimator {@code write().save(path)} wrote (and lets {@code Pipeline.load} read one). */
    public static MLReader<SisomEstimator> read() {
        return new DefaultParamsReader<>();
    }

    public static SisomEstimator load(String path) {
        return read().load(path);
    }

    /**
     * {@code layer1:0.05,layer2:1|10,...} -> one candidate list per layer in the model's order; every layer must be
     * named, each once, with positive values ({@link SteepnessSpec}).
     */
    public static double[][] steepnessGrid(String spec, List<String> layers) {
        return SteepnessSpec.parse(spec).grid(layers);
    }
}

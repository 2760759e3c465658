package ai.sisom.ml;

import ai.sisom.spark.OodList;
import ai.sisom.spark.Selections;
import ai.sisom.spark.FeatureColumns;
import ai.sisom.reference.OodMetric;
import ai.sisom.reference.OodThreshold;
import ai.sisom.reference.SisomReference;
import ai.sisom.selection.ClassBalance;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ReferenceIO;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The fitted SISOM model: {@code transform} scores a pool feature table (one output row per input row, with d_in,
 * d_out, r, SISOM, SISOMe, score, OOD score, the OOD gate's metric and flag and the explaining reference ids);
 * {@link #selectTopQ} and {@link #selectGreedy} pick the samples to label, behind the OOD gate unless
 * {@code oodGate} is false; {@link #flagged} lists the flagged samples. Persistence: {@code save(path)} writes the
 * Spark ML params and the reference artifact; {@link #load} reads both.
 *
 * As in MLlib: every param is validated when it is set, {@link #transformSchema} returns the output schema (the score
 * table's columns, then every other input column), and the column params name the input and output columns
 * (defaults: the feature table's and the score table's names). Selections take a table under those names.
 */
public final class SisomScoringModel extends Model<SisomScoringModel> implements MLWritable, HasScoreColumns {
    private static final long serialVersionUID = 1L;
    private final String uid;
    private final SisomReference reference;

    private final Param<String> score;
    private final DoubleParam lambda;
    private final IntParam q;

    // ---- open world (METHOD.md 10): the OOD gate and the class-balanced queue ----
    private final BooleanParam oodGate;
    private final DoubleParam oodThreshold;
    private final Param<String> classBalance;
    private final Param<String> classPrior;

    // ---- columns ----
    private final Param<String> idCol;
    private final Param<String> featuresCol;
    private final Param<String> pseudoClassCol;
    private final Param<String> energyCol;
    private final Param<String> logitsCol;
    private final Param<String> penultimateCol;
    private final BooleanParam keepFeatureArrays;
    private final Param<String> pseudoLabelCol;
    private final Param<String> scoreCol;
    private final Param<String> oodScoreCol;
    private final Param<String> oodMetricCol;
    private final Param<String> oodFlagCol;
    private final org.apache.spark.ml.param.StringArrayParam extraScores;

    SisomScoringModel(String uid, SisomReference reference) {
        this.uid = uid;
        this.reference = reference;
        score = new Param<>(this, "score", "the score that ranks samples: sisome (default), sisom or a post-hoc score ("
                + ai.sisom.posthoc.PosthocMethod.labels() + ")",
                ParamValidators.inArray(java.util.Arrays.stream(Fusion.Score.values()).map(Fusion.Score::label).toArray(String[]::new)));
        lambda = new DoubleParam(this, "lambda", "fixed fusion weight in [0, 1] replacing r_avg, or -1 (default): "
                + "use r_avg", Checks.lambda());
        q = new IntParam(this, "q", "how many samples a selection returns, > 0", ParamValidators.gt(0));
        setDefault(score, "sisome");
        setDefault(lambda, -1.0);
        setDefault(q, 100);

        oodGate = new BooleanParam(this, "oodGate", "whether the queue leaves out the samples the OOD threshold flags");
        oodThreshold = new DoubleParam(this, "oodThreshold", "a fixed OOD threshold on the reference's OOD metric, "
                + "finite (NaN: the reference's calibrated one)", Checks.finiteOrNaN());
        classBalance = new Param<>(this, "classBalance", "queue quotas per pseudo-class: none, equal, or prior "
                + "(proportional to classPrior)", ParamValidators.inArray(new String[]{"none", "equal", "prior"}));
        java.util.List<String> classes = java.util.List.copyOf(reference.classNames());
        classPrior = new Param<>(this, "classPrior", "classBalance=prior: class:weight,... over the model's classes "
                + "(unnamed classes get 0); empty for none", Checks.<String>because("classPrior", v -> {
                    if (v.isBlank()) {
                        return null;
                    }
                    try {
                        ClassBalance.prior(v, classes);
                        return null;
                    } catch (IllegalArgumentException e) {
                        return e.getMessage();
                    }
                }));
        setDefault(oodGate, true);
        setDefault(oodThreshold, Double.NaN);
        setDefault(classBalance, "none");
        setDefault(classPrior, "");

        idCol = ModelColumns.idCol(this);
        featuresCol = ModelColumns.featuresCol(this);
        pseudoClassCol = ModelColumns.pseudoClassCol(this);
        energyCol = ModelColumns.energyCol(this);
        logitsCol = ModelColumns.logitsCol(this);
        penultimateCol = ModelColumns.penultimateCol(this);
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
        setDefault(logitsCol, FeatureTable.LOGITS);
        setDefault(penultimateCol, FeatureTable.PENULTIMATE);
        setDefault(keepFeatureArrays, true);
        setDefault(pseudoLabelCol, ai.sisom.spark.ScoreTable.PSEUDO_LABEL);
        setDefault(scoreCol, ai.sisom.spark.ScoreTable.SCORE);
        setDefault(oodScoreCol, ai.sisom.spark.ScoreTable.OOD_SCORE);
        setDefault(oodMetricCol, ai.sisom.spark.ScoreTable.OOD_METRIC);
        extraScores = ModelColumns.extraScores(this);
        setDefault(extraScores, new String[0]);
        setDefault(oodFlagCol, ai.sisom.spark.ScoreTable.OOD_FLAG);
    }

    /** A model around an existing reference artifact (e.g. one read with ReferenceIO). */
    public static SisomScoringModel of(SisomReference reference) {
        return new SisomScoringModel(org.apache.spark.ml.util.Identifiable$.MODULE$.randomUID("sisomModel"), reference);
    }

    @Override
    public String uid() { return uid; }

    // Spark ML finds params through public no-argument methods, so each field has one
    public Param<String> score() { return score; }

    public DoubleParam lambda() { return lambda; }

    public IntParam q() { return q; }

    public SisomReference reference() { return reference; }

    public SisomScoringModel setScore(String v) { set(score, v); return this; }

    public SisomScoringModel setScore(Fusion.Score v) { return setScore(v.name().toLowerCase(java.util.Locale.ROOT)); }

    public SisomScoringModel setLambda(double v) { set(lambda, v); return this; }

    public SisomScoringModel setQ(int v) { set(q, v); return this; }

    // ---- open world ----
    public BooleanParam oodGate() { return oodGate; }

    public DoubleParam oodThreshold() { return oodThreshold; }

    public Param<String> classBalance() { return classBalance; }

    public Param<String> classPrior() { return classPrior; }

    public SisomScoringModel setOodGate(boolean v) { set(oodGate, v); return this; }

    public SisomScoringModel setOodThreshold(double v) { set(oodThreshold, v); return this; }

    public SisomScoringModel setClassBalance(String v) { set(classBalance, v); return this; }

    public SisomScoringModel setClassPrior(String v) { set(classPrior, v); return this; }

    public String getScore() { return $(score); }

    public double getLambda() { return (Double) $(lambda); }

    public int getQ() { return (Integer) $(q); }

    public boolean getOodGate() { return (Boolean) $(oodGate); }

    public double getOodThreshold() { return (Double) $(oodThreshold); }

    public String getClassBalance() { return $(classBalance); }

    public String getClassPrior() { return $(classPrior); }

    // ---- columns ----
    public Param<String> idCol() { return idCol; }

    public Param<String> featuresCol() { return featuresCol; }

    public Param<String> pseudoClassCol() { return pseudoClassCol; }

    public Param<String> energyCol() { return energyCol; }

    public Param<String> logitsCol() { return logitsCol; }

    public Param<String> penultimateCol() { return penultimateCol; }

    public BooleanParam keepFeatureArrays() { return keepFeatureArrays; }

    public Param<String> pseudoLabelCol() { return pseudoLabelCol; }

    public Param<String> scoreCol() { return scoreCol; }

    public Param<String> oodScoreCol() { return oodScoreCol; }

    public Param<String> oodMetricCol() { return oodMetricCol; }

    public Param<String> oodFlagCol() { return oodFlagCol; }

    public SisomScoringModel setIdCol(String v) { set(idCol, v); return this; }

    public SisomScoringModel setFeaturesCol(String v) { set(featuresCol, v); return this; }

    public SisomScoringModel setPseudoClassCol(String v) { set(pseudoClassCol, v); return this; }

    public SisomScoringModel setEnergyCol(String v) { set(energyCol, v); return this; }

    public SisomScoringModel setLogitsCol(String v) { set(logitsCol, v); return this; }

    public SisomScoringModel setPenultimateCol(String v) { set(penultimateCol, v); return this; }

    public SisomScoringModel setKeepFeatureArrays(boolean v) { set(keepFeatureArrays, v); return this; }

    public SisomScoringModel setPseudoLabelCol(String v) { set(pseudoLabelCol, v); return this; }

    public SisomScoringModel setScoreCol(String v) { set(scoreCol, v); return this; }

    public SisomScoringModel setOodScoreCol(String v) { set(oodScoreCol, v); return this; }

    public SisomScoringModel setOodMetricCol(String v) { set(oodMetricCol, v); return this; }

    public SisomScoringModel setOodFlagCol(String v) { set(oodFlagCol, v); return this; }

    @Override
    public org.apache.spark.ml.param.StringArrayParam extraScores() { return extraScores; }

    public SisomScoringModel setExtraScores(String[] v) { set(extraScores, v); return this; }


    /** The fusion these params describe. */
    public Fusion fusion() {
        double l = (Double) $(lambda);
        return new Fusion(Fusion.Score.parse($(score)), l >= 0 ? l : null);
    }

    /**
     * The OOD threshold these params describe: the reference's, or a fixed value on the reference's metric (on the
     * ranking score when the reference has none); null when neither exists.
     */
    public OodThreshold oodThresholdInUse() {
        double fixed = (Double) $(oodThreshold);
        if (Double.isNaN(fixed)) {
            return reference.ood();
        }
        if (reference.ood() != null) {
            return reference.ood().withValue(fixed);
        }
        Fusion f = fusion();
        OodMetric m = f.score().metric();
        return OodThreshold.fixed(m, m == OodMetric.SISOME ? f.fixedLambda() : null, fixed, Double.toString(fixed));
    }

    /** The scorer these params describe. */
    public SisomScorer scorer() {
        return new SisomScorer(reference, fusion(), oodThresholdInUse(), extraScoreSet());
    }

    /** The class balance these params describe, over the reference's classes. */
    public ClassBalance balance() {
        return switch (ClassBalance.Mode.parse($(classBalance))) {
            case NONE -> {
                if (!$(classPrior).isBlank()) {
                    throw new IllegalArgumentException("a class prior (sisom.queue.classPrior / classPrior) is given "
                            + "but the queue is not balanced by it: set sisom.queue.classBalance / classBalance to prior");
                }
                yield ClassBalance.NONE;
            }
            case EQUAL -> ClassBalance.equal(reference.classNames().size());
            case PRIOR -> ClassBalance.prior($(classPrior), reference.classNames());
        };
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        return ModelColumns.of(this).score(dataset.toDF(), scorer());
    }

    /**
     * The queue: the q highest scores of a transformed table, ranked (ties by id), without the flagged samples
     * unless {@code oodGate} is false, within the class quotas when balanced.
     */
    public Dataset<Row> selectTopQ(Dataset<Row> scores) {
        ScoreColumns c = ModelColumns.of(this);
        return c.fromFixed(Selections.topQ(c.toFixed(scores, false), getQ(), gated(), balance()));
    }

    /**
     * Greedy batch-diverse selection over the top {@code q * candidateFactor} samples (sample variant), behind the
     * gate and within the class quotas like {@link #selectTopQ}.
     */
    public Dataset<Row> selectGreedy(Dataset<Row> scores, Dataset<Row> features, int candidateFactor) {
        int n = getQ();
        ScoreColumns c = ModelColumns.of(this);
        return c.fromFixed(Selections.greedy(scores.sparkSession(), c.toFixed(scores, false), c.toFixed(features, true),
                scorer(), n, n * candidateFactor, gated(), balance()));
    }

    /**
     * CoreSet (k-center greedy on penultimate features, the labeled set's as initial centers) over the top
     * {@code q * candidateFactor} samples by score, behind the gate ({@link Selections#coreset}); not class-balanced.
     */
    public Dataset<Row> selectCoreSet(Dataset<Row> scores, Dataset<Row> features, int candidateFactor) {
        requireUnbalanced("CoreSet");
        if (reference.posthoc() == null) {
            throw new IllegalArgumentException("CoreSet starts from the labeled set's penultimate features, which this "
                    + "reference (format version " + reference.formatVersion() + ") does not store: rebuild it");
        }
        int n = getQ();
        ScoreColumns c = ModelColumns.of(this);
        return c.fromFixed(Selections.coreset(scores.sparkSession(), c.toFixed(scores, false),
                c.toFixed(features, true), n, n * candidateFactor, gated(), reference.posthoc().labeledPenultimate()));
    }

    /**
     * BADGE (k-means++ seeding on gradient embeddings, draws seeded with {@code seed}) over the top
     * {@code q * candidateFactor} samples by score, behind the gate ({@link Selections#badge}); not class-balanced.
     */
    public Dataset<Row> selectBadge(Dataset<Row> scores, Dataset<Row> features, int candidateFactor, long seed) {
        requireUnbalanced("BADGE");
        int n = getQ();
        ScoreColumns c = ModelColumns.of(this);
        return c.fromFixed(Selections.badge(scores.sparkSession(), c.toFixed(scores, false), c.toFixed(features, true),
                n, n * candidateFactor, gated(), seed));
    }

    private void requireUnbalanced(String what) {
        if (balance().balanced()) {
            throw new IllegalArgumentException(what + " picks for diversity, not by class quotas: set classBalance "
                    + "(sisom.queue.classBalance) to none");
        }
    }

    /** The flagged samples of a transformed table, most out-of-distribution first ({@code ood_rank}). */
    public Dataset<Row> flagged(Dataset<Row> scores) {
        ScoreColumns c = ModelColumns.of(this);
        return c.fromFixed(OodList.ranked(c.toFixed(scores, false)));
    }

    /** Whether the gate is on; on, the model must have a threshold (it never scores ungated by accident). */
    private boolean gated() {
        boolean on = (Boolean) $(oodGate);
        if (on) {
            requireThreshold();
        }
        return on;
    }

    private void requireThreshold() {
        if (oodThresholdInUse() == null) {
            throw new IllegalArgumentException("the reference has no OOD threshold (it was written "
                    + (reference.formatVersion() < SisomReference.FORMAT_VERSION ? "by format version "
                    + reference.formatVersion() + ", before open-world calibration" : "without calibration")
                    + "), so the OOD gate cannot work: rebuild the reference (run with sisom.rebuildReference=true, "
                    + "or build-reference), or score ungated (sisom.ood.gate=false / oodGate), or give a fixed "
                    + "threshold (sisom.ood.threshold=VALUE / oodThreshold)");
        }
    }

    @Override
    public StructType transformSchema(StructType schema) {
        ScoreColumns columns = ModelColumns.of(this);
        columns.requireInputs(schema, "pool feature table");
        java.util.List<String> classes = FeatureColumns.classNames(schema, getPseudoClassCol());
        java.util.List<String> layers = FeatureColumns.layerNames(schema, getFeaturesCol());
        if (classes != null && !classes.equals(reference.classNames())
                || layers != null && !layers.equals(reference.layerNames())) {
            throw new IllegalArgumentException("the reference was built for classes " + reference.classNames()
                    + " and layers " + reference.layerNames() + ", the pool features come from a model with classes "
                    + classes + " and layers " + layers);
        }
        if ((Boolean) $(oodGate)) {
            requireThreshold();
        }
        balance(); // a bad class balance or prior is refused before any scoring
        return columns.outputSchema(schema);
    }

    @Override
    public SisomScoringModel copy(ParamMap extra) {
        return copyValues(new SisomScoringModel(uid, reference), extra).setParent(parent());
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<SisomScoringModel> read() {
        return new Reader();
    }

    public static SisomScoringModel load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final SisomScoringModel model;

        Writer(SisomScoringModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            // through the writer class, not DefaultParamsWriter.saveMetadata, whose signature differs between Spark 3.5
            // and 4.x: the same bytecode then persists on every supported Spark
            try {
                new DefaultParamsWriter(model).session(sparkSession()).save(path);
                ReferenceIO.write(model.reference, path + "/reference", sparkSession().sparkContext().hadoopConfiguration());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static final class Reader extends MLReader<SisomScoringModel> {
        @Override
        public SisomScoringModel load(String path) {
            SparkSession spark = sparkSession();
            // parseMetadata has one signature on Spark 3.5 and 4.x (loadMetadata has not)
            String json = spark.read().text(path + "/metadata").first().getString(0);
            DefaultParamsReader.Metadata meta = DefaultParamsReader.parseMetadata(json,
                    SisomScoringModel.class.getName());
            SisomReference ref;
            try {
                ref = ReferenceIO.read(path + "/reference", spark.sparkContext().hadoopConfiguration());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            SisomScoringModel m = new SisomScoringModel(meta.uid(), ref);
            meta.getAndSetParams(m, scala.Option.empty());
            return m;
        }
    }
}

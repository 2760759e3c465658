package ai.sisom.jobs;

import ai.sisom.ml.SisomEstimator;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.spark.ScoreTable;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Spark ML contract as MLlib's own stages meet it, after Spark's {@code ParamsSuite} (every param documented,
 * owned, with a getter; copy keeps params; bad values refused at set) and {@code DefaultReadWriteTest} (save, load,
 * same params and same results), with real Pipelines holding stages before and after SISOM.
 */
class SparkMlContractTest {
    private static final String STEEPNESS = "layer1:0.05,layer2:1,layer3:10,avgpool:50";
    private static SparkSession spark;
    private static Path dir;
    private static Dataset<Row> labeled;
    private static Dataset<Row> pool;
    private static SisomScoringModel model;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        Path root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-ml-contract");
        dir = Files.createTempDirectory("sisom-ml-contract");
        String m = root.resolve("data-samples/model/fmnist_resnet18w16.pt").toString();
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        assertEquals(0, SisomJob.run(new String[]{"extract", "--set", "sisom.model=" + m, "--set",
                "sisom.input.path=" + root.resolve("data-samples/labeled/parquet/data"), "--set",
                "sisom.input.format=parquet", "--set", "sisom.input.labeled=true", "--set",
                "sisom.output=" + dir.resolve("l")}, quiet));
        assertEquals(0, SisomJob.run(new String[]{"extract", "--set", "sisom.model=" + m, "--set",
                "sisom.input.path=" + root.resolve("data-samples/pool/parquet/data"), "--set",
                "sisom.input.format=parquet", "--set", "sisom.output=" + dir.resolve("p")}, quiet));
        labeled = spark.read().parquet(dir.resolve("l/features").toString());
        pool = spark.read().parquet(dir.resolve("p/features").toString()).cache();
        model = new SisomEstimator().setSteepness(STEEPNESS).fit(labeled);
    }

    @AfterAll
    static void stop() throws Exception {
        pool.unpersist();
        spark.stop();
        JobTests.deleteTree(dir);
    }

    @Test
    void everyParamHasADocItsStageAsParentAGetterAndADefaultOrAValue() throws Exception {
        SisomEstimator est = new SisomEstimator().setSteepness(STEEPNESS);
        for (Params stage : List.<Params>of(est, model)) {
            Param<?>[] params = stage.params();
            // every Param the class declares is one Spark finds (through its public no-argument method)
            java.util.Set<String> declared = new java.util.TreeSet<>();
            for (java.lang.reflect.Field f : stage.getClass().getDeclaredFields()) {
                if (Param.class.isAssignableFrom(f.getType())) {
                    declared.add(f.getName());
                }
            }
            assertEquals(declared, new java.util.TreeSet<>(Arrays.stream(params).map(Param::name).toList()));
            assertTrue(declared.size() > 15, declared.toString());
            assertEquals(declared.size(), params.length, "each param once");
            for (Param<?> p : params) {
                assertEquals(stage.uid(), p.parent(), p.name());
                assertFalse(p.doc().isBlank(), p.name() + " has no doc");
                assertSame(p, stage.getParam(p.name()));
                assertTrue(stage.isDefined(p), p.name() + " has neither a default nor a value");
                Method getter = stage.getClass().getMethod("get" + Character.toUpperCase(p.name().charAt(0))
                        + p.name().substring(1));
                assertEquals(normalize(stage.getOrDefault(p)), normalize(getter.invoke(stage)), getter.getName());
            }
            assertFalse(stage.explainParams().isBlank());
        }
    }

    @Test
    void copyKeepsTheUidAndEveryParamAndAppliesTheExtraOnes() {
        SisomEstimator est = new SisomEstimator().setSteepness(STEEPNESS).setSubset(3.0, 50).setScore("sisom")
                .setUnknownLabels(new String[]{"unknown"}).setScoreCol("s");
        SisomEstimator estCopy = est.copy(ParamMap.empty());
        assertNotSame(est, estCopy);
        assertSameParams(est, estCopy);
        SisomEstimator withExtra = est.copy(new ParamMap().put(est.subsetSize().w(80)));
        assertEquals(80, withExtra.getSubsetSize());
        assertEquals(50, est.getSubsetSize(), "the original keeps its value");

        SisomScoringModel m = model.copy(ParamMap.empty()).setQ(9).setClassBalance("equal").setOodGate(false);
        SisomScoringModel mCopy = m.copy(new ParamMap().put(m.q().w(11)));
        assertEquals(m.uid(), mCopy.uid());
        assertSame(m.reference(), mCopy.reference());
        assertEquals(11, mCopy.getQ());
        assertEquals("equal", mCopy.getClassBalance());
        assertFalse(mCopy.getOodGate());
        assertEquals(9, m.getQ());
    }

    @Test
    void fitHandsTheSharedParamsOnToTheModel() {
        SisomScoringModel m = new SisomEstimator().setSteepness(STEEPNESS).setScore("sisom").setLambda(0.25)
                .setScoreCol("s").setKeepFeatureArrays(false).fit(labeled);
        assertEquals("sisom", m.getScore());
        assertEquals(0.25, m.getLambda());
        assertEquals("s", m.getScoreCol());
        assertFalse(m.getKeepFeatureArrays());
        assertTrue(m.hasParent());
    }

    @Test
    void invalidValuesAreRefusedWhenSetNamingTheParam() {
        SisomEstimator e = new SisomEstimator();
        Map<String, Executable> bad = new java.util.LinkedHashMap<>();
        bad.put("lambda", () -> e.setLambda(5.0));
        bad.put("lambda ", () -> e.setLambda(-0.5));
        bad.put("lambda  ", () -> model.copy(ParamMap.empty()).setLambda(1.5));
        bad.put("q", () -> model.copy(ParamMap.empty()).setQ(-3));
        bad.put("q ", () -> model.copy(ParamMap.empty()).setQ(0));
        bad.put("score", () -> e.setScore("bogus"));
        bad.put("score ", () -> model.copy(ParamMap.empty()).setScore("bogus"));
        bad.put("subsetDelta", () -> e.setSubset(-1, -5));
        bad.put("subsetSize", () -> e.setSubset(3.0, 0));
        bad.put("subsetDelta ", () -> e.setSubsetDelta(-2));
        bad.put("subsetSize ", () -> e.setSubsetSize(-1));
        bad.put("dOutVariant", () -> e.setDOutVariant("nearest"));
        bad.put("steepness", () -> e.setSteepness("layer1"));
        bad.put("steepness ", () -> e.setSteepness(""));
        bad.put("oodThreshold", () -> e.setOodThreshold(Double.POSITIVE_INFINITY));
        bad.put("oodThreshold ", () -> model.copy(ParamMap.empty()).setOodThreshold(Double.NEGATIVE_INFINITY));
        bad.put("oodKeepShare", () -> e.setOodKeepShare(0));
        bad.put("oodMetric", () -> e.setOodMetric("loudness"));
        bad.put("oodThresholdMode", () -> e.setOodThresholdMode("sometimes"));
        bad.put("unknownLabels", () -> e.setUnknownLabels(new String[]{"unknown", " "}));
        bad.put("classBalance", () -> model.copy(ParamMap.empty()).setClassBalance("fair"));
        bad.put("classPrior", () -> model.copy(ParamMap.empty()).setClassPrior("hat:1"));
        bad.put("idCol", () -> e.setIdCol(""));
        bad.put("featuresCol", () -> model.copy(ParamMap.empty()).setFeaturesCol(" "));
        bad.put("scoreCol", () -> e.setScoreCol(""));
        bad.put("labelCol", () -> e.setLabelCol(""));
        for (var b : bad.entrySet()) {
            String param = b.getKey().trim();
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class, b.getValue(), param);
            assertTrue(x.getMessage().contains(param), param + ": " + x.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> model.copy(ParamMap.empty())
                .setClassPrior("hat:1")).getMessage().contains("[hat]"), "the prior's error names the unknown class");
        // the values the docs allow are accepted
        e.setLambda(0).setLambda(1).setLambda(-1).setSubset(0, 0).setSubset(2.5, 10).setOodThreshold(Double.NaN);
        model.copy(ParamMap.empty()).setQ(1).setClassPrior("").setClassPrior("shirt:2,coat:1");
        // set one at a time, a half-given subset is refused before the labeled set is read
        IllegalArgumentException half = assertThrows(IllegalArgumentException.class, () -> new SisomEstimator()
                .setSteepness(STEEPNESS).setSubsetDelta(3.0).transformSchema(labeled.schema()));
        assertTrue(half.getMessage().contains("subsetSize"), half.getMessage());
    }

    @Test
    void aPostHocScoreRanksAndItsExtraColumnsAreDeclaredWrittenAndSavedWithTheModel() throws Exception {
        String modelPath = JobTests.repoRoot().resolve("data-samples/model/fmnist_resnet18w16.pt").toString();
        SisomScoringModel m = new SisomEstimator().setSteepness(STEEPNESS).setScore("mahalanobis")
                .setExtraScores(new String[]{"vim", "mahalanobis", "msp"}).setModelPath(modelPath).fit(labeled);
        StructType declared = m.transformSchema(pool.schema());
        Dataset<Row> out = m.transform(pool);
        assertEquals(describe(declared), describe(out.schema()));
        List<String> cols = Arrays.asList(out.columns());
        int n = ScoreTable.columns().size();
        // one column each, in the methods' declaration order, after the declared ones
        assertEquals(List.of("ood_score_msp", "ood_score_mahalanobis", "ood_score_vim"), cols.subList(n, n + 3));
        for (Row r : out.select("score", "ood_score_mahalanobis").collectAsList()) {
            assertEquals(-r.getDouble(1), r.getDouble(0), 0.0);
        }
        Path saved = tmp.resolve("posthoc-model");
        m.write().save(saved.toString());
        SisomScoringModel back = SisomScoringModel.load(saved.toString());
        assertArrayEquals(m.getExtraScores(), back.getExtraScores());
        assertEquals(scores(out, "id", "ood_score_vim"), scores(back.transform(pool), "id", "ood_score_vim"));

        IllegalArgumentException noHead = assertThrows(IllegalArgumentException.class, () -> new SisomEstimator()
                .setSteepness(STEEPNESS).setScore("vim").fit(labeled));
        assertTrue(noHead.getMessage().contains("modelPath"), noHead.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> model.copy(ParamMap.empty()).setExtraScores(new String[]{"odin"}));
        assertTrue(bad.getMessage().contains("extraScores"), bad.getMessage());
    }

    @Test
    void transformSchemaIsTheOutputSchemaAndTransformKeepsTheInputColumns() {
        StructType declared = model.transformSchema(pool.schema());
        Dataset<Row> out = model.transform(pool);
        assertEquals(describe(declared), describe(out.schema()));
        List<String> cols = Arrays.asList(out.columns());
        assertTrue(cols.containsAll(Arrays.asList(pool.columns())), cols.toString());
        assertTrue(cols.containsAll(List.of("u", "logits", "penultimate")), cols.toString());
        assertEquals(ScoreTable.columns(), cols.subList(0, ScoreTable.columns().size()));
        Row f = pool.orderBy("id").first();
        Row r = out.filter(out.col("id").equalTo(f.getString(f.fieldIndex("id")))).first();
        assertEquals(f.getList(f.fieldIndex("u")), r.getList(r.fieldIndex("u")));
        assertEquals(f.getList(f.fieldIndex("logits")), r.getList(r.fieldIndex("logits")));

        // asked to, the output leaves the arrays out: the score table the jobs write
        SisomScoringModel slim = model.copy(ParamMap.empty()).setKeepFeatureArrays(false);
        Dataset<Row> table = slim.transform(pool);
        assertEquals(describe(slim.transformSchema(pool.schema())), describe(table.schema()));
        List<String> expected = new ArrayList<>(ScoreTable.columns());
        for (String c : pool.columns()) {
            if (!List.of("id", "pseudo_class", "energy", "u", "logits", "penultimate").contains(c)) {
                expected.add(c);
            }
        }
        assertEquals(expected, Arrays.asList(table.columns()));
        assertEquals(scores(out, "id", "score"), scores(table, "id", "score"));

        // an input that already holds an output column is refused, as MLlib refuses it
        IllegalArgumentException clash = assertThrows(IllegalArgumentException.class,
                () -> model.transformSchema(out.schema()));
        assertTrue(clash.getMessage().contains("already exists"), clash.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> model.transformSchema(pool.drop("energy").schema()));
        assertTrue(missing.getMessage().contains("energyCol"), missing.getMessage());
    }

    @Test
    void columnParamsNameTheInputAndOutputColumns() {
        Dataset<Row> l = labeled.withColumnRenamed("id", "path").withColumnRenamed("u", "feat")
                .withColumnRenamed("label", "truth");
        Dataset<Row> p = pool.withColumnRenamed("id", "path").withColumnRenamed("u", "feat");
        SisomScoringModel m = new SisomEstimator().setSteepness(STEEPNESS).setIdCol("path").setFeaturesCol("feat")
                .setLabelCol("truth").setScoreCol("worth").setOodFlagCol("suspect").fit(l);
        Dataset<Row> out = m.transform(p);
        List<String> cols = Arrays.asList(out.columns());
        assertTrue(cols.containsAll(List.of("path", "feat", "worth", "suspect")), cols.toString());
        assertFalse(cols.contains("score") || cols.contains("id") || cols.contains("u"), cols.toString());
        assertEquals(scores(model.transform(pool), "id", "score"), scores(out, "path", "worth"));
        List<String> top = model.copy(ParamMap.empty()).setQ(10).selectTopQ(model.transform(pool)).collectAsList()
                .stream().map(r -> r.getString(r.fieldIndex("id"))).toList();
        Dataset<Row> q = m.copy(ParamMap.empty()).setQ(10).selectTopQ(out);
        assertTrue(Arrays.asList(q.columns()).containsAll(List.of("path", "worth", "rank")));
        assertEquals(top, q.collectAsList().stream().map(r -> r.getString(r.fieldIndex("path"))).toList());
        List<String> greedy = model.copy(ParamMap.empty()).setQ(5).selectGreedy(model.transform(pool), pool, 4)
                .collectAsList().stream().map(r -> r.getString(r.fieldIndex("id"))).toList();
        assertEquals(greedy, m.copy(ParamMap.empty()).setQ(5).selectGreedy(out, p, 4).collectAsList().stream()
                .map(r -> r.getString(r.fieldIndex("path"))).toList());
        assertEquals(model.flagged(model.transform(pool)).count(), m.flagged(out).count());
    }

    @Test
    void aPipelineWithStagesBeforeAndAfterFitsTransformsAndLoadsBackUnfittedAndFitted() throws Exception {
        SQLTransformer before = new SQLTransformer().setStatement("SELECT * FROM __THIS__ WHERE energy IS NOT NULL");
        SisomEstimator est = new SisomEstimator().setSteepness(STEEPNESS).setDOutVariant("anchor").setSubset(3.0, 200)
                .setUnknownLabels(new String[]{"unknown"});
        SQLTransformer after = new SQLTransformer().setStatement(
                "SELECT id, score, ood_flag, pseudo_label FROM __THIS__ WHERE pseudo_label <> 'shirt'");
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[]{before, est, after});

        StructType schema = pipeline.transformSchema(labeled.schema());
        assertEquals(List.of("id", "score", "ood_flag", "pseudo_label"), Arrays.asList(schema.fieldNames()));
        PipelineModel fitted = pipeline.fit(labeled);
        Dataset<Row> out = fitted.transform(pool);
        assertEquals(List.of("id", "score", "ood_flag", "pseudo_label"), Arrays.asList(out.columns()));
        Map<String, Double> expected = scores(out, "id", "score");
        assertFalse(expected.isEmpty());
        SisomScoringModel inside = (SisomScoringModel) fitted.stages()[1];
        assertEquals(scores(inside.transform(pool).filter("pseudo_label <> 'shirt'"), "id", "score"), expected);

        // the unfitted pipeline loads back with the estimator's params and fits the same model
        String pPath = tmp.resolve("pipeline").toString();
        pipeline.write().overwrite().save(pPath);
        Pipeline pipelineBack = Pipeline.load(pPath);
        SisomEstimator estBack = (SisomEstimator) pipelineBack.getStages()[1];
        assertSameParams(est, estBack);
        assertEquals(expected, scores(pipelineBack.fit(labeled).transform(pool), "id", "score"));

        // the fitted pipeline loads back with the model's params and reference and gives identical results
        String mPath = tmp.resolve("pipeline-model").toString();
        fitted.write().overwrite().save(mPath);
        PipelineModel fittedBack = PipelineModel.load(mPath);
        SisomScoringModel modelBack = (SisomScoringModel) fittedBack.stages()[1];
        assertSameParams(inside, modelBack);
        assertEquals(inside.reference().stats(), modelBack.reference().stats());
        assertEquals(inside.reference().ood(), modelBack.reference().ood());
        assertEquals(rows(out), rows(fittedBack.transform(pool)));
    }

    @Test
    void estimatorAndModelSaveAndLoadThroughTheirStaticReaders() throws Exception {
        SisomEstimator est = new SisomEstimator().setSteepness(STEEPNESS).setOodKeepShare(0.9).setScoreCol("s")
                .setKeepFeatureArrays(false).setIdCol("id");
        String ePath = tmp.resolve("estimator").toString();
        est.write().save(ePath);
        SisomEstimator estBack = SisomEstimator.load(ePath);
        assertSameParams(est, estBack);
        assertSameParams(est, SisomEstimator.read().load(ePath));

        SisomScoringModel m = model.copy(ParamMap.empty()).setQ(12).setClassBalance("prior")
                .setClassPrior("shirt:2,coat:1").setScoreCol("s").setOodGate(false);
        String mPath = tmp.resolve("model").toString();
        m.write().save(mPath);
        SisomScoringModel back = SisomScoringModel.load(mPath);
        assertSameParams(m, back);
        assertEquals(rows(m.transform(pool).drop("u", "logits", "penultimate")),
                rows(back.transform(pool).drop("u", "logits", "penultimate")));
        assertEquals(rows(m.selectTopQ(m.transform(pool))), rows(back.selectTopQ(back.transform(pool))));
    }

    /** As DefaultReadWriteTest: same uid, and every param with the same default and the same value. */
    private static void assertSameParams(Params a, Params b) {
        assertEquals(a.uid(), b.uid());
        assertEquals(a.getClass(), b.getClass());
        for (Param<?> p : a.params()) {
            Param<?> q = b.getParam(p.name());
            assertEquals(a.isSet(p), b.isSet(q), p.name() + " set");
            assertEquals(a.hasDefault(p), b.hasDefault(q), p.name() + " default");
            if (a.hasDefault(p)) {
                assertEquals(normalize(a.getDefault(p).get()), normalize(b.getDefault(q).get()), p.name());
            }
            if (a.isDefined(p)) {
                assertEquals(normalize(a.getOrDefault(p)), normalize(b.getOrDefault(q)), p.name());
            }
        }
    }

    private static Object normalize(Object v) {
        return v instanceof String[] s ? Arrays.asList(s) : v;
    }

    private static List<String> describe(StructType s) {
        List<String> d = new ArrayList<>();
        for (StructField f : s.fields()) {
            d.add(f.name() + ":" + f.dataType().simpleString() + (f.nullable() ? "" : " not null"));
        }
        return d;
    }

    private static Map<String, Double> scores(Dataset<Row> df, String id, String score) {
        Map<String, Double> m = new HashMap<>();
        df.select(id, score).collectAsList().forEach(r -> m.put(r.getString(0), r.getDouble(1)));
        return m;
    }

    private static List<String> rows(Dataset<Row> df) {
        return df.collectAsList().stream().map(Row::toString).sorted().toList();
    }
}

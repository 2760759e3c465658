package ai.sisom.jobs;

import ai.sisom.ml.SisomEstimator;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.spark.FeatureTable;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The Spark ML surface: Estimator -> Model -> transform, selection, save/load, on the bundled samples. */
class SparkMlApiTest {
    private static SparkSession spark;
    private static Path dir;
    private static Dataset<Row> labeled;
    private static Dataset<Row> pool;

    @BeforeAll
    static void start() throws Exception {
        Path root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-ml-test");
        dir = Files.createTempDirectory("sisom-ml");
        String model = root.resolve("data-samples/model/fmnist_resnet18w16.pt").toString();
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        assertEquals(0, SisomJob.run(new String[]{"extract", "--set", "sisom.model=" + model, "--set",
                "sisom.input.path=" + root.resolve("data-samples/labeled/parquet/data"), "--set",
                "sisom.input.format=parquet", "--set", "sisom.input.labeled=true", "--set",
                "sisom.output=" + dir.resolve("l")}, quiet));
        assertEquals(0, SisomJob.run(new String[]{"extract", "--set", "sisom.model=" + model, "--set",
                "sisom.input.path=" + root.resolve("data-samples/pool/parquet/data"), "--set",
                "sisom.input.format=parquet", "--set", "sisom.output=" + dir.resolve("p")}, quiet));
        labeled = spark.read().parquet(dir.resolve("l/features").toString());
        pool = spark.read().parquet(dir.resolve("p/features").toString());
    }

    @AfterAll
    static void stop() throws Exception {
        spark.stop();
        JobTests.deleteTree(dir);
    }

    @TempDir
    Path tmp;

    @Test
    void fitTransformAndSelectLikeAnySparkMlModel() {
        SisomScoringModel model = new SisomEstimator().setSteepness("layer1:0.05,layer2:1,layer3:10,avgpool:50")
                .setDOutVariant("anchor").fit(labeled).setQ(5).setLambda(0.1);
        Dataset<Row> scores = model.transform(pool);
        assertEquals(1000, scores.count());
        SisomScorer direct = new SisomScorer(model.reference(), new Fusion(Fusion.Score.SISOME, 0.1));
        Row f = pool.limit(1).collectAsList().get(0);
        Row s = scores.filter(scores.col("id").equalTo(f.getString(f.fieldIndex("id")))).first();
        assertEquals(direct.score(FeatureTable.floats(f, f.fieldIndex("u")), f.getInt(f.fieldIndex("pseudo_class")),
                f.getDouble(f.fieldIndex("energy"))).score(), s.getDouble(s.fieldIndex("score")), 0);
        List<Row> top = model.selectTopQ(scores).collectAsList();
        assertEquals(5, top.size());
        assertEquals(1, top.get(0).getInt(top.get(0).fieldIndex("rank")));
    }

    @Test
    void savedModelsAndEstimatorsLoadBackWithTheirParams() throws Exception {
        SisomEstimator est = new SisomEstimator().setSteepness("layer1:0.05,layer2:1,layer3:10,avgpool:50");
        SisomScoringModel model = est.fit(labeled).setQ(7).setScore("sisom");
        String path = tmp.resolve("model").toString();
        model.write().overwrite().save(path);
        SisomScoringModel back = SisomScoringModel.load(path);
        assertEquals(7, (int) (Integer) back.getOrDefault(back.q()));
        assertEquals("sisom", back.getOrDefault(back.score()));
        assertEquals(model.reference().stats(), back.reference().stats());
        Map<String, Double> a = scores(model.transform(pool));
        assertEquals(a, scores(back.transform(pool)));

        String estPath = tmp.resolve("estimator").toString();
        est.write().save(estPath);
        SisomEstimator estBack = new DefaultParamsReader<SisomEstimator>().load(estPath);
        assertEquals(est.getOrDefault(est.steepness()), estBack.getOrDefault(estBack.steepness()));
    }

    @Test
    void openWorldParamsCalibrateTheGateBalanceTheQueueAndPersist() throws Exception {
        // 30 of the pool's digits come back from the annotators labeled "unknown"
        Dataset<Row> rejects = pool.filter(pool.col("id").startsWith("digit-")).orderBy("id").limit(30)
                .withColumn("label", org.apache.spark.sql.functions.lit("unknown"));
        Dataset<Row> withUnknowns = labeled.unionByName(rejects.select(labeled.columns()[0],
                java.util.Arrays.copyOfRange(labeled.columns(), 1, labeled.columns().length)));
        SisomEstimator est = new SisomEstimator().setSteepness("layer1:0.05,layer2:1,layer3:10,avgpool:50")
                .setUnknownLabels(new String[]{"unknown"}).setOodThresholdMode("youden").setOodMetric("auto");
        SisomScoringModel model = est.fit(withUnknowns).setQ(20);
        var t = model.reference().ood();
        assertEquals(ai.sisom.reference.OodThreshold.Mode.YOUDEN, t.mode());
        assertEquals(500, t.inDistribution());
        assertEquals(30, t.unknown());
        assertEquals(4, t.candidates().size());
        assertEquals(500, model.reference().stats().n(), "unknowns stay out of the statistics");

        Dataset<Row> scores = model.transform(pool).cache();
        long flagged = scores.filter("ood_flag").count();
        assertTrue(flagged > 50, flagged + " flagged");
        assertEquals(flagged, scores.filter(scores.col("ood_metric").gt(t.value())).count());
        assertTrue(model.selectTopQ(scores).filter("ood_flag").isEmpty(), "gated by default");
        assertFalse(model.copy(new org.apache.spark.ml.param.ParamMap()).setOodGate(false).selectTopQ(scores)
                .filter("ood_flag").isEmpty(), "ungated, SISOMe's top 20 holds flagged samples");
        List<Row> ranked = model.flagged(scores).orderBy("ood_rank").collectAsList();
        assertEquals(flagged, ranked.size());
        assertTrue(ranked.get(0).getDouble(ranked.get(0).fieldIndex("ood_metric"))
                >= ranked.get(ranked.size() - 1).getDouble(ranked.get(0).fieldIndex("ood_metric")));
        Map<String, Integer> perClass = new HashMap<>();
        model.copy(new org.apache.spark.ml.param.ParamMap()).setClassBalance("equal").selectTopQ(scores).collectAsList()
                .forEach(r -> perClass.merge(r.getString(r.fieldIndex("pseudo_label")), 1, Integer::sum));
        assertEquals(java.util.Set.of(2), new java.util.HashSet<>(perClass.values()), perClass.toString());
        SisomScoringModel fixed = model.copy(new org.apache.spark.ml.param.ParamMap()).setOodThreshold(t.value() + 1);
        assertTrue(fixed.transform(pool).filter("ood_flag").count() < flagged, "a higher fixed threshold flags fewer");

        // persistence keeps the open-world params and the threshold
        String path = tmp.resolve("open-model").toString();
        model.setClassBalance("prior").setClassPrior("shirt:2,coat:1").write().overwrite().save(path);
        SisomScoringModel back = SisomScoringModel.load(path);
        assertEquals("prior", back.getOrDefault(back.classBalance()));
        assertEquals("shirt:2,coat:1", back.getOrDefault(back.classPrior()));
        assertEquals(true, back.getOrDefault(back.oodGate()));
        assertEquals(t, back.reference().ood());
        String estPath = tmp.resolve("open-estimator").toString();
        est.write().save(estPath);
        SisomEstimator estBack = new DefaultParamsReader<SisomEstimator>().load(estPath);
        assertArrayEquals(new String[]{"unknown"}, estBack.getOrDefault(estBack.unknownLabels()));
        assertEquals("youden", estBack.getOrDefault(estBack.oodThresholdMode()));

        // validators refuse bad values when they are set
        assertThrows(IllegalArgumentException.class, () -> new SisomEstimator().setOodKeepShare(1.0));
        assertThrows(IllegalArgumentException.class, () -> new SisomEstimator().setOodMetric("loudness"));
        assertThrows(IllegalArgumentException.class, () -> new SisomEstimator().setOodThresholdMode("sometimes"));
        assertThrows(IllegalArgumentException.class, () -> model.copy(new org.apache.spark.ml.param.ParamMap())
                .setClassBalance("fair"));
        IllegalArgumentException prior = assertThrows(IllegalArgumentException.class, () -> model.copy(
                new org.apache.spark.ml.param.ParamMap()).setClassPrior("hat:1").transform(pool));
        assertTrue(prior.getMessage().contains("[hat]"), prior.getMessage());
        IllegalArgumentException youden = assertThrows(IllegalArgumentException.class, () -> new SisomEstimator()
                .setSteepness("layer1:0.05,layer2:1,layer3:10,avgpool:50").setOodThresholdMode("youden").fit(labeled));
        assertTrue(youden.getMessage().contains("unknownLabels"), youden.getMessage());
        scores.unpersist();
    }

    @Test
    void lfosaSelectionTreatsTheDetectorsLastClassAsUnknown() throws Exception {
        // the sample model stands in for a (K+1)-way detector: its last class plays "unknown"
        String out = tmp.resolve("lfosa").toString();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, SisomJob.run(new String[]{"lfosa-select", "--set", "sisom.pool.features=" + dir.resolve("p/features"),
                "--set", "sisom.q=25", "--set", "sisom.output=" + out}, new PrintStream(buf)));
        List<Row> sel = spark.read().parquet(out + "/selection").orderBy("rank").collectAsList();
        assertEquals(25, sel.size());
        for (int i = 0; i < sel.size(); i++) {
            Row r = sel.get(i);
            assertTrue(r.getInt(r.fieldIndex("predicted_class")) < 9, "never the unknown class");
            if (i > 0) {
                assertTrue(sel.get(i - 1).getDouble(3) >= r.getDouble(3), "sorted by weight");
            }
        }
    }

    @Test
    void featureTablesWithoutModelMetadataAreRefusedWithAReason() {
        Dataset<Row> bare = spark.createDataFrame(labeled.collectAsList(), stripMetadata(labeled));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SisomEstimator().setSteepness("layer1:1,layer2:1,layer3:1,avgpool:1").fit(bare));
        assertTrue(e.getMessage().contains("metadata"), e.getMessage());
    }

    @Test
    void aPoolRowWithANonFiniteFeatureFailsTheJobNamingTheSample() {
        SisomScoringModel model = new SisomEstimator().setSteepness("layer1:1,layer2:1,layer3:1,avgpool:1")
                .fit(labeled);
        List<Row> rows = new java.util.ArrayList<>(pool.limit(20).collectAsList());
        Row r = rows.get(7);
        int ui = r.fieldIndex("u");
        List<Float> u = new java.util.ArrayList<>(r.getList(ui));
        u.set(3, Float.NaN);
        Object[] v = new Object[r.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = i == ui ? scala.collection.JavaConverters.asScalaBuffer(u).toList() : r.get(i);
        }
        rows.set(7, org.apache.spark.sql.RowFactory.create(v));
        Dataset<Row> bad = spark.createDataFrame(rows, pool.schema());
        Exception e = assertThrows(Exception.class, () -> model.transform(bad).collectAsList());
        String id = r.getString(r.fieldIndex("id"));
        String all = e.toString() + (e.getCause() == null ? "" : e.getCause().toString());
        assertTrue(all.contains("'" + id + "'") && all.contains("non-finite") && all.contains("u[3]"), all);
    }

    @Test
    void aPoolRowWithANullInsideItsFeaturesFailsTheJobNamingTheColumn() {
        SisomScoringModel model = new SisomEstimator().setSteepness("layer1:1,layer2:1,layer3:1,avgpool:1")
                .fit(labeled);
        List<Row> rows = new java.util.ArrayList<>(pool.limit(20).collectAsList());
        Row r = rows.get(4);
        int ui = r.fieldIndex("u");
        List<Float> u = new java.util.ArrayList<>(r.getList(ui));
        u.set(2, null);
        Object[] v = new Object[r.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = i == ui ? scala.collection.JavaConverters.asScalaBuffer(u).toList() : r.get(i);
        }
        rows.set(4, org.apache.spark.sql.RowFactory.create(v));
        org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType();
        for (var f : pool.schema().fields()) {
            schema = schema.add(f.name(), f.name().equals("u") ? org.apache.spark.sql.types.DataTypes.createArrayType(
                    org.apache.spark.sql.types.DataTypes.FloatType, true) : f.dataType(), f.nullable(), f.metadata());
        }
        Dataset<Row> bad = spark.createDataFrame(rows, schema);
        Exception e = assertThrows(Exception.class, () -> model.transform(bad).collectAsList());
        String all = e.toString() + (e.getCause() == null ? "" : e.getCause().toString());
        assertTrue(all.contains("a null inside its 'u'"), all);
    }

    private static org.apache.spark.sql.types.StructType stripMetadata(Dataset<Row> df) {
        org.apache.spark.sql.types.StructType s = new org.apache.spark.sql.types.StructType();
        for (var f : df.schema().fields()) {
            s = s.add(f.name(), f.dataType(), f.nullable());
        }
        return s;
    }

    private static Map<String, Double> scores(Dataset<Row> df) {
        Map<String, Double> m = new HashMap<>();
        df.collectAsList().forEach(r -> m.put(r.getString(0), r.getDouble(r.fieldIndex("score"))));
        return m;
    }
}

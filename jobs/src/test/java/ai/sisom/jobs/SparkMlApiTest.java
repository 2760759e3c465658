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

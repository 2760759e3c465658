package ai.sisom.spark;

import ai.sisom.selection.Badge;
import ai.sisom.selection.CoreSet;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SelectionsTest {
    private static final int N = 120;
    private static SparkSession spark;
    private static Dataset<Row> scores;
    private static Dataset<Row> features;
    private static final List<Sample> samples = new ArrayList<>();

    /** One pool sample as the test knows it. */
    record Sample(String id, double score, Boolean flag, float[] penultimate, float[] logits) {}

    @BeforeAll
    static void tables() {
        spark = SparkSession.builder().master("local[2]").appName("selections")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "3").getOrCreate();
        Random rnd = new Random(4);
        for (int i = 0; i < N; i++) {
            float[] h = new float[5];
            for (int k = 0; k < h.length; k++) {
                h[k] = (float) Math.max(0, rnd.nextGaussian());
            }
            float[] l = new float[4];
            for (int k = 0; k < l.length; k++) {
                l[k] = (float) (2 * rnd.nextGaussian());
            }
            // the flagged samples score high: ungated they would fill the top candidates
            Boolean flag = i % 4 == 0 ? Boolean.TRUE : i % 7 == 0 ? null : Boolean.FALSE;
            double score = (flag == Boolean.TRUE ? 10 : 0) + Math.round(rnd.nextDouble() * 20) / 4.0;   // ties
            samples.add(new Sample(String.format("img-%03d", (i * 37) % N), score, flag, h, l));
        }
        List<Row> s = new ArrayList<>();
        List<Row> f = new ArrayList<>();
        for (Sample x : samples) {
            s.add(RowFactory.create(x.id, x.score, x.flag, x.id.hashCode() % 5));
            f.add(RowFactory.create(x.id, boxed(x.logits), boxed(x.penultimate)));
        }
        scores = spark.createDataFrame(s, new StructType().add(ScoreTable.ID, DataTypes.StringType, false)
                .add(ScoreTable.SCORE, DataTypes.DoubleType, false).add(ScoreTable.OOD_FLAG, DataTypes.BooleanType, true)
                .add("extra", DataTypes.IntegerType, false)).repartition(3);
        var floats = DataTypes.createArrayType(DataTypes.FloatType, false);
        features = spark.createDataFrame(f, new StructType().add(FeatureTable.ID, DataTypes.StringType, false)
                .add(FeatureTable.LOGITS, floats, true).add(FeatureTable.PENULTIMATE, floats, true)).repartition(4);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static Float[] boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return b;
    }

    /** The candidates the Spark path is specified to hand the strategy: top by score, ties by id, gated or not. */
    private static List<Sample> candidates(int count, boolean gate) {
        return samples.stream().filter(x -> !gate || x.flag != Boolean.TRUE)
                .sorted(Comparator.comparingDouble((Sample x) -> -x.score).thenComparing(Sample::id))
                .limit(count).toList();
    }

    private static List<String> rankedIds(Dataset<Row> queue) {
        List<Row> rows = queue.collectAsList();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            assertEquals(i + 1, r.getInt(r.fieldIndex(ScoreTable.RANK)));
            ids.add(r.getString(r.fieldIndex(ScoreTable.ID)));
        }
        return ids;
    }

    private static void assertNoneFlagged(List<String> ids) {
        for (Sample x : samples) {
            if (x.flag == Boolean.TRUE) {
                assertFalse(ids.contains(x.id), "flagged sample " + x.id + " in the gated queue");
            }
        }
    }

    @Test
    void coresetOnSparkPicksWhatCoreSetPicksOnTheSameCandidatesBehindTheGate() {
        float[][] labeled = {samples.get(3).penultimate, {0.5f, 0.5f, 0.5f, 0.5f, 0.5f}};
        for (boolean gate : new boolean[]{true, false}) {
            List<CoreSet.Candidate> cands = new ArrayList<>();
            for (Sample x : candidates(40, gate)) {
                cands.add(new CoreSet.Candidate(x.id, x.penultimate));
            }
            List<String> want = CoreSet.select(cands, labeled, 10).stream().map(CoreSet.Pick::id).toList();
            Dataset<Row> queue = Selections.coreset(spark, scores, features, 10, 40, gate, labeled);
            assertEquals(want, rankedIds(queue), "gate " + gate);
            if (gate) {
                assertNoneFlagged(want);
            } else {   // the flagged samples hold the top scores, so ungated they are picked: the gate test can fail
                assertTrue(want.stream().anyMatch(id -> samples.stream().anyMatch(x -> x.id.equals(id)
                        && x.flag == Boolean.TRUE)));
            }
            List<String> columns = List.of(queue.columns());
            assertTrue(columns.containsAll(List.of(ScoreTable.ID, ScoreTable.SCORE, ScoreTable.OOD_FLAG, "extra",
                    ScoreTable.RANK)), columns.toString());
        }
        // no labeled samples: the best-scored eligible candidate goes first
        List<String> first = rankedIds(Selections.coreset(spark, scores, features, 3, 20, true, new float[0][]));
        assertEquals(candidates(1, true).get(0).id, first.get(0));
    }

    @Test
    void badgeOnSparkPicksWhatBadgePicksOnTheSameCandidatesBehindTheGate() {
        for (boolean gate : new boolean[]{true, false}) {
            List<Badge.Candidate> cands = new ArrayList<>();
            for (Sample x : candidates(50, gate)) {
                cands.add(new Badge.Candidate(x.id, x.penultimate, x.logits));
            }
            List<String> want = Badge.select(cands, 12, 99L).stream().map(Badge.Pick::id).toList();
            assertEquals(want, rankedIds(Selections.badge(spark, scores, features, 12, 50, gate, 99L)), "gate " + gate);
            if (gate) {
                assertNoneFlagged(want);
            }
        }
    }

    @Test
    void aQueueLongerThanTheEligiblePoolTakesEveryEligibleSampleOnce() {
        long eligible = samples.stream().filter(x -> x.flag != Boolean.TRUE).count();
        List<String> c = rankedIds(Selections.coreset(spark, scores, features, N, 10, true, new float[0][]));
        List<String> b = rankedIds(Selections.badge(spark, scores, features, N, 10, true, 5L));
        for (List<String> ids : List.of(c, b)) {
            assertEquals(eligible, ids.size());
            assertEquals(eligible, ids.stream().distinct().count());
            assertNoneFlagged(ids);
        }
    }

    @Test
    void aScoredSampleWithoutFeaturesIsAnErrorNamingIt() {
        String best = candidates(1, true).get(0).id;
        Dataset<Row> missing = features.filter(org.apache.spark.sql.functions.col(FeatureTable.ID).notEqual(best));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Selections.coreset(spark, scores, missing, 2, 5, true, new float[0][]));
        assertTrue(e.getMessage().contains(best), e.getMessage());
        Dataset<Row> nullLogits = features.withColumn(FeatureTable.LOGITS, org.apache.spark.sql.functions.when(
                org.apache.spark.sql.functions.col(FeatureTable.ID).equalTo(best), null)
                .otherwise(org.apache.spark.sql.functions.col(FeatureTable.LOGITS)));
        e = assertThrows(IllegalArgumentException.class,
                () -> Selections.badge(spark, scores, nullLogits, 2, 5, true, 1L));
        assertTrue(e.getMessage().contains("sample " + best + " has no logits"), e.getMessage());
    }
}

package ai.sisom.jobs;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.hash;
import static org.apache.spark.sql.functions.when;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The nightly run on a data lake: the pool a partitioned Delta Lake table read by path
 * ({@code sisom.input.format=delta}), the labeled set a metastore table ({@code sisom.labeled.format=table}), the
 * score table and the selection written as Delta catalog tables. Delta Lake's own jars (from Maven Central, the
 * release built for this Spark line) and its catalog.
 */
class DataLakeTest {
    private static SparkSession spark;
    private static Path tmp;
    private static Path root;

    @BeforeAll
    static void start() throws Exception {
        root = JobTests.repoRoot();
        tmp = Files.createTempDirectory("sisom-lake");
        // Delta's catalog and extension take effect only in a new session
        if (SparkSession.getActiveSession().isDefined()) {
            SparkSession.getActiveSession().get().stop();
        }
        spark = SparkSession.builder().master("local[2]").appName("sisom-lake-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
                .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
                .config("spark.sql.warehouse.dir", tmp.resolve("warehouse").toString())
                .getOrCreate();
    }

    @AfterAll
    static void stop() throws Exception {
        spark.stop();
        JobTests.deleteTree(tmp);
    }

    @Test
    void aDeltaPoolAndAMetastoreLabeledSetGiveTheParquetRunsScoresAndDeltaOutputTables() throws Exception {
        Dataset<Row> pool = spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString()).limit(60)
                .withColumn("date", when(hash(col("id")).mod(2).equalTo(0), "2026-11-21").otherwise("2026-11-22"));
        String delta = tmp.resolve("pool-delta").toString();
        pool.write().format("delta").partitionBy("date").save(delta);
        spark.read().parquet(root.resolve("data-samples/labeled/parquet/data").toString())
                .write().mode(SaveMode.Overwrite).format("parquet").saveAsTable("labeled_images");
        // the same pool as plain Parquet files, for the reference result
        String parquet = tmp.resolve("pool-parquet").toString();
        spark.read().format("delta").load(delta).write().partitionBy("date").parquet(parquet);

        String lake = JobTests.runJob(args("delta", delta, "lake",
                "sisom.output.scoresTable=sisom_scores", "sisom.output.selectionTable=sisom_queue",
                "sisom.output.tableFormat=delta"));
        assertTrue(lake.contains("2 pool partition(s), 2 new"), lake);
        // the same reference (built from the metastore table above), so only the pool's source differs
        String files = JobTests.runJob(args("parquet", parquet, "files",
                "sisom.reference=" + tmp.resolve("lake/work/reference")));
        assertTrue(files.contains("2 pool partition(s), 2 new"), files);

        assertEquals(scores(spark.read().parquet(tmp.resolve("files/results/scores").toString())),
                scores(spark.read().parquet(tmp.resolve("lake/results/scores").toString())));
        assertEquals(scores(spark.read().parquet(tmp.resolve("lake/results/scores").toString())),
                scores(spark.table("sisom_scores")), "the score table as a catalog table");
        assertEquals("delta", spark.sql("DESCRIBE DETAIL sisom_queue").first().getAs("format"));
        assertEquals(10, spark.table("sisom_queue").count());
        assertEquals(spark.read().parquet(tmp.resolve("lake/results/selection").toString()).orderBy("rank")
                        .select("id").collectAsList(),
                spark.table("sisom_queue").orderBy("rank").select("id").collectAsList());

        // a new day in the Delta table: only it is extracted; the tables are replaced, not appended to
        spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString()).orderBy(col("id").desc())
                .limit(15).withColumn("date", org.apache.spark.sql.functions.lit("2026-11-23"))
                .write().format("delta").mode(SaveMode.Append).save(delta);
        String again = JobTests.runJob(args("delta", delta, "lake",
                "sisom.output.scoresTable=sisom_scores", "sisom.output.selectionTable=sisom_queue",
                "sisom.output.tableFormat=delta"));
        assertTrue(again.contains("3 pool partition(s), 1 new: [date=2026-11-23]"), again);
        assertEquals(75, spark.table("sisom_scores").count());
        assertEquals(10, spark.table("sisom_queue").count());
    }

    private static String[] args(String format, String pool, String name, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("run",
                "--set", "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "--set", "sisom.labeled.format=table", "--set", "sisom.labeled.path=labeled_images",
                "--set", "sisom.input.format=" + format, "--set", "sisom.input.path=" + pool,
                "--set", "sisom.input.partitionColumn=date", "--set", "sisom.q=10", "--set", "sisom.report=false",
                "--set", "sisom.labeling=false",
                "--set", "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50",
                "--set", "sisom.work=" + tmp.resolve(name + "/work"), "--set", "sisom.output=" + tmp.resolve(name + "/results")));
        for (String m : more) {
            a.add("--set");
            a.add(m);
        }
        return a.toArray(new String[0]);
    }

    private static Map<String, Double> scores(Dataset<Row> table) {
        Map<String, Double> m = new HashMap<>();
        for (Row r : table.select("id", "score").collectAsList()) {
            m.put(r.getString(0), r.getDouble(1));
        }
        return m;
    }
}

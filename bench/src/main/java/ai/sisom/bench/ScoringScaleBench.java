package ai.sisom.bench;

import ai.sisom.spark.Selections;
import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.SisomReference;
import ai.sisom.reference.DOutVariant;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.spark.PoolScoring;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

/**
 * End-to-end pool scoring on Spark local mode at one pool size N (run once per N in a fresh JVM with a fixed
 * heap, by bench/scale.sh): synthetic feature rows (D = 240, K = 10; synthetic because 1M network passes take hours
 * on 2 cores) are written to Parquet first, then timed: read, score against an M-point reference (default 1,000), write the
 * score table, select the top 1,000. Prints 'scale N seconds rows_per_s_per_core peak_rss_mb'.
 */
public final class ScoringScaleBench {
    private ScoringScaleBench() {}

    public static void main(String[] args) throws Exception {
        long n = Long.parseLong(args[0]);
        int m = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        Path dir = Files.createTempDirectory("sisom-scale");
        int d = 240;
        int k = 10;
        int cores = Runtime.getRuntime().availableProcessors();
        SparkSession spark = SparkSession.builder().master("local[" + cores + "]").appName("sisom-scale")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate();
        try {
            // u: deterministic pseudo-random values per (id, j), pseudo-class id % K, energy from the id
            Dataset<Row> features = spark.range(n).select(
                    expr("concat('s', cast(id as string))").as("id"),
                    expr("transform(sequence(0, " + (d - 1) + "), j -> cast((hash(id, j) % 1000) / 250.0 + "
                            + "(CASE WHEN j % " + k + " = id % " + k + " THEN 1.0 ELSE 0.0 END) as float))").as("u"),
                    expr("cast(id % " + k + " as int)").as("pseudo_class"),
                    expr("cast(-5.0 - (hash(id) % 100) / 50.0 as double)").as("energy"));
            features.repartition(Math.max(2, (int) (n / 100_000))).write().parquet(dir.resolve("features").toString());

            Random rnd = new Random(1);
            List<String> ids = new ArrayList<>();
            List<float[]> u = new ArrayList<>();
            int[] labels = new int[m];
            double[] e = new double[m];
            for (int i = 0; i < m; i++) {
                ids.add("L" + i);
                labels[i] = i % k;
                float[] x = new float[d];
                for (int j = 0; j < d; j++) {
                    x[j] = (float) (rnd.nextInt(1000) / 250.0 - 2 + (j % k == labels[i] ? 1 : 0));
                }
                u.add(x);
                e[i] = -5 - rnd.nextDouble() * 2;
            }
            List<String> classes = new ArrayList<>();
            for (int c = 0; c < k; c++) {
                classes.add("c" + c);
            }
            SisomReference ref = SisomReference.build(new LabeledSet(ids, labels, u, e, u), classes,
                    List.of("all"), new int[]{0, d}, new SisomReference.Settings(new double[][]{{1.0}},
                            DOutVariant.SAMPLE, null, null));
            SisomScorer scorer = new SisomScorer(ref, new Fusion(Fusion.Score.SISOME, null));

            long t0 = System.nanoTime();
            Dataset<Row> pool = spark.read().parquet(dir.resolve("features").toString());
            PoolScoring.score(spark, pool, scorer).write().parquet(dir.resolve("scores").toString());
            Dataset<Row> written = spark.read().parquet(dir.resolve("scores").toString());
            long selected = Selections.topQ(written, 1000).count();
            double secs = (System.nanoTime() - t0) / 1e9;
            long scored = written.filter(col("score").isNotNull()).count();
            if (scored != n || selected != Math.min(1000, n)) {
                throw new IllegalStateException("scored " + scored + " of " + n + ", selected " + selected);
            }
            System.out.printf(Locale.ROOT, "scale %d %.2f %.0f %.0f%n", n, secs, n / secs / cores, peakRssMb());
        } finally {
            spark.stop();
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static double peakRssMb() throws java.io.IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        return -1;
    }
}

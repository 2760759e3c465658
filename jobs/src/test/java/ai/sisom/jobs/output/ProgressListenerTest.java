package ai.sisom.jobs.output;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.*;

class ProgressListenerTest {
    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path out;

    @Test
    void stagesReportTasksItemsRateAndTimeLeft() {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("progress")
                .config("spark.ui.enabled", "false").getOrCreate();
        List<String> lines = new CopyOnWriteArrayList<>();
        ProgressListener l = new ProgressListener(0, lines::add);
        spark.sparkContext().addSparkListener(l);
        try {
            spark.range(0, 5000, 1, 5).write().mode("overwrite").parquet(out.toString());
            // listener events are delivered asynchronously
            long deadline = System.currentTimeMillis() + 10_000;
            while (lines.stream().noneMatch(s -> s.contains("5/5 tasks")) && System.currentTimeMillis() < deadline) {
                Thread.onSpinWait();
            }
        } finally {
            spark.sparkContext().removeSparkListener(l);
            spark.stop();
        }
        String last = lines.stream().filter(s -> s.contains("5/5 tasks")).findFirst().orElse(String.join("\n", lines));
        assertTrue(last.contains("5/5 tasks") && last.contains("5000 items") && last.contains("items/s")
                && last.contains("s left"), last);
    }
}

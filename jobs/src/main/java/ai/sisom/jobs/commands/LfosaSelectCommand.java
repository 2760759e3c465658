package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.spark.LfosaSelection;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;

import java.util.Locale;

import static ai.sisom.jobs.settings.Settings.*;

/** lfosa-select: LfOSA over a pool extracted with a (K+1)-way detector model (last class: unknown). */
final class LfosaSelectCommand implements Command {
    @Override
    public String name() { return LFOSA_SELECT; }

    @Override
    public String summary() { return "LfOSA selection over pool features of a (K+1)-way detector (last class: unknown)"; }

    @Override
    public Job prepare(JobSettings s) {
        int q = s.get(Q);
        String poolDir = s.require(POOL_FEATURES, LFOSA_SELECT);
        String output = s.require(OUTPUT, LFOSA_SELECT);
        return (spark, out) -> {
            Dataset<Row> features = spark.read().parquet(poolDir);
            long n = AtomicOutput.write(output, spark.sparkContext().hadoopConfiguration(), staged -> {
                Dataset<Row> sel = LfosaSelection.select(spark, features, q);
                sel.coalesce(1).write().mode(SaveMode.ErrorIfExists).parquet(staged.staged("selection"));
                sel.coalesce(1).write().mode(SaveMode.ErrorIfExists).option("header", "true")
                        .csv(staged.staged("selection-csv"));
                return spark.read().parquet(staged.staged("selection")).count();
            });
            out.printf(Locale.ROOT, "sisom lfosa-select: %d selected (q=%d) -> %s/selection%n", n, q, output);
            return 0;
        };
    }
}

package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.jobs.settings.Options;
import ai.sisom.spark.ImageSources;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.storage.StorageLevel;

import java.util.List;

import static ai.sisom.jobs.settings.Settings.*;
import static org.apache.spark.sql.functions.col;

/** import: copies an image tree or manifest into Parquet (id, image[, label]). */
final class ImportCommand implements Command {
    @Override
    public String name() { return IMPORT; }

    @Override
    public String summary() { return "copy an image directory or manifest into Parquet (id, image[, label])"; }

    @Override
    public Job prepare(JobSettings s) {
        var input = Options.Input.pool(s, IMPORT);
        var source = Options.source(s, s.get(INPUT_LABELED));
        String output = s.require(OUTPUT, IMPORT);
        return (spark, out) -> {
            Dataset<Row> images = ImageSources.read(spark, input.format(), input.path(), source)
                    .persist(StorageLevel.MEMORY_AND_DISK());
            try {
                long n = AtomicOutput.write(output, spark.sparkContext().hadoopConfiguration(), staged -> {
                    long bad = images.filter(col(ImageSources.SOURCE_ERROR).isNotNull()).count();
                    if (bad > 0) {
                        List<Row> examples = images.filter(col(ImageSources.SOURCE_ERROR).isNotNull())
                                .select(ImageSources.ID, ImageSources.SOURCE_ERROR).limit(5).collectAsList();
                        throw new IllegalArgumentException(bad + " input rows could not be read, e.g. " + examples);
                    }
                    // one file in id order: imports are sample and labeled sets, read back whole
                    Dataset<Row> rows = images.drop(ImageSources.SOURCE_ERROR).orderBy(ImageSources.ID);
                    rows.coalesce(1).write().mode(SaveMode.ErrorIfExists).parquet(staged.staged("data"));
                    return spark.read().parquet(staged.staged("data")).count();
                });
                out.println("sisom import: " + n + " images -> " + output + "/data");
                return 0;
            } finally {
                images.unpersist();
            }
        };
    }
}

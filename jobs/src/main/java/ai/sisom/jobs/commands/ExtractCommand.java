package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.jobs.settings.Options;
import ai.sisom.spark.ImageSources;

import java.util.Locale;

import static ai.sisom.jobs.settings.Settings.*;

/** extract: runs the model over a pool (or labeled set) and writes its feature table and rejections. */
final class ExtractCommand implements Command {
    @Override
    public String name() { return EXTRACT; }

    @Override
    public String summary() { return "run the model over a pool and write its feature table (Parquet) and rejections"; }

    @Override
    public Job prepare(JobSettings s) {
        var extraction = Options.extraction(s, EXTRACT);
        var input = Options.Input.pool(s, EXTRACT);
        var source = Options.source(s, s.get(INPUT_LABELED));
        String output = s.require(OUTPUT, EXTRACT);
        String partitionColumn = s.get(INPUT_PARTITION_COLUMN);
        return (spark, out) -> {
            long t0 = System.nanoTime();
            var images = ImageSources.read(spark, input.format(), input.path(), source);
            ExtractStep.Counts c = AtomicOutput.write(output, spark.sparkContext().hadoopConfiguration(),
                    staged -> ExtractStep.into(spark, images, extraction, staged, partitionColumn));
            double secs = (System.nanoTime() - t0) / 1e9;
            long total = c.scored() + c.rejected();
            out.printf(Locale.ROOT, "sisom extract: %d items, %d scored, %d rejected, %.1f s (%.1f items/s)%n",
                    total, c.scored(), c.rejected(), secs, total / secs);
            ExtractStep.printRejections(out, c.reasons());
            out.println("  features:   " + output + "/features");
            out.println("  rejections: " + output + "/rejections");
            return 0;
        };
    }
}

package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.JsonFiles;
import ai.sisom.jobs.output.OutputTables;
import ai.sisom.jobs.output.LabelingExport;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.jobs.settings.Options;
import ai.sisom.reference.SisomReference;
import ai.sisom.spark.ImageSources;
import ai.sisom.spark.ReferenceIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.Locale;

import static ai.sisom.jobs.settings.Settings.*;

/** score: pool features + reference -> scores, selection, summary, report. */
final class ScoreCommand implements Command {
    @Override
    public String name() { return SCORE_COMMAND; }

    @Override
    public String summary() { return "pool features + reference -> score table, selection, summary"; }

    @Override
    public Job prepare(JobSettings s) {
        String referenceDir = s.require(REFERENCE, SCORE_COMMAND);
        String poolDir = s.require(POOL_FEATURES, SCORE_COMMAND);
        String output = s.require(OUTPUT, SCORE_COMMAND);
        var scoring = Options.Scoring.forScore(s);
        var report = Options.Report.from(s);
        var labeling = Options.Labeling.from(s);
        var tables = OutputTables.from(s);
        // the feature table holds no images: thumbnails only when the pool's images are named
        var images = s.isSet(INPUT_PATH) ? Options.Input.pool(s, SCORE_COMMAND) : null;
        var source = Options.source(s, false);
        return (spark, out) -> {
            long t0 = System.nanoTime();
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            SisomReference ref = ReferenceIO.read(referenceDir, hc);
            ScoreStep.checkCompatible(ref, ScoreStep.featureModel(poolDir, hc));
            scoring.checkAgainst(ref.classNames());
            ScoreStep.Summary summary;
            try (ScoreStep.Deduplicated features = ScoreStep.deduplicate(spark.read().parquet(poolDir))) {
                summary = AtomicOutput.write(output, hc, staged -> {
                    ScoreStep.Summary sum = ScoreStep.into(spark, features.unique(), ref, scoring, staged);
                    ScoreStep.writeDuplicates(features, staged, sum.json());
                    JsonFiles.write(sum.json(), staged.staged("summary.json"), hc);
                    Dataset<Row> thumbs = images == null ? null : ImageSources.read(spark, images.format(),
                            images.path(), source).select(ImageSources.ID, ImageSources.IMAGE);
                    if (report.enabled()) {
                        ScoreStep.writeReport(spark, report, staged, thumbs, sum.json());
                    }
                    if (labeling.enabled()) {
                        LabelingExport.writeStaged(spark, staged, output, thumbs, ref.classNames(),
                                (String) sum.json().get("score"), labeling.imageUri(), out);
                    }
                    tables.write(spark, staged, out);
                    return sum;
                });
            }
            out.printf(Locale.ROOT, "sisom score: %.1f s%n", (System.nanoTime() - t0) / 1e9);
            ScoreStep.printDuplicates(out, summary.json());
            ScoreStep.print(out, summary, output, report);
            return 0;
        };
    }
}

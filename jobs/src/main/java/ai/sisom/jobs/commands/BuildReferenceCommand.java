package ai.sisom.jobs.commands;

import ai.sisom.jobs.output.AtomicOutput;
import ai.sisom.jobs.output.JsonFiles;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.jobs.settings.Options;
import ai.sisom.reference.SisomReference;
import ai.sisom.spark.ReferenceIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import static ai.sisom.jobs.settings.Settings.*;

/** build-reference: labeled features -> reference artifact (METHOD.md sections 2-7). */
final class BuildReferenceCommand implements Command {
    @Override
    public String name() { return BUILD_REFERENCE; }

    @Override
    public String summary() { return "labeled features -> reference artifact (r_avg, sigma_r, mu_E, sigma_E, R)"; }

    @Override
    public Job prepare(JobSettings s) {
        var options = Options.Reference.from(s, BUILD_REFERENCE);
        String labeled = s.require(LABELED_FEATURES, BUILD_REFERENCE);
        String reference = s.require(REFERENCE, BUILD_REFERENCE);
        return (spark, out) -> {
            var hc = spark.sparkContext().hadoopConfiguration();
            String model = JsonFiles.readText(new Path(new Path(labeled).getParent(),
                    ExtractStep.MODEL_FINGERPRINT).toString(), hc);
            Fingerprints.Listing features = Fingerprints.listing(labeled, true, hc);
            Map<String, String> from = new LinkedHashMap<>();
            from.put("model", model == null ? "not recorded beside the features" : model);
            from.put("labeledFeatures", features.files() + " files " + features.digest());
            from.putAll(options.describe());
            build(spark, options, labeled, reference, from, out);
            return 0;
        };
    }

    /**
     * Builds the reference from a labeled feature table, records what it was built from, writes it atomically to
     * {@code referenceDir}, prints it.
     */
    static SisomReference build(SparkSession spark, Options.Reference options, String labeledFeatures,
                                String referenceDir, Map<String, String> builtFrom, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        // the model.json beside the features must be there and valid
        options.checkAgainst(ScoreStep.featureModel(labeledFeatures, hc).classNames());
        // the model.json extract stored beside the features carries the final linear layer the post-hoc scorers need
        String modelJson = new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(labeledFeatures).getParent(),
                "model.json").toString();
        SisomReference ref = options.estimator().setModelPath(modelJson).fit(spark.read().parquet(labeledFeatures))
                .reference().withBuiltFrom(builtFrom);
        AtomicOutput.write(referenceDir, hc, staged -> {
            ReferenceIO.write(ref, staged.stagingDir().toString(), hc);
            return null;
        });
        var st = ref.stats();
        out.printf(Locale.ROOT, "sisom build-reference: %d labeled samples, %d reference points, steepness %s, d_out %s%n",
                st.n(), ref.set().size(), ref.steepness(), ref.variant().name().toLowerCase(Locale.ROOT));
        out.printf(Locale.ROOT, "  r_avg %.6f  sigma_r %.6f  mu_E %.6f  sigma_E %.6f  (leave-one-out, true labels)%n",
                st.rAvg(), st.sigmaR(), st.muE(), st.sigmaE());
        if (st.dOutZero() > 0) {
            out.printf(Locale.ROOT, "  %d labeled samples had d_out = 0 (r set to 1e-6)%n", st.dOutZero());
        }
        out.printf(Locale.ROOT, "  ood threshold: %s%n", ref.ood().describe());
        ref.ood().candidates().forEach(c -> out.printf(Locale.ROOT, "    metric %-6s Youden's J %.4f, AUROC %.4f%s%n",
                c.metric().label(), c.youdenJ(), c.auroc(), c.metric() == ref.ood().metric() ? "  (chosen)" : ""));
        out.printf(Locale.ROOT, "  written to %s (%.1f s)%n", referenceDir, (System.nanoTime() - t0) / 1e9);
        return ref;
    }
}

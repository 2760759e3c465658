package ai.sisom.jobs.settings;

import ai.sisom.ml.SisomEstimator;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.reference.DOutVariant;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.Fusion;
import ai.sisom.spark.FeatureExtraction;
import ai.sisom.spark.ImageSources;
import ai.sisom.spark.TaskGpus;

import static ai.sisom.jobs.settings.Settings.*;

/** The typed options the commands work with, each made once from the parsed settings. */
public final class Options {
    private Options() {}

    /** The model, resize policy, and how feature extraction feeds the CPU or the task's GPU. */
    public static FeatureExtraction.Settings extraction(JobSettings s, String command) {
        return new FeatureExtraction.Settings(s.require(MODEL, command), s.get(BATCH_SIZE), s.get(RESIZE),
                s.get(GPU_BATCH_SIZE), s.get(DECODE_THREADS), s.get(GPU_DECODE_THREADS),
                TaskGpus.binding(s.get(GPU_CPU_FALLBACK)));
    }

    /** Column names of Parquet and manifest inputs; {@code labeled} requires a label. */
    public static ImageSources.Options source(JobSettings s, boolean labeled) {
        ImageSources.Options o = new ImageSources.Options();
        o.idColumn = s.get(INPUT_ID_COLUMN);
        o.imageColumn = s.get(INPUT_IMAGE_COLUMN);
        o.labelColumn = s.get(INPUT_LABEL_COLUMN);
        o.labeled = labeled;
        return o;
    }

    /** Where a set of images is and in what format. */
    public record Input(String path, ImageSources.SourceFormat format) {
        public static Input pool(JobSettings s, String command) {
            return new Input(s.require(INPUT_PATH, command), s.require(INPUT_FORMAT, command));
        }

        public static Input labeled(JobSettings s, String command) {
            return new Input(s.require(LABELED_PATH, command), s.require(LABELED_FORMAT, command));
        }
    }

    /** How the reference is built (METHOD.md 2, 6, 7). */
    public record Reference(String steepness, DOutVariant dOut, Double subsetDelta, Integer subsetSize) {
        public static Reference from(JobSettings s, String command) {
            return new Reference(s.require(STEEPNESS, command), s.get(D_OUT), s.get(SUBSET_DELTA), s.get(SUBSET_SIZE));
        }

        /** The settings as a reference records them (what it was built from), by name. */
        public java.util.Map<String, String> describe() {
            java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
            m.put("steepness", steepness);
            m.put("dOut", dOut.name().toLowerCase(java.util.Locale.ROOT));
            m.put("subset", subsetDelta == null ? "none" : "delta " + subsetDelta + ", size " + subsetSize);
            return m;
        }

        /** The Spark ML estimator that builds it; feature tables written by extract call the label column label. */
        public SisomEstimator estimator() {
            SisomEstimator e = new SisomEstimator().setSteepness(steepness).setDOutVariant(dOut)
                    .setLabelCol(ImageSources.LABEL);
            return subsetDelta == null ? e : e.setSubset(subsetDelta, subsetSize);
        }
    }

    /** The score that ranks, the selection and its size. */
    public record Scoring(Fusion fusion, int q, SelectionMode selection, int candidateFactor) {
        public static Scoring from(JobSettings s) {
            return new Scoring(new Fusion(s.get(SCORE), s.get(LAMBDA)), s.get(Q), s.get(SELECTION),
                    s.get(GREEDY_CANDIDATE_FACTOR));
        }

        /** The Spark ML model that scores with these options. */
        public SisomScoringModel model(SisomReference ref) {
            SisomScoringModel m = SisomScoringModel.of(ref).setScore(fusion.score()).setQ(q);
            return fusion.fixedLambda() != null ? m.setLambda(fusion.fixedLambda()) : m;
        }
    }

    /** Whether to write report.html and how many of the most out-of-distribution samples it shows. */
    public record Report(boolean enabled, int ood) {
        public static Report from(JobSettings s) {
            return new Report(s.get(REPORT), s.get(REPORT_OOD));
        }
    }

    /** Whether to export the selection for labeling tools, and the image URI prefix they read it under. */
    public record Labeling(boolean enabled, String imageUri) {
        public static Labeling from(JobSettings s) {
            return new Labeling(s.get(LABELING), s.get(LABELING_IMAGE_URI));
        }
    }

    /** The catalog tables the score table and the selection are also written to (none by default). */
    public static ai.sisom.jobs.output.OutputTables tables(JobSettings s) {
        return new ai.sisom.jobs.output.OutputTables(s.get(OUTPUT_SCORES_TABLE), s.get(OUTPUT_SELECTION_TABLE),
                s.get(OUTPUT_TABLE_FORMAT));
    }
}

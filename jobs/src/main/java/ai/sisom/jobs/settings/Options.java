package ai.sisom.jobs.settings;

import ai.sisom.ml.SisomEstimator;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.ood.OodCalibration;
import ai.sisom.reference.DOutVariant;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.Fusion;
import ai.sisom.selection.ClassBalance;
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

    /** How the reference is built (METHOD.md 2, 6, 7) and its OOD threshold calibrated (METHOD.md 10). */
    public record Reference(String steepness, DOutVariant dOut, Double subsetDelta, Integer subsetSize,
                            java.util.List<String> unknownLabels, OodCalibration.Spec ood) {
        public static Reference from(JobSettings s, String command) {
            ThresholdSetting t = s.get(OOD_THRESHOLD);
            java.util.List<String> unknown = s.get(UNKNOWN_LABELS);
            if (t.mode() == OodCalibration.Mode.YOUDEN && unknown.isEmpty()) {
                throw new SettingsException("sisom.ood.threshold=youden needs labeled unknowns: name their label "
                        + "values with sisom.labeled.unknownLabels (e.g. sisom.labeled.unknownLabels=unknown)");
            }
            if (t.fixed() && s.get(OOD_METRIC) == OodCalibration.MetricChoice.AUTO) {
                throw new SettingsException("a fixed sisom.ood.threshold (" + t.value() + ") needs a named "
                        + "sisom.ood.metric, not auto");
            }
            OodCalibration.Spec spec = new OodCalibration.Spec(t.fixed() ? OodCalibration.Mode.AUTO : t.mode(),
                    t.value(), s.get(OOD_METRIC), s.get(OOD_KEEP_SHARE), new Fusion(s.get(SCORE), s.get(LAMBDA)));
            return new Reference(s.require(STEEPNESS, command), s.get(D_OUT), s.get(SUBSET_DELTA), s.get(SUBSET_SIZE),
                    unknown, spec);
        }

        /** The settings as a reference records them (what it was built from), by name. */
        public java.util.Map<String, String> describe() {
            java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
            m.put("steepness", steepness);
            m.put("dOut", dOut.name().toLowerCase(java.util.Locale.ROOT));
            m.put("subset", subsetDelta == null ? "none" : "delta " + subsetDelta + ", size " + subsetSize);
            m.put("unknownLabels", String.join(",", unknownLabels));
            m.put("oodThreshold", ood.requested() + ", keep share " + ood.keepShare());
            return m;
        }

        /** The Spark ML estimator that builds it; feature tables written by extract call the label column label. */
        public SisomEstimator estimator() {
            SisomEstimator e = new SisomEstimator().setSteepness(steepness).setDOutVariant(dOut)
                    .setLabelCol(ImageSources.LABEL)
                    .setUnknownLabels(unknownLabels.toArray(new String[0]))
                    .setScore(ood.fusion().score().name().toLowerCase(java.util.Locale.ROOT))
                    .setLambda(ood.fusion().fixedLambda() == null ? -1 : ood.fusion().fixedLambda())
                    .setOodThresholdMode(ood.mode().label())
                    .setOodThreshold(ood.fixedValue() == null ? Double.NaN : ood.fixedValue())
                    .setOodMetric(ood.metric().label())
                    .setOodKeepShare(ood.keepShare());
            return subsetDelta == null ? e : e.setSubset(subsetDelta, subsetSize);
        }

        /** Checks what needs the model's classes, before any work: unknown labels must not be class names. */
        public void checkAgainst(java.util.List<String> classNames) {
            java.util.Set<String> clash = new java.util.TreeSet<>(unknownLabels);
            clash.retainAll(classNames);
            if (!clash.isEmpty()) {
                throw new SettingsException("sisom.labeled.unknownLabels names " + clash + ", which are classes of the "
                        + "model " + classNames + ": a sample labeled so would be both a class sample and an unknown");
            }
        }
    }

    /**
     * The score that ranks, the selection and its size, the OOD gate (with a fixed threshold overriding the
     * reference's, or null) and the class balance of the queue.
     */
    public record Scoring(Fusion fusion, int q, SelectionMode selection, int candidateFactor, boolean gate,
                          Double thresholdOverride, ClassBalance.Mode balance, String prior,
                          java.util.List<String> extraScores, long seed) {
        /**
         * The options of {@code run}: a fixed sisom.ood.threshold goes into the reference it builds and overrides
         * the one of a reference it reuses.
         */
        public static Scoring from(JobSettings s) {
            return from(s, s.get(OOD_THRESHOLD).value());
        }

        /** The options of {@code score}: sisom.ood.threshold can only be a value, which overrides the reference's. */
        public static Scoring forScore(JobSettings s) {
            ThresholdSetting t = s.get(OOD_THRESHOLD);
            if (s.isSet(OOD_THRESHOLD) && !t.fixed() && t.mode() != OodCalibration.Mode.AUTO) {
                throw new SettingsException("sisom.ood.threshold=" + t.mode().label() + " calibrates on the labeled "
                        + "set, which score does not read: give it to build-reference (or run); score takes a number, "
                        + "a fixed threshold on the reference's OOD metric");
            }
            return from(s, t.value());
        }

        private static Scoring from(JobSettings s, Double override) {
            ClassBalance.Mode b = s.get(CLASS_BALANCE);
            String prior = s.get(CLASS_PRIOR);
            if (b == ClassBalance.Mode.PRIOR && prior == null) {
                throw new SettingsException("sisom.queue.classBalance=prior needs sisom.queue.classPrior "
                        + "(class:weight,... by class name)");
            }
            if (b != ClassBalance.Mode.PRIOR && prior != null) {
                throw new SettingsException("sisom.queue.classPrior is set but sisom.queue.classBalance is "
                        + b.label() + ": set sisom.queue.classBalance=prior to balance the queue by it");
            }
            java.util.List<String> extra = s.get(EXTRA_SCORES);
            for (String m : extra) {
                try {
                    ai.sisom.posthoc.PosthocMethod.parse(m);
                } catch (IllegalArgumentException e) {
                    throw new SettingsException("sisom.scores.extra: " + e.getMessage());
                }
            }
            Fusion fusion = new Fusion(s.get(SCORE), s.get(LAMBDA));
            SelectionMode sel = s.get(SELECTION);
            if ((sel == SelectionMode.CORESET || sel == SelectionMode.BADGE) && b != ClassBalance.Mode.NONE) {
                throw new SettingsException("sisom.selection=" + sel.name().toLowerCase(java.util.Locale.ROOT)
                        + " picks for diversity, not by class quotas: sisom.queue.classBalance must be none with it");
            }
            if (s.get(SELECTION) == SelectionMode.GREEDY && fusion.score().posthoc() != null) {
                throw new SettingsException("sisom.selection=greedy updates SISOM's distances as it picks, so it ranks "
                        + "by sisom.score=sisom or sisome, not " + fusion.score().label() + ": use sisom.selection=topq "
                        + "with a post-hoc score");
            }
            return new Scoring(fusion, s.get(Q), s.get(SELECTION),
                    s.get(GREEDY_CANDIDATE_FACTOR), s.get(OOD_GATE), override, b, prior, extra, s.get(SELECTION_SEED));
        }

        /** The Spark ML model that scores with these options; its output is the score table (no feature arrays). */
        public SisomScoringModel model(SisomReference ref) {
            SisomScoringModel m = SisomScoringModel.of(ref).setKeepFeatureArrays(false).setScore(fusion.score())
                    .setExtraScores(extraScores.toArray(new String[0])).setQ(q).setOodGate(gate)
                    .setClassBalance(balance.label()).setClassPrior(prior == null ? "" : prior);
            if (thresholdOverride != null) {
                m.setOodThreshold(thresholdOverride);
            }
            return fusion.fixedLambda() != null ? m.setLambda(fusion.fixedLambda()) : m;
        }

        /** Checks what needs the model's classes before any work: the prior's class names. */
        public void checkAgainst(java.util.List<String> classNames) {
            if (balance == ClassBalance.Mode.PRIOR) {
                try {
                    ClassBalance.prior(prior, classNames);
                } catch (IllegalArgumentException e) {
                    throw new SettingsException(e.getMessage());
                }
            }
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
}

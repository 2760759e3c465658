package ai.sisom.jobs.settings;

import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.DeviceBinding;
import ai.sisom.ood.OodCalibration;
import ai.sisom.reference.DOutVariant;
import ai.sisom.reference.SteepnessSpec;
import ai.sisom.scoring.Fusion;
import ai.sisom.selection.ClassBalance;
import ai.sisom.spark.ImageSources;

import java.util.List;

/**
 * The registry of every {@code sisom.*} setting: key, values, default, what it means, which commands read it.
 * {@code --help} and the README's settings table are made from this list, so they cannot drift from the code.
 */
public final class Settings {
    private Settings() {}

    public static final String EXTRACT = "extract";
    public static final String IMPORT = "import";
    public static final String BUILD_REFERENCE = "build-reference";
    public static final String SCORE_COMMAND = "score";
    public static final String RUN = "run";
    public static final String LFOSA_SELECT = "lfosa-select";

    private static final String FORMATS = "parquet | images | manifest | table | a Spark data source";

    public static final Setting<String> MODEL = Setting.text("sisom.model", "path", null,
            "the exported TorchScript model `.pt` (its `.json` beside it): local, `hdfs://` or `s3a://`; executors "
                    + "read it from there, so on a cluster it must be on storage every node reaches", EXTRACT, RUN);
    public static final Setting<String> INPUT_PATH = Setting.text("sisom.input.path", "path", null,
            "the pool (or, for `extract` with `sisom.input.labeled=true`, a labeled set); `score`: the pool's images, "
                    + "for the report's thumbnails", EXTRACT, IMPORT, RUN, SCORE_COMMAND);
    public static final Setting<ImageSources.SourceFormat> INPUT_FORMAT = Setting.parsed("sisom.input.format",
            FORMATS, null, ImageSources.SourceFormat::parse, "the pool's format: `table` reads the metastore table "
                    + "that `sisom.input.path` names (`lake.pool`); any other name is a Spark data source (`delta`, "
                    + "`iceberg`, `orc`, `avro`, ...: `spark.read.format(name).load(path)`), read like Parquet",
            EXTRACT, IMPORT, RUN, SCORE_COMMAND);
    public static final Setting<Boolean> INPUT_LABELED = Setting.flag("sisom.input.labeled", false,
            "`extract`, `import`: the input is a labeled set (a label column, or one folder per class for `images`)",
            EXTRACT, IMPORT);
    public static final Setting<String> INPUT_ID_COLUMN = Setting.text("sisom.input.idColumn", "column", ImageSources.ID,
            "the id column of Parquet and manifest inputs", EXTRACT, IMPORT, RUN, SCORE_COMMAND);
    public static final Setting<String> INPUT_IMAGE_COLUMN = Setting.text("sisom.input.imageColumn", "column",
            ImageSources.IMAGE, "the image-bytes column of Parquet inputs", EXTRACT, IMPORT, RUN, SCORE_COMMAND);
    public static final Setting<String> INPUT_LABEL_COLUMN = Setting.text("sisom.input.labelColumn", "column",
            ImageSources.LABEL, "the label column of labeled Parquet and manifest inputs (it is called `label` in the "
                    + "feature tables)", EXTRACT, IMPORT, RUN);
    public static final Setting<String> INPUT_PARTITION_COLUMN = Setting.text("sisom.input.partitionColumn", "column",
            null, "the pool's Hive-style partition column (`date=2026-11-23/`): `run` extracts only partitions whose "
                    + "files it has not extracted yet; `extract` writes partitioned by it", EXTRACT, RUN);
    public static final Setting<String> LABELED_PATH = Setting.text("sisom.labeled.path", "path", null,
            "the labeled set (with a label column, or one folder per class for `images`)", RUN);
    public static final Setting<ImageSources.SourceFormat> LABELED_FORMAT = Setting.parsed("sisom.labeled.format",
            FORMATS, null, ImageSources.SourceFormat::parse, "the labeled set's format (as `sisom.input.format`)", RUN);
    public static final Setting<Integer> BATCH_SIZE = Setting.integer("sisom.batchSize", 64, 1,
            "images per network batch on the CPU", EXTRACT, RUN);
    public static final Setting<Integer> DECODE_THREADS = Setting.integer("sisom.decodeThreads", 1, 0,
            "threads per task that decode the next batch while the network runs the current one, on the CPU; "
                    + "0 decodes in the task's thread between forwards", EXTRACT, RUN);
    public static final Setting<Integer> GPU_BATCH_SIZE = Setting.integer("sisom.gpu.batchSize", 512, 1,
            "images per network batch for a task on a GPU (`spark.task.resource.gpu.amount`; docs/gpu.md)",
            EXTRACT, RUN);
    public static final Setting<Integer> GPU_DECODE_THREADS = Setting.integer("sisom.gpu.decodeThreads", 4, 0,
            "`sisom.decodeThreads` for a task on a GPU: give the task that many cores (`spark.task.cpus`)",
            EXTRACT, RUN);
    public static final Setting<Boolean> GPU_CPU_FALLBACK = Setting.flag(DeviceBinding.FALLBACK_SETTING, false,
            "a task assigned a GPU that the executor's PyTorch natives cannot use (the CPU-only jar, no driver): "
                    + "`false` fails it, saying what to change; `true` runs it on the CPU with a warning", EXTRACT, RUN);
    public static final Setting<ImagePreprocessor.Resize> RESIZE = Setting.choice("sisom.resize",
            ImagePreprocessor.Resize.class, ImagePreprocessor.Resize.NONE,
            "an image of another size than the model's input: `none` rejects it, naming it; `bilinear` resizes it "
                    + "(libtorch, as torchvision's tensor `Resize` without antialiasing)", EXTRACT, RUN);
    public static final Setting<Integer> PROGRESS_SECONDS = Setting.integer("sisom.progressSeconds", 30, 1,
            "how often running stages log `progress: stage N (...): done/total tasks, items, items/s, about T s left`",
            EXTRACT, IMPORT, BUILD_REFERENCE, SCORE_COMMAND, RUN, LFOSA_SELECT);
    public static final Setting<String> OUTPUT = Setting.text("sisom.output", "path", null,
            "the result directory, replaced atomically on success", EXTRACT, IMPORT, SCORE_COMMAND, RUN, LFOSA_SELECT);
    public static final Setting<String> WORK = Setting.text("sisom.work", "path", null,
            "`run`: working state (features per partition, reference)", RUN);
    public static final Setting<String> LABELED_FEATURES = Setting.text("sisom.labeled.features", "path", null,
            "labeled feature table written by `extract` with `sisom.input.labeled=true` (`.../features`)",
            BUILD_REFERENCE);
    public static final Setting<String> POOL_FEATURES = Setting.text("sisom.pool.features", "path", null,
            "pool feature table written by `extract` (`.../features`)", SCORE_COMMAND, LFOSA_SELECT);
    public static final Setting<String> REFERENCE = Setting.text("sisom.reference", "path", null,
            "the reference artifact directory (`run`: default `WORK/reference`)", BUILD_REFERENCE, SCORE_COMMAND, RUN);
    public static final Setting<Boolean> REBUILD_REFERENCE = Setting.flag("sisom.rebuildReference", false,
            "`run`: rebuild the reference from the labeled set even when one exists", RUN);
    public static final Setting<String> STEEPNESS = Setting.text("sisom.steepness", "layer:value,...", null, v -> {
        SteepnessSpec.parse(v);
        return v;
    }, "sigmoid steepness per layer, by name: `layer1:0.05,layer2:1,layer3:10,avgpool:50`; `layer3:1|10|1000` gives "
            + "a grid, and the reference build keeps the combination with the lowest leave-one-out r_avg (METHOD.md 7)",
            BUILD_REFERENCE, RUN);
    public static final Setting<DOutVariant> D_OUT = Setting.choice("sisom.dOut", DOutVariant.class, DOutVariant.SAMPLE,
            "`sample`: the paper's equation and the authors' AL code; `anchor`: the authors' OOD code, precomputed per "
                    + "reference point and stored in the artifact", BUILD_REFERENCE, RUN);
    public static final Setting<Double> SUBSET_DELTA = Setting.number("sisom.subset.delta", null, 0, true,
            Double.POSITIVE_INFINITY, "class-wise ProbCover reference subset: ball radius on penultimate features "
                    + "(with `sisom.subset.size`; METHOD.md 6); r_avg still runs over every labeled sample",
            BUILD_REFERENCE, RUN);
    public static final Setting<Integer> SUBSET_SIZE = Setting.integer("sisom.subset.size", null, 1,
            "class-wise ProbCover reference subset: its size (with `sisom.subset.delta`)", BUILD_REFERENCE, RUN);
    public static final Setting<Fusion.Score> SCORE = Setting.choice("sisom.score", Fusion.Score.class,
            Fusion.Score.SISOME, "the score the queue ranks by: `sisome`, `sisom`, or a post-hoc score computed in the "
                    + "same pass (`msp`, `maxlogit`, `energy`, `gen`, `entropy`, `margin`, `knn`, `mahalanobis`, "
                    + "`react`, `ash`, `vim`; OpenOOD's defaults, docs/evaluation.md); sisom and sisome are always in "
                    + "the score table (`build-reference`: what `sisom.ood.metric=score` means)",
            BUILD_REFERENCE, SCORE_COMMAND, RUN);
    public static final Setting<List<String>> EXTRA_SCORES = Setting.list("sisom.scores.extra", "method,...",
            "post-hoc scores written beside the ranking one, one `ood_score_<method>` column each (higher = more "
                    + "in-distribution, OpenOOD's convention); the methods of `sisom.score` but sisom and sisome",
            SCORE_COMMAND, RUN);
    public static final Setting<Double> LAMBDA = Setting.number("sisom.lambda", null, 0, false, 1,
            "a fixed fusion weight instead of r_avg (the authors used 0.1 on CIFAR-100)", BUILD_REFERENCE,
            SCORE_COMMAND, RUN);
    public static final Setting<Integer> Q = Setting.integer("sisom.q", 100, 0, "selection size",
            SCORE_COMMAND, RUN, LFOSA_SELECT);
    public static final Setting<SelectionMode> SELECTION = Setting.choice("sisom.selection", SelectionMode.class,
            SelectionMode.TOPQ, "`topq`; `greedy` batch-diverse SISOM (needs `sisom.dOut=sample` and `sisom.score` "
                    + "sisom or sisome); `coreset` (k-center greedy on penultimate features from the labeled set); "
                    + "`badge` (k-means++ on gradient embeddings): the last three over the top candidates by score, "
                    + "behind the OOD gate", SCORE_COMMAND, RUN);
    public static final Setting<Integer> GREEDY_CANDIDATE_FACTOR = Setting.integer("sisom.greedy.candidateFactor", 10, 1,
            "greedy, coreset, badge: how many top candidates by score per selected sample they consider", SCORE_COMMAND,
            RUN);
    public static final Setting<Integer> SELECTION_SEED = Setting.integer("sisom.selection.seed", 0, 0,
            "badge: the seed of its k-means++ draws (the same scores and seed give the same queue)", SCORE_COMMAND, RUN);
    public static final Setting<Boolean> REPORT = Setting.flag("sisom.report", true,
            "write `report.html`; `score` shows thumbnails when `sisom.input.path`/`sisom.input.format` name the "
                    + "pool's images", SCORE_COMMAND, RUN);
    public static final Setting<Integer> REPORT_OOD = Setting.integer("sisom.report.ood", 24, 0,
            "how many of the flagged samples (most out-of-distribution first) the report shows", SCORE_COMMAND, RUN);

    // ---- the open-world queue (METHOD.md 10, docs/open-world.md) ----
    public static final Setting<List<String>> UNKNOWN_LABELS = Setting.list("sisom.labeled.unknownLabels", "label,...",
            "label values that mark a labeled sample as not one of the model's classes (annotators' rejects): such "
                    + "samples calibrate the OOD threshold and never enter the reference; any other label that is not a "
                    + "class stays an error", BUILD_REFERENCE, RUN);
    public static final Setting<ThresholdSetting> OOD_THRESHOLD = Setting.parsed("sisom.ood.threshold",
            "auto | youden | keep | number", ThresholdSetting.AUTO, "auto", ThresholdSetting::parse,
            "the OOD threshold, from the labeled set only: `youden` maximises Youden's J on labeled unknowns against "
                    + "labeled in-distribution samples (leave-one-out); `keep` keeps `sisom.ood.keepShare` of the "
                    + "labeled in-distribution samples; `auto`: youden when there are labeled unknowns, keep otherwise; "
                    + "a number is a fixed threshold, on `sisom.ood.metric` when the reference is built; given to "
                    + "`score`, or to a `run` that reuses its reference, it replaces the reference's value on the "
                    + "reference's metric",
            BUILD_REFERENCE, RUN, SCORE_COMMAND);
    public static final Setting<OodCalibration.MetricChoice> OOD_METRIC = Setting.choice("sisom.ood.metric",
            OodCalibration.MetricChoice.class, OodCalibration.MetricChoice.AUTO,
            "what the OOD threshold is on, higher = more out-of-distribution: `score` (the one `sisom.score` names), "
                    + "`sisom`, `sisome`, `energy`, `ratio` (r), `ab` (d_in + d_out), a post-hoc score negated (`vim`, "
                    + "`knn`, `mahalanobis`, ... as for `sisom.score`); `auto`: with labeled unknowns, the one of "
                    + "largest Youden's J on them (ties: the score), without them the score",
            BUILD_REFERENCE, RUN);
    public static final Setting<Double> OOD_KEEP_SHARE = Setting.number("sisom.ood.keepShare",
            OodCalibration.Spec.DEFAULT_KEEP_SHARE, 0, true, 1, true,
            "`keep` (and `auto` without labeled unknowns): the share of labeled in-distribution samples, scored "
                    + "leave-one-out, the threshold keeps", BUILD_REFERENCE, RUN);
    public static final Setting<Boolean> OOD_GATE = Setting.flag("sisom.ood.gate", true,
            "the queue (`selection/`) leaves out the samples the OOD threshold flags; they are listed in `ood/` "
                    + "either way", SCORE_COMMAND, RUN);
    public static final Setting<ClassBalance.Mode> CLASS_BALANCE = Setting.choice("sisom.queue.classBalance",
            ClassBalance.Mode.class, ClassBalance.Mode.NONE,
            "quotas per pseudo-class in the queue, each filled by score: `equal`, or `prior` (proportional to "
                    + "`sisom.queue.classPrior`)", SCORE_COMMAND, RUN);
    public static final Setting<String> CLASS_PRIOR = Setting.text("sisom.queue.classPrior", "class:weight,...", null,
            "`sisom.queue.classBalance=prior`: the weights, by class name (classes not named get none)",
            SCORE_COMMAND, RUN);
    public static final Setting<Boolean> LABELING = Setting.flag("sisom.labeling", true,
            "write `labeling/`: the selected images as files, a Label Studio tasks file (the pseudo-label as a prediction, "
                    + "score and distances as metadata) with its labeling config, a CVAT manifest and the pseudo-labels as "
                    + "CVAT-for-images tags; `score` exports when `sisom.input.path`/`sisom.input.format` name the pool's "
                    + "images", SCORE_COMMAND, RUN);
    public static final Setting<String> LABELING_IMAGE_URI = Setting.text("sisom.labeling.imageUri", "URI prefix", null,
            "where the labeling tool reads `labeling/images/` (`s3://bucket/...`, `/data/local-files/?d=...`); default: "
                    + "the output's own location, `s3a://` written as `s3://`", SCORE_COMMAND, RUN);
    public static final Setting<String> OUTPUT_SCORES_TABLE = Setting.text("sisom.output.scoresTable", "table", null,
            "also write the score table as this catalog table (`lake.sisom_scores`), replaced by every run",
            SCORE_COMMAND, RUN);
    public static final Setting<String> OUTPUT_SELECTION_TABLE = Setting.text("sisom.output.selectionTable", "table",
            null, "also write the selection as this catalog table (`lake.sisom_queue`), replaced by every run",
            SCORE_COMMAND, RUN);
    public static final Setting<String> OUTPUT_TABLE_FORMAT = Setting.text("sisom.output.tableFormat", "format", null,
            "the tables' format (`delta`, `iceberg`, `parquet`, ...); default: Spark's `spark.sql.sources.default`",
            SCORE_COMMAND, RUN);

    public static final Setting<Integer> LOCK_STALE_MINUTES = Setting.integer("sisom.lock.staleMinutes", 30, 1,
            "`run` holds a lock on the work and output directories, refreshed while it runs; a lock not refreshed for "
                    + "this long belongs to a dead run and is taken over", RUN);

    /** Every setting, in the order the documentation lists them. */
    public static final List<Setting<?>> ALL = List.of(MODEL, INPUT_PATH, INPUT_FORMAT, INPUT_LABELED, INPUT_ID_COLUMN,
            INPUT_IMAGE_COLUMN, INPUT_LABEL_COLUMN, INPUT_PARTITION_COLUMN, LABELED_PATH, LABELED_FORMAT, BATCH_SIZE,
            DECODE_THREADS, GPU_BATCH_SIZE, GPU_DECODE_THREADS, GPU_CPU_FALLBACK,
            RESIZE, PROGRESS_SECONDS, OUTPUT, WORK, LABELED_FEATURES, POOL_FEATURES, REFERENCE, REBUILD_REFERENCE,
            STEEPNESS, D_OUT, SUBSET_DELTA, SUBSET_SIZE, SCORE, EXTRA_SCORES, LAMBDA, Q, SELECTION, GREEDY_CANDIDATE_FACTOR, SELECTION_SEED, REPORT,
            REPORT_OOD, UNKNOWN_LABELS, OOD_THRESHOLD, OOD_METRIC, OOD_KEEP_SHARE, OOD_GATE, CLASS_BALANCE, CLASS_PRIOR,
            LABELING, LABELING_IMAGE_URI, OUTPUT_SCORES_TABLE, OUTPUT_SELECTION_TABLE, OUTPUT_TABLE_FORMAT,
            LOCK_STALE_MINUTES);

    /** Settings that only make sense together: both or neither. */
    static final List<List<Setting<?>>> TOGETHER = List.of(List.of(SUBSET_DELTA, SUBSET_SIZE));

    public static Setting<?> byKey(String key) {
        for (Setting<?> s : ALL) {
            if (s.key().equals(key)) {
                return s;
            }
        }
        return null;
    }
}

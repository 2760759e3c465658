package ai.sisom.bench;

import ai.djl.util.JsonUtils;
import ai.sisom.evaluation.AurocBootstrap;
import ai.sisom.evaluation.OodMetrics;
import ai.sisom.posthoc.OodPostprocessors;
import ai.sisom.jobs.SisomJob;
import ai.sisom.jobs.settings.Settings;
import ai.sisom.ml.SisomEstimator;
import ai.sisom.ml.SisomScoringModel;
import ai.sisom.spark.FeatureColumns;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ScoreTable;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;


/**
 * The OOD benchmark (bench/ood.sh): extracts the data sets written by bench/python/ood_data.py through the production
 * {@code extract} job, scores every method on the same features, and writes OpenOOD-style tables.
 * <pre>
 *   OodBenchmark DATA OUT [key=value ...]
 * </pre>
 * Two suites: {@code main} (the bundled 10-class model; near and far OOD sets) and {@code held-out} (the 8-class
 * model of data-samples/make_heldout_model.py; the test images of its two held-out classes are the OOD sets), each
 * with its own fit set (SISOM's reference and every fitted baseline) and ID test set.
 * <p>
 * The ranked table has one row per method, each at a configuration fixed before any OOD data was looked at:
 * SISOM and SISOMe at the product's shipped configuration ({@code conf}: its {@code sisom.steepness} grid, searched
 * by leave-one-out r_avg on the fit set, and {@code sisom.dOut}; no subset), every baseline at OpenOOD's defaults,
 * KNN with k scaled to the fit set (see {@link #knnK}). With {@code variants=true} other configurations are scored
 * as well and reported apart, marked as chosen on the test sets.
 * <p>
 * Keys (defaults in {@link #DEFAULTS}): {@code model}, {@code heldout.model}, {@code conf}, {@code knn.k}
 * ({@code auto} or a number), {@code vim.dim} (0: half the penultimate width, OpenOOD's choice), {@code variants},
 * {@code steepness.fixed}, {@code steepness.grid}, {@code subset.fraction}, {@code subset.neighbours} (ProbCover
 * delta = median distance to that same-class neighbour), {@code bootstrap.resamples}, {@code bootstrap.seed},
 * {@code threads}, {@code features} (reuse an earlier run's extract outputs, {@code OUT/features} of that run).
 * <p>
 * Outputs in OUT: {@code results.csv} (every method x set x metric, AUROC intervals), {@code results.md} (the
 * tables), {@code scores.csv} and {@code scores-heldout.csv} (every sample's score under every method, for the
 * plots), {@code features/} (extract outputs).
 */
public final class OodBenchmark {
    private OodBenchmark() {}

    static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("model", "data-samples/model/fmnist_resnet18w16.pt");
        DEFAULTS.put("heldout.model", "data-samples/model-heldout/fmnist8_resnet18w16.pt");
        // SISOM's ranked configuration: the product's shipped job configuration (README's first command)
        DEFAULTS.put("conf", "conf/local-samples.properties");
        DEFAULTS.put("knn.k", "auto");
        DEFAULTS.put("vim.dim", "0");
        DEFAULTS.put("variants", "true");
        // variants: the authors' CIFAR-10 active-learning values (METHOD.md 1) and their CIFAR-10 OOD search grid (7)
        DEFAULTS.put("steepness.fixed", "layer1:0.05,layer2:1,layer3:10,avgpool:50");
        DEFAULTS.put("steepness.grid", "layer1:0.001|0.1|1,layer2:0.001|0.1|1,layer3:1|10|1000,avgpool:100|1000");
        DEFAULTS.put("subset.fraction", "0.1");
        DEFAULTS.put("subset.neighbours", "10");
        DEFAULTS.put("bootstrap.resamples", "1000");
        DEFAULTS.put("bootstrap.seed", "20261201");
        DEFAULTS.put("threads", "2");
        // empty: extract; a directory: reuse the extract outputs of an earlier run on the same data
        DEFAULTS.put("features", "");
    }

    static final double LEVEL = 0.95;
    /** The questions, in report order: OOD set groups. */
    static final List<String> GROUPS = List.of("near", "far", "held-out");

    /** A suite: a model with its own fit and evaluation sets, under DATA/dir. */
    record Suite(String name, String dir, String modelKey, String scoresFile) {}

    static final List<Suite> SUITES = List.of(new Suite("main", "", "model", "scores.csv"),
            new Suite("held-out", "heldout", "heldout.model", "scores-heldout.csv"));

    /** One evaluation sample: its set and group from truth.csv, its features from the extract job. */
    record Sample(String id, String set, String group, int label, int predicted, double[] logits, double[] penult) {}

    /**
     * A method's in-distribution scores over a suite's evaluation samples (in their order) and its cost.
     * {@code ranked}: part of the ranked table (fixed configuration); {@code setting}: the exact configuration.
     */
    record Scored(String name, String family, boolean ranked, String setting, double[] scores, double seconds) {}

    /** A suite's scored methods and what the tables need to describe it. */
    record SuiteRun(Suite suite, List<Sample> eval, int fitSize, double accuracy, List<Scored> methods,
                    List<String> setsCsv) {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: OodBenchmark DATA OUT [key=value ...]; keys: " + DEFAULTS.keySet());
            System.exit(2);
        }
        try {
            run(Paths.get(args[0]), Paths.get(args[1]), Arrays.copyOfRange(args, 2, args.length), System.out);
        } catch (IllegalArgumentException e) {
            System.err.println("ood-benchmark: error: " + e.getMessage());
            System.exit(2);
        }
    }

    public static void run(Path data, Path out, String[] settings, PrintStream log) throws Exception {
        Map<String, String> cfg = new LinkedHashMap<>(DEFAULTS);
        for (String s : settings) {
            int eq = s.indexOf('=');
            if (eq <= 0 || !DEFAULTS.containsKey(s.substring(0, eq))) {
                throw new IllegalArgumentException("unknown setting '" + s + "'; known: " + DEFAULTS.keySet());
            }
            cfg.put(s.substring(0, eq), s.substring(eq + 1));
        }
        for (Suite suite : SUITES) {
            for (String f : List.of("fit/manifest.csv", "eval/manifest.csv", "eval/truth.csv", "head.json", "sets.csv")) {
                if (!Files.isRegularFile(data.resolve(suite.dir()).resolve(f))) {
                    throw new IllegalArgumentException("data directory " + data + " has no "
                            + Paths.get(suite.dir(), f) + " (write it with bench/python/ood_data.py)");
                }
            }
        }
        SisomDefaults sisom = SisomDefaults.read(Paths.get(cfg.get("conf")));
        AurocBootstrap bootstrap = new AurocBootstrap(intSetting(cfg, "bootstrap.resamples"),
                Long.parseLong(cfg.get("bootstrap.seed")));
        boolean variants = Boolean.parseBoolean(cfg.get("variants"));
        Files.createDirectories(out);
        long t0 = System.nanoTime();
        SparkSession spark = SparkSession.builder().master("local[" + cfg.get("threads") + "]")
                .appName("sisom-ood-benchmark").config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "4").getOrCreate();
        try {
            Path featureRoot = cfg.get("features").isEmpty() ? out.resolve("features") : Paths.get(cfg.get("features"));
            List<SuiteRun> runs = new ArrayList<>();
            double extractSeconds = 0;
            for (Suite suite : SUITES) {
                long ts = System.nanoTime();
                Path suiteData = data.resolve(suite.dir());
                Path suiteFeatures = featureRoot.resolve(suite.dir());
                // features through the production extract job, so they are exactly what a nightly run scores
                String fitDir = suiteFeatures.resolve("fit").toString();
                String evalDir = suiteFeatures.resolve("eval").toString();
                if (cfg.get("features").isEmpty()) {
                    extract(cfg.get(suite.modelKey()), suiteData.resolve("fit/manifest.csv"), fitDir, true, log);
                    extract(cfg.get(suite.modelKey()), suiteData.resolve("eval/manifest.csv"), evalDir, false, log);
                } else if (!Files.isDirectory(suiteFeatures.resolve("fit/features"))
                        || !Files.isDirectory(suiteFeatures.resolve("eval/features"))) {
                    // a mismatch with DATA is caught below: every feature row must be in truth.csv and vice versa
                    throw new IllegalArgumentException("features=" + featureRoot + " has no "
                            + Paths.get(suite.dir(), "fit/features") + " or " + Paths.get(suite.dir(), "eval/features"));
                }
                Dataset<Row> fitDf = features(spark, fitDir);
                Dataset<Row> evalDf = features(spark, evalDir);
                List<String> classes = FeatureColumns.classNamesOf(fitDf.schema());
                List<Sample> fit = samples(fitDf, classes, null);
                List<Sample> eval = samples(evalDf, classes, readTruth(suiteData.resolve("eval/truth.csv")));
                OodPostprocessors.Head head = readHead(suiteData.resolve("head.json"), eval);
                extractSeconds += (System.nanoTime() - ts) / 1e9;

                List<Scored> methods = new ArrayList<>();
                baselines(fit, eval, head, cfg, variants, methods, log);
                sisom(fitDf, evalDf, fit, eval, cfg, sisom, variants, methods, log);
                double accuracy = accuracy(eval);
                log.printf(Locale.ROOT, "ood-benchmark: suite %s: %d fit, %d eval samples, ID accuracy %.4f, %d methods%n",
                        suite.name(), fit.size(), eval.size(), accuracy, methods.size());
                runs.add(new SuiteRun(suite, eval, fit.size(), accuracy, methods,
                        Files.readAllLines(suiteData.resolve("sets.csv"), StandardCharsets.UTF_8)));
                writeScores(out.resolve(suite.scoresFile()), eval, methods);
            }
            Results r = evaluate(runs, bootstrap);
            double total = (System.nanoTime() - t0) / 1e9;
            writeCsv(out.resolve("results.csv"), r);
            writeMarkdown(out.resolve("results.md"), r, runs, cfg, sisom, bootstrap, extractSeconds, total);
            log.printf(Locale.ROOT, "ood-benchmark: %d methods ranked, %d other configurations, %.0f s -> %s%n",
                    r.ranked().size(), r.others().size(), total, out);
        } finally {
            spark.stop();
        }
    }

    private static int intSetting(Map<String, String> cfg, String key) {
        try {
            return Integer.parseInt(cfg.get(key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + "=" + cfg.get(key) + " is not an integer");
        }
    }

    /**
     * SISOM's ranked configuration, read from the product's job configuration rather than restated here, so the
     * benchmark ranks what a newcomer runs: {@code sisom.steepness} (a grid, searched on the fit set by r_avg) and
     * {@code sisom.dOut} (the registry's default when absent). A subset or fixed lambda there would be a different
     * method configuration than the tables describe, so those are refused.
     */
    record SisomDefaults(String steepness, String dOut, String source) {
        static SisomDefaults read(Path conf) throws IOException {
            if (!Files.isRegularFile(conf)) {
                throw new IllegalArgumentException("conf=" + conf + ": no such file (SISOM's ranked configuration)");
            }
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(conf, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            String steepness = p.getProperty(Settings.STEEPNESS.key());
            if (steepness == null) {
                throw new IllegalArgumentException("conf=" + conf + " sets no " + Settings.STEEPNESS.key());
            }
            for (String k : List.of(Settings.SUBSET_DELTA.key(), Settings.SUBSET_SIZE.key(), Settings.LAMBDA.key())) {
                if (p.containsKey(k)) {
                    throw new IllegalArgumentException("conf=" + conf + " sets " + k
                            + "; the benchmark's SISOM row supports only sisom.steepness and sisom.dOut");
                }
            }
            String dOut = p.getProperty(Settings.D_OUT.key(),
                    Settings.D_OUT.defaultValue().name().toLowerCase(Locale.ROOT));
            return new SisomDefaults(steepness.trim(), dOut.trim(), conf.toString());
        }
    }

    /**
     * KNN's k for a fit set of n samples: the KNN paper's proportion, k = n / 1000 rounded, at least 1 (Sun et al.
     * 2022 use k = 50 for CIFAR-10's 50,000 training images, and their code k = 1000 for ImageNet-1k's 1.28 million,
     * 1/1281; OpenOOD keeps K = 50, its CIFAR value, as the default everywhere). {@code knn.k} overrides it.
     */
    static int knnK(String setting, int fitSize) {
        if (setting.equals("auto")) {
            return (int) Math.max(1, Math.round(fitSize / 1000.0));
        }
        try {
            int k = Integer.parseInt(setting);
            if (k >= 1 && k <= fitSize) {
                return k;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("knn.k=" + setting + ": 'auto' or an integer in [1, " + fitSize + "]");
    }

    private static void extract(String model, Path manifest, String output, boolean labeled, PrintStream log)
            throws Exception {
        int rc = SisomJob.run(new String[]{"extract",
                "--set", "sisom.model=" + model,
                "--set", "sisom.input.path=" + manifest,
                "--set", "sisom.input.format=manifest",
                "--set", "sisom.input.labeled=" + labeled,
                "--set", "sisom.output=" + output,
                "--set", "sisom.progressSeconds=60"}, log);
        if (rc != 0) {
            throw new IllegalStateException("extract of " + manifest + " failed with exit code " + rc);
        }
    }

    /** The extract output; a rejected image would silently shrink a set, so it is an error naming the item. */
    private static Dataset<Row> features(SparkSession spark, String dir) {
        Dataset<Row> df = spark.read().parquet(dir + "/features");
        List<Row> rejected = spark.read().option("header", "true").csv(dir + "/rejections").limit(5).collectAsList();
        if (!rejected.isEmpty()) {
            throw new IllegalArgumentException("extract rejected images in " + dir + ", e.g. " + rejected);
        }
        return df.orderBy(FeatureTable.ID).cache();
    }

    private static List<Sample> samples(Dataset<Row> df, List<String> classes, Map<String, String[]> truth) {
        boolean labeled = Arrays.asList(df.columns()).contains("label");
        List<Sample> out = new ArrayList<>();
        for (Row r : df.collectAsList()) {
            String id = r.getAs(FeatureTable.ID);
            String set = "fit";
            String group = "id";
            String labelName = labeled ? r.getAs("label") : null;
            if (truth != null) {
                String[] t = truth.get(id);
                if (t == null) {
                    throw new IllegalArgumentException("sample " + id + " is not in truth.csv");
                }
                set = t[0];
                group = t[1];
                labelName = t[2].isEmpty() ? null : t[2];
            }
            int label = labelName == null ? -1 : classes.indexOf(labelName);
            if (labelName != null && label < 0) {
                throw new IllegalArgumentException("sample " + id + " has label '" + labelName
                        + "', not one of the model's classes " + classes);
            }
            out.add(new Sample(id, set, group, label, r.<Integer>getAs(FeatureTable.PSEUDO_CLASS),
                    doubles(r.getList(r.fieldIndex(FeatureTable.LOGITS))),
                    doubles(r.getList(r.fieldIndex(FeatureTable.PENULTIMATE)))));
        }
        if (truth != null && out.size() != truth.size()) {
            throw new IllegalArgumentException("truth.csv lists " + truth.size() + " samples, the features hold "
                    + out.size());
        }
        return out;
    }

    private static double[] doubles(List<Float> l) {
        double[] d = new double[l.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = l.get(i);
        }
        return d;
    }

    private static Map<String, String[]> readTruth(Path csv) throws IOException {
        Map<String, String[]> m = new HashMap<>();
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).equals("id,set,group,label")) {
            throw new IllegalArgumentException(csv + ": expected the header id,set,group,label");
        }
        for (String line : lines.subList(1, lines.size())) {
            String[] p = line.split(",", -1);
            if (p.length != 4 || !(p[2].equals("id") || GROUPS.contains(p[2]))) {
                throw new IllegalArgumentException(csv + ": bad line '" + line + "' (group must be id or one of "
                        + GROUPS + ")");
            }
            m.put(p[0], new String[]{p[1], p[2], p[3]});
        }
        return m;
    }

    /**
     * The final linear layer from the state dict (the model contract does not carry it). It must reproduce the
     * extracted logits from the extracted penultimate features, or ReAct/ASH/ViM would score another network.
     */
    static OodPostprocessors.Head readHead(Path json, List<Sample> check) throws IOException {
        JsonObject o = JsonUtils.GSON.fromJson(Files.readString(json), JsonObject.class);
        JsonArray w = o.getAsJsonArray("weight");
        double[][] weight = new double[w.size()][];
        for (int k = 0; k < weight.length; k++) {
            JsonArray row = w.get(k).getAsJsonArray();
            weight[k] = new double[row.size()];
            for (int j = 0; j < row.size(); j++) {
                weight[k][j] = row.get(j).getAsDouble();
            }
        }
        JsonArray b = o.getAsJsonArray("bias");
        double[] bias = new double[b.size()];
        for (int k = 0; k < bias.length; k++) {
            bias[k] = b.get(k).getAsDouble();
        }
        OodPostprocessors.Head head = new OodPostprocessors.Head(weight, bias);
        double worst = 0;
        for (Sample s : check) {
            double[] l = head.logits(s.penult());
            for (int k = 0; k < l.length; k++) {
                worst = Math.max(worst, Math.abs(l[k] - s.logits()[k]) / (1 + Math.abs(s.logits()[k])));
            }
        }
        if (worst > 1e-3) {
            throw new IllegalArgumentException(json + ": the head does not reproduce the model's logits from its "
                    + "penultimate features (relative error " + worst + "); was it written for another model?");
        }
        return head;
    }

    private static void baselines(List<Sample> fit, List<Sample> eval, OodPostprocessors.Head head,
                                  Map<String, String> cfg, boolean variants, List<Scored> methods, PrintStream log) {
        int p = head.inputs();
        int classes = head.bias().length;
        double[][] fitX = fit.stream().map(Sample::penult).toArray(double[][]::new);
        int[] fitY = fit.stream().mapToInt(Sample::label).toArray();
        int k = knnK(cfg.get("knn.k"), fit.size());
        int dim = intSetting(cfg, "vim.dim");
        int vimDim = dim > 0 ? dim : p / 2;
        // OpenOOD's defaults (configs/postprocessors/*.yml): ebo temperature 1, gen gamma 0.1 and M 100 (all K
        // probabilities when K < 100), react and ash percentile 90, vim dim = half the feature width in its scripts
        add(methods, log, "MSP", "logits", true, "max softmax", eval, null, s -> OodPostprocessors.msp(s.logits()));
        add(methods, log, "MaxLogit", "logits", true, "max logit", eval, null,
                s -> OodPostprocessors.maxLogit(s.logits()));
        add(methods, log, "Energy", "logits", true, "T = 1", eval, null, s -> OodPostprocessors.energy(s.logits()));
        add(methods, log, "GEN", "logits", true, "gamma 0.1, M 100 (all " + classes + " classes)", eval, null,
                s -> OodPostprocessors.gen(s.logits(), 0.1, 100));
        String kRule = cfg.get("knn.k").equals("auto")
                ? String.format(Locale.ROOT, "k = %d (fit set %d / 1000)", k, fit.size()) : "k = " + k + " (set)";
        add(methods, log, "KNN", "features", true, kRule, eval, () -> new OodPostprocessors.Knn(fitX, k),
                (m, s) -> ((OodPostprocessors.Knn) m).score(s.penult()));
        add(methods, log, "Mahalanobis", "features", true, "class means, tied covariance", eval,
                () -> new OodPostprocessors.Mahalanobis(fitX, fitY, classes),
                (m, s) -> ((OodPostprocessors.Mahalanobis) m).score(s.penult()));
        add(methods, log, "ReAct", "features", true, "percentile 90", eval,
                () -> new OodPostprocessors.ReAct(fitX, head, 90),
                (m, s) -> ((OodPostprocessors.ReAct) m).score(s.penult()));
        add(methods, log, "ASH-S", "features", true, "percentile 90", eval, null,
                s -> OodPostprocessors.ash(s.penult(), head, 90, false));
        add(methods, log, "ASH-B", "features", true, "percentile 90", eval, null,
                s -> OodPostprocessors.ash(s.penult(), head, 90, true));
        add(methods, log, "ViM", "features", true, "D = " + vimDim + " of " + p, eval,
                () -> new OodPostprocessors.Vim(fitX, head, vimDim),
                (m, s) -> ((OodPostprocessors.Vim) m).score(s.penult()));
        if (variants && k != 50 && fit.size() >= 50) {
            add(methods, log, "KNN (k=50)", "features", false, "k = 50 (OpenOOD's default, CIFAR-10's value)", eval,
                    () -> new OodPostprocessors.Knn(fitX, 50), (m, s) -> ((OodPostprocessors.Knn) m).score(s.penult()));
        }
    }

    private interface Scorer {
        double score(Object fitted, Sample s);
    }

    private static void add(List<Scored> methods, PrintStream log, String name, String family, boolean ranked,
                            String setting, List<Sample> eval, Supplier<Object> fitter, ToDoubleFunction<Sample> f) {
        add(methods, log, name, family, ranked, setting, eval, fitter, (m, s) -> f.applyAsDouble(s));
    }

    private static void add(List<Scored> methods, PrintStream log, String name, String family, boolean ranked,
                            String setting, List<Sample> eval, Supplier<Object> fitter, Scorer f) {
        long t = System.nanoTime();
        Object fitted = fitter == null ? null : fitter.get();
        double[] s = eval.parallelStream().mapToDouble(x -> f.score(fitted, x)).toArray();
        double secs = (System.nanoTime() - t) / 1e9;
        methods.add(new Scored(name, family, ranked, setting, s, secs));
        log.printf(Locale.ROOT, "ood-benchmark: %s (%s) scored in %.1f s%n", name, setting, secs);
    }

    /**
     * SISOM and SISOMe through the Spark ML API: the ranked configuration (the product's, {@link SisomDefaults}),
     * then with {@code variants} both d_out variants, with and without the ProbCover subset, with the authors'
     * fixed steepness and with their OOD search grid.
     */
    private static void sisom(Dataset<Row> fitDf, Dataset<Row> evalDf, List<Sample> fit, List<Sample> eval,
                              Map<String, String> cfg, SisomDefaults defaults, boolean variants, List<Scored> methods,
                              PrintStream log) {
        Map<String, Integer> row = new HashMap<>();
        for (int i = 0; i < eval.size(); i++) {
            row.put(eval.get(i).id(), i);
        }
        String base = "d_out " + defaults.dOut() + ", no subset, steepness grid " + defaults.steepness()
                + " of " + defaults.source();
        sisomPair(new SisomEstimator().setDOutVariant(defaults.dOut()).setSteepness(defaults.steepness()),
                fitDf, evalDf, row, "SISOM", "SISOMe", true, base, methods, log);
        if (!variants) {
            return;
        }
        int subsetSize = (int) Math.round(Double.parseDouble(cfg.get("subset.fraction")) * fit.size());
        double delta = probCoverDelta(fit, intSetting(cfg, "subset.neighbours"));
        log.printf(Locale.ROOT, "ood-benchmark: ProbCover subset of %d, delta %.4f%n", subsetSize, delta);
        for (String variant : List.of("sample", "anchor")) {
            for (boolean subset : new boolean[]{false, true}) {
                for (boolean search : new boolean[]{false, true}) {
                    SisomEstimator est = new SisomEstimator().setDOutVariant(variant)
                            .setSteepness(cfg.get(search ? "steepness.grid" : "steepness.fixed"));
                    if (subset) {
                        est.setSubset(delta, subsetSize);
                    }
                    String tag = variant + (subset ? ", subset" : "") + (search ? ", search" : ", fixed");
                    String setting = "d_out " + variant
                            + (subset ? String.format(Locale.ROOT, ", ProbCover subset %d (delta %.4f)", subsetSize, delta)
                            : ", no subset")
                            + (search ? ", the authors' CIFAR-10 OOD grid " + cfg.get("steepness.grid")
                            : ", the authors' CIFAR-10 AL steepness");
                    sisomPair(est, fitDf, evalDf, row, "SISOM (" + tag + ")", "SISOMe (" + tag + ")", false, setting,
                            methods, log);
                }
            }
        }
    }

    private static void sisomPair(SisomEstimator est, Dataset<Row> fitDf, Dataset<Row> evalDf, Map<String, Integer> row,
                                  String sisomName, String sisomeName, boolean ranked, String setting,
                                  List<Scored> methods, PrintStream log) {
        long t = System.nanoTime();
        SisomScoringModel model = est.fit(fitDf);
        double[] sisom = new double[row.size()];
        double[] sisome = new double[row.size()];
        for (Row r : model.transform(evalDf).select(FeatureTable.ID, ScoreTable.SISOM, ScoreTable.SISOME)
                .collectAsList()) {
            int i = row.get(r.getString(0));
            // SISOM scores rank "more unusual" higher; OpenOOD wants higher = more in-distribution
            sisom[i] = -r.getDouble(1);
            sisome[i] = -r.getDouble(2);
        }
        double secs = (System.nanoTime() - t) / 1e9;
        String full = String.format(Locale.ROOT, "%s; steepness used %s, r_avg %.4f", setting,
                model.reference().steepness(), model.reference().stats().rAvg());
        log.printf(Locale.ROOT, "ood-benchmark: %s in %.1f s: %s%n", sisomName, secs, full);
        methods.add(new Scored(sisomName, "sisom", ranked, full, sisom, secs));
        methods.add(new Scored(sisomeName, "sisom", ranked, full, sisome, secs));
    }

    /**
     * ProbCover's ball radius for a budget of one point in {@code neighbours}: the median distance from a fit point
     * to its {@code neighbours}-th nearest same-class neighbour (penultimate features, as the subset uses), so a
     * typical ball covers about as many points as the budget needs each pick to cover.
     */
    static double probCoverDelta(List<Sample> fit, int neighbours) {
        List<Double> d = new ArrayList<>();
        for (Sample a : fit) {
            List<Double> same = new ArrayList<>();
            for (Sample b : fit) {
                if (a != b && a.label() == b.label()) {
                    double s = 0;
                    for (int j = 0; j < a.penult().length; j++) {
                        double t = a.penult()[j] - b.penult()[j];
                        s += t * t;
                    }
                    same.add(Math.sqrt(s));
                }
            }
            if (same.size() >= neighbours) {
                same.sort(null);
                d.add(same.get(neighbours - 1));
            }
        }
        if (d.isEmpty()) {
            throw new IllegalArgumentException("ProbCover delta: no class has more than " + neighbours + " fit samples");
        }
        d.sort(null);
        return d.get(d.size() / 2);
    }

    /**
     * One method in one suite on one OOD set, or on a group's mean ({@code set} = group + "-mean"); {@code lo}, {@code hi}:
     * the AUROC's bootstrap interval.
     */
    record Line(String method, String family, boolean ranked, String suite, String setting, String set, String group,
                OodMetrics.Result m, double lo, double hi, double seconds) {}

    /**
     * Every line, the OOD sets of each group in report order, and per method and group the mean AUROC over the
     * group's sets in every bootstrap resample (paired across methods: the same resamples for every method).
     */
    record Results(List<String> ranked, List<String> others, List<Line> lines, Map<String, List<String>> setsOf,
                   Map<String, Map<String, double[]>> groupResamples) {
        Line get(String method, String set) {
            return lines.stream().filter(l -> l.method.equals(method) && l.set.equals(set)).findFirst().orElseThrow();
        }

        Line mean(String method, String group) {
            return get(method, group + "-mean");
        }

        List<String> groups() {
            return GROUPS.stream().filter(setsOf::containsKey).toList();
        }

        /** The paired bootstrap interval of AUROC(a) - AUROC(b) on a group's mean. */
        double[] difference(String a, String b, String group) {
            double[] x = groupResamples.get(a).get(group);
            double[] y = groupResamples.get(b).get(group);
            double[] d = new double[x.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = x[i] - y[i];
            }
            return AurocBootstrap.interval(d, LEVEL);
        }

        /** Ranked methods by a group's mean AUROC, best first; ties on the point estimate keep table order. */
        List<String> byAuroc(String group) {
            List<String> m = new ArrayList<>(ranked);
            m.sort(Comparator.comparingDouble((String x) -> -mean(x, group).m().auroc()));
            return m;
        }

        /** 1 + the number of ranked methods with a strictly higher mean AUROC on the group. */
        int rank(String method, String group) {
            double v = mean(method, group).m().auroc();
            return 1 + (int) ranked.stream().filter(x -> mean(x, group).m().auroc() > v).count();
        }
    }

    static Results evaluate(List<SuiteRun> runs, AurocBootstrap bootstrap) {
        List<String> ranked = new ArrayList<>();
        List<String> others = new ArrayList<>();
        List<Line> lines = new ArrayList<>();
        Map<String, List<String>> setsOf = new LinkedHashMap<>();
        Map<String, Map<String, double[]>> resamples = new LinkedHashMap<>();
        for (SuiteRun run : runs) {
            Map<String, String> groupOf = new LinkedHashMap<>();
            for (Sample s : run.eval()) {
                if (!s.group().equals("id")) {
                    groupOf.putIfAbsent(s.set(), s.group());
                }
            }
            if (run.eval().stream().noneMatch(s -> s.group().equals("id")) || groupOf.isEmpty()) {
                throw new IllegalArgumentException("suite " + run.suite().name()
                        + ": the evaluation set needs in-distribution and OOD samples");
            }
            List<String> sets = groupOf.keySet().stream().sorted(Comparator
                    .comparingInt((String x) -> GROUPS.indexOf(groupOf.get(x))).thenComparing(x -> x)).toList();
            for (String set : sets) {
                if (setsOf.values().stream().anyMatch(l -> l.contains(set))) {
                    throw new IllegalArgumentException("OOD set '" + set + "' occurs in two suites");
                }
                setsOf.computeIfAbsent(groupOf.get(set), g -> new ArrayList<>()).add(set);
            }
            for (Scored m : run.methods()) {
                List<String> list = m.ranked() ? ranked : others;
                if (!list.contains(m.name())) {
                    list.add(m.name());
                }
                double[] id = pick(run.eval(), m.scores(), s -> s.group().equals("id"));
                List<double[]> ood = new ArrayList<>();
                for (String set : sets) {
                    ood.add(pick(run.eval(), m.scores(), s -> s.set().equals(set)));
                }
                double[][] boot = bootstrap.resample(id, ood);
                List<OodMetrics.Result> per = new ArrayList<>();
                for (int j = 0; j < sets.size(); j++) {
                    OodMetrics.Result res = OodMetrics.compute(id, ood.get(j));
                    per.add(res);
                    final int col = j;
                    double[] ci = AurocBootstrap.interval(Arrays.stream(boot).mapToDouble(b -> b[col]).toArray(), LEVEL);
                    lines.add(new Line(m.name(), m.family(), m.ranked(), run.suite().name(), m.setting(), sets.get(j),
                            groupOf.get(sets.get(j)), res, ci[0], ci[1], m.seconds()));
                }
                for (String g : GROUPS) {
                    int[] cols = java.util.stream.IntStream.range(0, sets.size())
                            .filter(j -> groupOf.get(sets.get(j)).equals(g)).toArray();
                    if (cols.length == 0) {
                        continue;
                    }
                    double[] means = Arrays.stream(boot).mapToDouble(b -> Arrays.stream(cols)
                            .mapToDouble(j -> b[j]).average().orElseThrow()).toArray();
                    resamples.computeIfAbsent(m.name(), x -> new LinkedHashMap<>()).put(g, means);
                    double[] ci = AurocBootstrap.interval(means, LEVEL);
                    OodMetrics.Result avg = new OodMetrics.Result(
                            avg(per, cols, OodMetrics.Result::auroc), avg(per, cols, OodMetrics.Result::auprIn),
                            avg(per, cols, OodMetrics.Result::auprOut), avg(per, cols, OodMetrics.Result::fpr95),
                            avg(per, cols, OodMetrics.Result::fpr95OodPositive));
                    lines.add(new Line(m.name(), m.family(), m.ranked(), run.suite().name(), m.setting(), g + "-mean",
                            g, avg, ci[0], ci[1], m.seconds()));
                }
            }
        }
        for (String m : ranked) {
            for (String g : setsOf.keySet()) {
                if (!resamples.get(m).containsKey(g)) {
                    throw new IllegalStateException("ranked method " + m + " was not scored on the " + g + " sets");
                }
            }
        }
        Map<String, List<String>> ordered = new LinkedHashMap<>();
        GROUPS.stream().filter(setsOf::containsKey).forEach(g -> ordered.put(g, setsOf.get(g)));
        return new Results(ranked, others, lines, ordered, resamples);
    }

    private static double avg(List<OodMetrics.Result> per, int[] cols, ToDoubleFunction<OodMetrics.Result> f) {
        return Arrays.stream(cols).mapToDouble(j -> f.applyAsDouble(per.get(j))).average().orElseThrow();
    }

    private static double[] pick(List<Sample> eval, double[] scores, Predicate<Sample> p) {
        List<Double> v = new ArrayList<>();
        for (int i = 0; i < eval.size(); i++) {
            if (p.test(eval.get(i))) {
                v.add(scores[i]);
            }
        }
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static double accuracy(List<Sample> eval) {
        long n = eval.stream().filter(s -> s.group().equals("id")).count();
        long ok = eval.stream().filter(s -> s.group().equals("id") && s.label() == s.predicted()).count();
        return ok / (double) n;
    }

    static final String CSV_HEADER = "method,family,ranked,suite,set,group,auroc,auroc_lo,auroc_hi,aupr_in,aupr_out,"
            + "fpr95_id_positive,fpr95_ood_positive,seconds,setting";

    private static void writeCsv(Path f, Results r) throws IOException {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(f))) {
            w.println(CSV_HEADER);
            for (Line l : r.lines()) {
                OodMetrics.Result x = l.m();
                w.printf(Locale.ROOT, "\"%s\",%s,%b,%s,%s,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f,\"%s\"%n",
                        l.method(), l.family(), l.ranked(), l.suite(), l.set(), l.group(), x.auroc(), l.lo(), l.hi(),
                        x.auprIn(), x.auprOut(), x.fpr95(), x.fpr95OodPositive(), l.seconds(),
                        l.setting().replace("\"", "\"\""));
            }
        }
    }

    private static void writeScores(Path f, List<Sample> eval, List<Scored> methods) throws IOException {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(f))) {
            StringBuilder h = new StringBuilder("id,set,group");
            for (Scored m : methods) {
                h.append(",\"").append(m.name()).append('"');
            }
            w.println(h);
            for (int i = 0; i < eval.size(); i++) {
                Sample s = eval.get(i);
                StringBuilder b = new StringBuilder(s.id()).append(',').append(s.set()).append(',').append(s.group());
                for (Scored m : methods) {
                    b.append(',').append(String.format(Locale.ROOT, "%.7g", m.scores()[i]));
                }
                w.println(b);
            }
        }
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f", 100 * v);
    }

    private static String ci(Line l) {
        return String.format(Locale.ROOT, "%.2f-%.2f", 100 * l.lo(), 100 * l.hi());
    }

    private static String signed(double v) {
        return String.format(Locale.ROOT, "%+.2f", 100 * v);
    }

    private static String groupTitle(Results r, String g) {
        return g + "-OOD (" + String.join(", ", r.setsOf().get(g)) + ")";
    }

    private static void writeMarkdown(Path f, Results r, List<SuiteRun> runs, Map<String, String> cfg,
                                      SisomDefaults sisom, AurocBootstrap bootstrap, double extractSeconds,
                                      double totalSeconds) throws IOException {
        List<String> groups = r.groups();
        String first = groups.get(0);
        List<String> ranked = r.byAuroc(first);
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(f))) {
            w.printf(Locale.ROOT, "# OOD benchmark: Fashion-MNIST (in-distribution)%n%n");
            for (SuiteRun run : runs) {
                long idCount = run.eval().stream().filter(s -> s.group().equals("id")).count();
                w.printf(Locale.ROOT, "- suite **%s** (model `%s`): fit (labeled) samples %d, ID test samples %d, "
                                + "ID accuracy **%.4f**; OOD sets %s%n", run.suite().name(),
                        cfg.get(run.suite().modelKey()), run.fitSize(), idCount, run.accuracy(),
                        String.join(", ", run.eval().stream().filter(s -> !s.group().equals("id")).map(Sample::set)
                                .distinct().toList()));
            }
            w.printf(Locale.ROOT, "%nFeatures extracted in %.0f s, whole run %.0f s. AUROC intervals: %.0f %% "
                            + "percentile intervals of a stratified bootstrap (%d resamples, seed %s; ID and each OOD set "
                            + "resampled separately, the same resamples for every method, so differences are paired).%n%n",
                    extractSeconds, totalSeconds, 100 * LEVEL, bootstrap.resamples(), cfg.get("bootstrap.seed"));
            w.println("Settings: " + cfg);
            w.println();
            w.println("## Ranked: one row per method, at configurations fixed before looking at OOD data");
            w.println();
            w.println("SISOM and SISOMe at the product's configuration (" + sisom.source() + ": `sisom.steepness="
                    + sisom.steepness() + "` searched by leave-one-out r_avg on the fit set, `sisom.dOut="
                    + sisom.dOut() + "`, no subset); the baselines at OpenOOD's defaults; KNN's k scaled with the fit "
                    + "set (k = n/1000). AUROC in %, its 95 % interval, and the method's rank per question "
                    + "(ranked by " + first + "-OOD AUROC, as OpenOOD's leaderboards are).");
            w.println();
            StringBuilder h = new StringBuilder("| rank | method");
            StringBuilder sep = new StringBuilder("|---:|---");
            for (String g : groups) {
                h.append(" | ").append(g).append(" | 95 % CI");
                sep.append("|---:|---:");
                if (!g.equals(first)) {
                    h.append(" | ").append(g).append(" rank");
                    sep.append("|---:");
                }
            }
            w.println(h.append(" |"));
            w.println(sep.append("|"));
            for (String m : ranked) {
                StringBuilder b = new StringBuilder("| " + r.rank(m, first) + " | " + m);
                for (String g : groups) {
                    Line l = r.mean(m, g);
                    b.append(" | ").append(pct(l.m().auroc())).append(" | ").append(ci(l));
                    if (!g.equals(first)) {
                        b.append(" | ").append(r.rank(m, g));
                    }
                }
                w.println(b.append(" |"));
            }
            w.println();
            w.println("## Per question: the best method, the paired difference to it, FPR@95TPR in both conventions");
            w.println();
            w.println("Difference to the best: AUROC(method) - AUROC(best) in points, with the 95 % interval of the "
                    + "paired bootstrap difference; an interval that contains 0 means the data cannot tell the two "
                    + "apart (a tie). FPR@95 ID+: OOD accepted at 95 % ID kept (ODIN/Energy papers); FPR@95 OOD+: ID "
                    + "flagged at 95 % OOD flagged (OpenOOD v1.5). Lower is better for both.");
            for (String g : groups) {
                List<String> order = r.byAuroc(g);
                String best = order.get(0);
                w.println();
                w.println("### " + groupTitle(r, g));
                w.println();
                w.println("| rank | method | AUROC | 95 % CI | difference to best | 95 % CI | tie with best | "
                        + "FPR@95 ID+ | FPR@95 OOD+ |");
                w.println("|---:|---|---:|---:|---:|---:|---|---:|---:|");
                List<String> ties = new ArrayList<>();
                for (String m : order) {
                    Line l = r.mean(m, g);
                    String diff = "";
                    String dci = "";
                    String tie = "";
                    if (!m.equals(best)) {
                        double[] d = r.difference(m, best, g);
                        diff = signed(l.m().auroc() - r.mean(best, g).m().auroc());
                        dci = signed(d[0]) + " to " + signed(d[1]);
                        if (d[1] >= 0) {
                            tie = "yes";
                            ties.add(m);
                        }
                    }
                    w.printf(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.rank(m, g), m,
                            pct(l.m().auroc()), ci(l), diff, dci, tie, pct(l.m().fpr95()),
                            pct(l.m().fpr95OodPositive()));
                }
                w.println();
                w.println("Best: **" + best + "**" + (ties.isEmpty() ? "; every other method is distinguishably worse."
                        : "; not distinguishable from it: " + String.join(", ", ties) + "."));
            }
            sisomAgainstEach(w, r, ranked);
            w.println();
            w.println("## AUROC per set (%, 95 % CI)");
            w.println();
            perSetTable(w, r, ranked, l -> pct(l.m().auroc()) + " (" + ci(l) + ")");
            w.println();
            w.println("## FPR@95TPR per set (%, lower is better), ID positive");
            w.println();
            perSetTable(w, r, ranked, l -> pct(l.m().fpr95()));
            w.println();
            w.println("## FPR@95TPR per set (%, lower is better), OOD positive (OpenOOD v1.5)");
            w.println();
            perSetTable(w, r, ranked, l -> pct(l.m().fpr95OodPositive()));
            w.println();
            w.println("## AUPR-In / AUPR-Out (%), group means, and seconds per method (fit + scoring, per suite)");
            w.println();
            h = new StringBuilder("| method");
            sep = new StringBuilder("|---");
            for (String g : groups) {
                h.append(" | ").append(g).append(" AUPR-In | ").append(g).append(" AUPR-Out");
                sep.append("|---:|---:");
            }
            for (SuiteRun run : runs) {
                h.append(" | s (").append(run.suite().name()).append(')');
                sep.append("|---:");
            }
            w.println(h.append(" |"));
            w.println(sep.append("|"));
            for (String m : ranked) {
                StringBuilder b = new StringBuilder("| " + m);
                for (String g : groups) {
                    Line l = r.mean(m, g);
                    b.append(" | ").append(pct(l.m().auprIn())).append(" | ").append(pct(l.m().auprOut()));
                }
                for (SuiteRun run : runs) {
                    b.append(String.format(Locale.ROOT, " | %.1f", run.methods().stream()
                            .filter(x -> x.name().equals(m)).findFirst().orElseThrow().seconds()));
                }
                w.println(b.append(" |"));
            }
            if (!r.others().isEmpty()) {
                w.println();
                w.println("## Other configurations: not ranked; picking the best of these is choosing on the test sets");
                w.println();
                w.println("AUROC in % (95 % CI). These rows are not part of the ranking above: the configuration that "
                        + "looks best here was found by looking at the OOD test sets.");
                w.println();
                h = new StringBuilder("| method");
                sep = new StringBuilder("|---");
                for (String g : groups) {
                    h.append(" | ").append(g);
                    sep.append("|---:");
                }
                w.println(h.append(" |"));
                w.println(sep.append("|"));
                List<String> others = new ArrayList<>(r.others());
                others.sort(Comparator.comparingDouble((String x) -> -r.mean(x, first).m().auroc()));
                for (String m : others) {
                    StringBuilder b = new StringBuilder("| " + m);
                    for (String g : groups) {
                        Line l = r.mean(m, g);
                        b.append(" | ").append(pct(l.m().auroc())).append(" (").append(ci(l)).append(')');
                    }
                    w.println(b.append(" |"));
                }
            }
            w.println();
            w.println("## Configurations, per suite");
            w.println();
            h = new StringBuilder("| method");
            sep = new StringBuilder("|---");
            for (SuiteRun run : runs) {
                h.append(" | ").append(run.suite().name());
                sep.append("|---");
            }
            w.println(h.append(" |"));
            w.println(sep.append("|"));
            List<String> all = new ArrayList<>(ranked);
            all.addAll(r.others());
            for (String m : all) {
                StringBuilder b = new StringBuilder("| " + m);
                for (SuiteRun run : runs) {
                    b.append(" | ").append(run.methods().stream().filter(x -> x.name().equals(m)).map(Scored::setting)
                            .findFirst().orElse("-").replace("|", "\\|"));
                }
                w.println(b.append(" |"));
            }
            w.println();
            w.println("## Data sets");
            w.println();
            w.println("| suite | set | group | count | provenance | licence |");
            w.println("|---|---|---|---:|---|---|");
            for (SuiteRun run : runs) {
                for (String line : run.setsCsv().subList(1, run.setsCsv().size())) {
                    w.println("| " + run.suite().name() + " | " + String.join(" | ", parseCsvLine(line)) + " |");
                }
            }
        }
    }

    /** The product's two scores, SISOM and SISOMe, against every other ranked method: paired differences. */
    static final List<String> OURS = List.of("SISOMe", "SISOM");

    private static void sisomAgainstEach(PrintWriter w, Results r, List<String> ranked) {
        List<String> ours = OURS.stream().filter(ranked::contains).toList();
        if (ours.isEmpty()) {
            return;
        }
        List<String> groups = r.groups();
        w.println();
        w.println("## SISOM and SISOMe against each method: paired AUROC difference");
        w.println();
        w.println("AUROC(ours) - AUROC(method) in points with the 95 % interval of the paired bootstrap difference: "
                + "**better** or **worse** when the interval excludes 0, **tie** when it contains 0.");
        for (String o : ours) {
            w.println();
            w.println("### " + o);
            w.println();
            StringBuilder h = new StringBuilder("| method");
            StringBuilder sep = new StringBuilder("|---");
            for (String g : groups) {
                h.append(" | ").append(g).append(" | 95 % CI | ").append(g).append(" verdict");
                sep.append("|---:|---:|---");
            }
            w.println(h.append(" |"));
            w.println(sep.append("|"));
            for (String m : ranked) {
                if (m.equals(o)) {
                    continue;
                }
                StringBuilder b = new StringBuilder("| " + m);
                for (String g : groups) {
                    double[] d = r.difference(o, m, g);
                    String verdict = d[0] > 0 ? "**better**" : d[1] < 0 ? "**worse**" : "tie";
                    b.append(" | ").append(signed(r.mean(o, g).m().auroc() - r.mean(m, g).m().auroc()))
                            .append(" | ").append(signed(d[0])).append(" to ").append(signed(d[1]))
                            .append(" | ").append(verdict);
                }
                w.println(b.append(" |"));
            }
        }
    }

    private static void perSetTable(PrintWriter w, Results r, List<String> methods,
                                    java.util.function.Function<Line, String> cell) {
        StringBuilder h = new StringBuilder("| method");
        StringBuilder sep = new StringBuilder("|---");
        for (Map.Entry<String, List<String>> e : r.setsOf().entrySet()) {
            for (String s : e.getValue()) {
                h.append(" | ").append(s).append(" (").append(e.getKey()).append(')');
                sep.append("|---:");
            }
        }
        w.println(h.append(" |"));
        w.println(sep.append("|"));
        for (String m : methods) {
            StringBuilder b = new StringBuilder("| " + m);
            for (List<String> sets : r.setsOf().values()) {
                for (String s : sets) {
                    b.append(" | ").append(cell.apply(r.get(m, s)));
                }
            }
            w.println(b.append(" |"));
        }
    }

    /** Splits one CSV line with double-quoted fields (Python's csv module's output). */
    static List<String> parseCsvLine(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}

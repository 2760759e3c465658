package ai.sisom.bench;

import ai.djl.util.JsonUtils;
import ai.sisom.evaluation.OodMetrics;
import ai.sisom.evaluation.OodPostprocessors;
import ai.sisom.jobs.SisomJob;
import ai.sisom.spark.FeatureColumns;
import ai.sisom.ml.SisomEstimator;
import ai.sisom.ml.SisomScoringModel;
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


/**
 * The OOD benchmark (bench/ood.sh): extracts the data sets written by bench/python/ood_data.py through the production
 * {@code extract} job, scores every method on the same features, and writes OpenOOD-style tables.
 * <pre>
 *   OodBenchmark DATA OUT [key=value ...]
 * </pre>
 * Keys (defaults in {@link #DEFAULTS}): {@code model}, {@code knn.k}, {@code vim.dim} (0: half the penultimate
 * width, OpenOOD's choice for narrow networks), {@code steepness.fixed}, {@code steepness.grid},
 * {@code subset.fraction}, {@code subset.neighbours} (ProbCover delta = median distance to that same-class
 * neighbour), {@code threads}, {@code features} (reuse an earlier run's extract outputs instead of extracting).
 * <p>
 * Outputs in OUT: {@code results.csv} (method, set, group, metrics, seconds), {@code results.md} (ranked tables),
 * {@code scores.csv} (every sample's score under every method, for the plots), {@code features/} (extract output).
 */
public final class OodBenchmark {
    private OodBenchmark() {}

    static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("model", "data-samples/model/fmnist_resnet18w16.pt");
        DEFAULTS.put("knn.k", "50");
        DEFAULTS.put("vim.dim", "0");
        // the authors' CIFAR-10 active-learning values (METHOD.md 1) and their CIFAR-10 OOD search grid (7)
        DEFAULTS.put("steepness.fixed", "layer1:0.05,layer2:1,layer3:10,avgpool:50");
        DEFAULTS.put("steepness.grid", "layer1:0.001|0.1|1,layer2:0.001|0.1|1,layer3:1|10|1000,avgpool:100|1000");
        DEFAULTS.put("subset.fraction", "0.1");
        DEFAULTS.put("subset.neighbours", "10");
        DEFAULTS.put("threads", "2");
        // empty: extract; a directory: reuse the fit/ and eval/ extract outputs of an earlier run on the same data
        DEFAULTS.put("features", "");
    }

    /** One evaluation sample: its set and group from truth.csv, its features from the extract job. */
    record Sample(String id, String set, String group, int label, int predicted, double[] logits, double[] penult) {}

    /** A method's in-distribution scores over the evaluation samples (in their order) and its cost. */
    record Scored(String name, String family, double[] scores, double seconds) {}

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
        for (String f : List.of("fit/manifest.csv", "eval/manifest.csv", "eval/truth.csv", "head.json", "sets.csv")) {
            if (!Files.isRegularFile(data.resolve(f))) {
                throw new IllegalArgumentException("data directory " + data + " has no " + f
                        + " (write it with bench/python/ood_data.py)");
            }
        }
        Files.createDirectories(out);
        long t0 = System.nanoTime();
        SparkSession spark = SparkSession.builder().master("local[" + cfg.get("threads") + "]")
                .appName("sisom-ood-benchmark").config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "4").getOrCreate();
        try {
            // features through the production extract job, so they are exactly what a nightly run scores
            Path featureRoot = cfg.get("features").isEmpty() ? out.resolve("features") : Paths.get(cfg.get("features"));
            String fitDir = featureRoot.resolve("fit").toString();
            String evalDir = featureRoot.resolve("eval").toString();
            if (cfg.get("features").isEmpty()) {
                extract(cfg, data.resolve("fit/manifest.csv"), fitDir, true, log);
                extract(cfg, data.resolve("eval/manifest.csv"), evalDir, false, log);
            } else if (!Files.isDirectory(featureRoot.resolve("fit/features"))
                    || !Files.isDirectory(featureRoot.resolve("eval/features"))) {
                // a mismatch with DATA is caught below: every feature row must be in truth.csv and vice versa
                throw new IllegalArgumentException("features=" + featureRoot + " has no fit/features or eval/features");
            }
            Dataset<Row> fitDf = features(spark, fitDir);
            Dataset<Row> evalDf = features(spark, evalDir);
            List<String> classes = FeatureColumns.classNamesOf(fitDf.schema());

            List<Sample> fit = samples(fitDf, classes, null);
            List<Sample> eval = samples(evalDf, classes, readTruth(data.resolve("eval/truth.csv")));
            OodPostprocessors.Head head = readHead(data.resolve("head.json"), eval);
            double extractSeconds = (System.nanoTime() - t0) / 1e9;

            List<Scored> methods = new ArrayList<>();
            baselines(fit, eval, head, cfg, methods, log);
            sisom(fitDf, evalDf, fit, eval, cfg, methods, log);

            Results r = evaluate(eval, methods);
            double accuracy = accuracy(eval);
            double total = (System.nanoTime() - t0) / 1e9;
            writeCsv(out.resolve("results.csv"), r, methods);
            writeScores(out.resolve("scores.csv"), eval, methods);
            writeMarkdown(out.resolve("results.md"), r, methods, eval, fit.size(), accuracy, cfg,
                    readLines(data.resolve("sets.csv")), extractSeconds, total);
            log.printf(Locale.ROOT, "ood-benchmark: %d fit, %d eval samples, ID accuracy %.4f, %d methods, %.0f s -> %s%n",
                    fit.size(), eval.size(), accuracy, methods.size(), total, out);
        } finally {
            spark.stop();
        }
    }

    private static void extract(Map<String, String> cfg, Path manifest, String output, boolean labeled, PrintStream log)
            throws Exception {
        int rc = SisomJob.run(new String[]{"extract",
                "--set", "sisom.model=" + cfg.get("model"),
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
            if (p.length != 4 || !List.of("id", "near", "far").contains(p[2])) {
                throw new IllegalArgumentException(csv + ": bad line '" + line + "' (group must be id, near or far)");
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
                                  Map<String, String> cfg, List<Scored> methods, PrintStream log) {
        int p = head.inputs();
        int classes = head.bias().length;
        double[][] fitX = fit.stream().map(Sample::penult).toArray(double[][]::new);
        int[] fitY = fit.stream().mapToInt(Sample::label).toArray();
        int k = Integer.parseInt(cfg.get("knn.k"));
        int dim = Integer.parseInt(cfg.get("vim.dim"));
        int vimDim = dim > 0 ? dim : p / 2;
        add(methods, log, "MSP", "logits", eval, null, s -> OodPostprocessors.msp(s.logits()));
        add(methods, log, "MaxLogit", "logits", eval, null, s -> OodPostprocessors.maxLogit(s.logits()));
        add(methods, log, "Energy", "logits", eval, null, s -> OodPostprocessors.energy(s.logits()));
        add(methods, log, "GEN", "logits", eval, null, s -> OodPostprocessors.gen(s.logits(), 0.1, 10));
        add(methods, log, "KNN (k=" + k + ")", "features", eval, () -> new OodPostprocessors.Knn(fitX, k),
                (m, s) -> ((OodPostprocessors.Knn) m).score(s.penult()));
        add(methods, log, "Mahalanobis", "features", eval, () -> new OodPostprocessors.Mahalanobis(fitX, fitY, classes),
                (m, s) -> ((OodPostprocessors.Mahalanobis) m).score(s.penult()));
        add(methods, log, "ReAct (p=90)", "features", eval, () -> new OodPostprocessors.ReAct(fitX, head, 90),
                (m, s) -> ((OodPostprocessors.ReAct) m).score(s.penult()));
        add(methods, log, "ASH-S (p=90)", "features", eval, null, s -> OodPostprocessors.ash(s.penult(), head, 90, false));
        add(methods, log, "ASH-B (p=90)", "features", eval, null, s -> OodPostprocessors.ash(s.penult(), head, 90, true));
        add(methods, log, "ViM (D=" + vimDim + ")", "features", eval, () -> new OodPostprocessors.Vim(fitX, head, vimDim),
                (m, s) -> ((OodPostprocessors.Vim) m).score(s.penult()));
    }

    private static void add(List<Scored> methods, PrintStream log, String name, String family, List<Sample> eval,
                            java.util.function.Supplier<Object> fitter, java.util.function.ToDoubleFunction<Sample> f) {
        add(methods, log, name, family, eval, fitter, (m, s) -> f.applyAsDouble(s));
    }

    private interface Scorer {
        double score(Object fitted, Sample s);
    }

    private static void add(List<Scored> methods, PrintStream log, String name, String family, List<Sample> eval,
                            java.util.function.Supplier<Object> fitter, Scorer f) {
        long t = System.nanoTime();
        Object fitted = fitter == null ? null : fitter.get();
        double[] s = eval.parallelStream().mapToDouble(x -> f.score(fitted, x)).toArray();
        double secs = (System.nanoTime() - t) / 1e9;
        methods.add(new Scored(name, family, s, secs));
        log.printf(Locale.ROOT, "ood-benchmark: %s scored in %.1f s%n", name, secs);
    }

    /** SISOM and SISOMe through the Spark ML API: both d_out variants, with/without subset and steepness search. */
    private static void sisom(Dataset<Row> fitDf, Dataset<Row> evalDf, List<Sample> fit, List<Sample> eval,
                              Map<String, String> cfg, List<Scored> methods, PrintStream log) {
        Map<String, Integer> row = new HashMap<>();
        for (int i = 0; i < eval.size(); i++) {
            row.put(eval.get(i).id(), i);
        }
        int subsetSize = (int) Math.round(Double.parseDouble(cfg.get("subset.fraction")) * fit.size());
        double delta = probCoverDelta(fit, Integer.parseInt(cfg.get("subset.neighbours")));
        log.printf(Locale.ROOT, "ood-benchmark: ProbCover subset of %d, delta %.4f%n", subsetSize, delta);
        for (String variant : List.of("sample", "anchor")) {
            for (boolean subset : new boolean[]{false, true}) {
                for (boolean search : new boolean[]{false, true}) {
                    long t = System.nanoTime();
                    SisomEstimator est = new SisomEstimator().setDOutVariant(variant)
                            .setSteepness(cfg.get(search ? "steepness.grid" : "steepness.fixed"));
                    if (subset) {
                        est.setSubset(delta, subsetSize);
                    }
                    SisomScoringModel model = est.fit(fitDf);
                    double[] sisom = new double[eval.size()];
                    double[] sisome = new double[eval.size()];
                    for (Row r : model.transform(evalDf).select(FeatureTable.ID, ScoreTable.SISOM, ScoreTable.SISOME)
                            .collectAsList()) {
                        int i = row.get(r.getString(0));
                        // SISOM scores rank "more unusual" higher; OpenOOD wants higher = more in-distribution
                        sisom[i] = -r.getDouble(1);
                        sisome[i] = -r.getDouble(2);
                    }
                    double secs = (System.nanoTime() - t) / 1e9;
                    String tag = variant + (subset ? ", subset" : "") + (search ? ", search" : ", fixed");
                    var st = model.reference().stats();
                    log.printf(Locale.ROOT, "ood-benchmark: SISOM[%s] in %.1f s: steepness %s, r_avg %.4f%n", tag,
                            secs, model.reference().steepness(), st.rAvg());
                    methods.add(new Scored("SISOM (" + tag + ")", "sisom", sisom, secs));
                    methods.add(new Scored("SISOMe (" + tag + ")", "sisom", sisome, secs));
                }
            }
        }
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

    record SetResult(String method, String set, String group, OodMetrics.Result m) {}

    record Results(List<String> oodSets, Map<String, String> groupOf, List<SetResult> rows) {
        OodMetrics.Result get(String method, String set) {
            return rows.stream().filter(r -> r.method.equals(method) && r.set.equals(set)).findFirst().orElseThrow().m;
        }

        double mean(String method, String group, java.util.function.ToDoubleFunction<OodMetrics.Result> f) {
            return rows.stream().filter(r -> r.method.equals(method) && r.group.equals(group))
                    .mapToDouble(r -> f.applyAsDouble(r.m)).average().orElse(Double.NaN);
        }
    }

    static Results evaluate(List<Sample> eval, List<Scored> methods) {
        List<String> sets = new ArrayList<>();
        Map<String, String> groupOf = new LinkedHashMap<>();
        for (Sample s : eval) {
            if (!s.group().equals("id") && !groupOf.containsKey(s.set())) {
                groupOf.put(s.set(), s.group());
            }
        }
        // near sets first, then far, each in name order
        groupOf.keySet().stream().sorted(Comparator.comparing((String x) -> !groupOf.get(x).equals("near"))
                .thenComparing(x -> x)).forEach(sets::add);
        if (eval.stream().noneMatch(s -> s.group().equals("id")) || sets.isEmpty()) {
            throw new IllegalArgumentException("the evaluation set needs in-distribution and OOD samples");
        }
        List<SetResult> rows = new ArrayList<>();
        for (Scored m : methods) {
            double[] id = pick(eval, m.scores(), s -> s.group().equals("id"));
            for (String set : sets) {
                double[] ood = pick(eval, m.scores(), s -> s.set().equals(set));
                rows.add(new SetResult(m.name(), set, groupOf.get(set), OodMetrics.compute(id, ood)));
            }
        }
        return new Results(sets, groupOf, rows);
    }

    private static double[] pick(List<Sample> eval, double[] scores, java.util.function.Predicate<Sample> p) {
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

    private static void writeCsv(Path f, Results r, List<Scored> methods) throws IOException {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(f))) {
            w.println("method,family,set,group,auroc,aupr_in,aupr_out,fpr95,seconds");
            for (Scored m : methods) {
                for (String set : r.oodSets()) {
                    OodMetrics.Result x = r.get(m.name(), set);
                    w.printf(Locale.ROOT, "\"%s\",%s,%s,%s,%.6f,%.6f,%.6f,%.6f,%.2f%n", m.name(), m.family(), set,
                            r.groupOf().get(set), x.auroc(), x.auprIn(), x.auprOut(), x.fpr95(), m.seconds());
                }
                for (String g : List.of("near", "far")) {
                    w.printf(Locale.ROOT, "\"%s\",%s,%s-mean,%s,%.6f,%.6f,%.6f,%.6f,%.2f%n", m.name(), m.family(), g, g,
                            r.mean(m.name(), g, OodMetrics.Result::auroc), r.mean(m.name(), g, OodMetrics.Result::auprIn),
                            r.mean(m.name(), g, OodMetrics.Result::auprOut), r.mean(m.name(), g, OodMetrics.Result::fpr95),
                            m.seconds());
                }
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

    private static void writeMarkdown(Path f, Results r, List<Scored> methods, List<Sample> eval, int fitSize,
                                      double accuracy, Map<String, String> cfg, List<String> sets,
                                      double extractSeconds, double totalSeconds) throws IOException {
        List<Scored> ranked = new ArrayList<>(methods);
        // OpenOOD's leaderboards sort by near-OOD AUROC; far-OOD AUROC breaks ties
        ranked.sort(Comparator.comparingDouble((Scored m) -> -r.mean(m.name(), "near", OodMetrics.Result::auroc))
                .thenComparingDouble(m -> -r.mean(m.name(), "far", OodMetrics.Result::auroc)));
        long idCount = eval.stream().filter(s -> s.group().equals("id")).count();
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(f))) {
            w.printf(Locale.ROOT, "# OOD benchmark: Fashion-MNIST (in-distribution)%n%n");
            w.printf(Locale.ROOT, "ID test samples %d, fit (labeled) samples %d, ID accuracy **%.4f**; features "
                    + "extracted in %.0f s, whole run %.0f s.%n%n", idCount, fitSize, accuracy, extractSeconds,
                    totalSeconds);
            w.println("Settings: " + cfg);
            w.println();
            w.println("## AUROC (%), ranked by near-OOD AUROC");
            w.println();
            table(w, r, ranked, OodMetrics.Result::auroc, true);
            w.println();
            w.println("## FPR@95TPR (%, lower is better; ID positive)");
            w.println();
            table(w, r, ranked, OodMetrics.Result::fpr95, false);
            w.println();
            w.println("## AUPR-In / AUPR-Out (%), near and far means");
            w.println();
            w.println("| method | near AUPR-In | near AUPR-Out | far AUPR-In | far AUPR-Out | seconds |");
            w.println("|---|---:|---:|---:|---:|---:|");
            for (Scored m : ranked) {
                w.printf(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %.2f | %.1f |%n", m.name(),
                        100 * r.mean(m.name(), "near", OodMetrics.Result::auprIn),
                        100 * r.mean(m.name(), "near", OodMetrics.Result::auprOut),
                        100 * r.mean(m.name(), "far", OodMetrics.Result::auprIn),
                        100 * r.mean(m.name(), "far", OodMetrics.Result::auprOut), m.seconds());
            }
            w.println();
            w.println("## Data sets");
            w.println();
            w.println("| set | group | count | provenance | licence |");
            w.println("|---|---|---:|---|---|");
            for (String line : sets.subList(1, sets.size())) {
                w.println("| " + String.join(" | ", parseCsvLine(line)) + " |");
            }
        }
    }

    private static void table(PrintWriter w, Results r, List<Scored> ranked,
                              java.util.function.ToDoubleFunction<OodMetrics.Result> f, boolean rank) {
        StringBuilder h = new StringBuilder((rank ? "| rank " : "") + "| method | near | far");
        StringBuilder sep = new StringBuilder((rank ? "|---:" : "") + "|---|---:|---:");
        for (String s : r.oodSets()) {
            h.append(" | ").append(s).append(" (").append(r.groupOf().get(s)).append(')');
            sep.append("|---:");
        }
        w.println(h.append(" |"));
        w.println(sep.append("|"));
        int i = 1;
        for (Scored m : ranked) {
            StringBuilder b = new StringBuilder(rank ? "| " + i++ + " " : "");
            b.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f", m.name(), 100 * r.mean(m.name(), "near", f),
                    100 * r.mean(m.name(), "far", f)));
            for (String s : r.oodSets()) {
                b.append(String.format(Locale.ROOT, " | %.2f", 100 * f.applyAsDouble(r.get(m.name(), s))));
            }
            w.println(b.append(" |"));
        }
    }

    private static List<String> readLines(Path f) throws IOException {
        return Files.readAllLines(f, StandardCharsets.UTF_8);
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

package ai.sisom.jobs;

import ai.sisom.jobs.commands.Command;
import ai.sisom.jobs.commands.Commands;
import ai.sisom.jobs.output.ProgressListener;
import ai.sisom.jobs.output.RedactingPrintStream;
import ai.sisom.jobs.settings.Redaction;
import ai.sisom.jobs.settings.JobSettings;
import ai.sisom.jobs.settings.Settings;
import ai.sisom.jobs.settings.SettingsException;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The command line, for spark-submit and the embedded local runner: {@code SisomJob <command> [--conf FILE]
 * [--set key=value ...]}. It only dispatches: settings are parsed and checked, the command prepares (still before
 * Spark starts, so a bad setting costs nothing), then Spark starts and the command runs.
 */
public final class SisomJob {
    private SisomJob() {}

    public static void main(String[] args) throws Exception {
        int rc;
        try {
            rc = run(args, System.out);
        } catch (IllegalArgumentException | java.io.FileNotFoundException | org.apache.spark.sql.AnalysisException e) {
            // bad configuration or input: the message says what and where; a stack trace would bury it
            System.err.println("sisom: error: " + Redaction.text(e.getMessage()));
            rc = 2;
        }
        if (rc != 0) {
            System.exit(rc);
        }
    }

    /** Runs one command; returns the process exit code. */
    public static int run(String[] args, PrintStream console) throws Exception {
        PrintStream out = new RedactingPrintStream(console);
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            out.print(Help.text(Commands.ALL, Settings.ALL));
            return args.length == 0 ? 2 : 0;
        }
        if (args[0].equals("--settings-markdown")) {
            out.print(Help.markdownTable(Settings.ALL));
            return 0;
        }
        Command command = Commands.byName(args[0]);
        if (command == null) {
            throw new SettingsException("unknown command '" + args[0] + "'; commands: "
                    + Commands.ALL.stream().map(Command::name).toList() + " (--help lists them)");
        }
        String confFile = null;
        List<String> overrides = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--conf" -> confFile = value(args, ++i, "--conf");
                case "--set" -> overrides.add(value(args, ++i, "--set"));
                default -> throw new SettingsException("unexpected argument '" + args[i]
                        + "'; usage: SisomJob <command> [--conf FILE] [--set key=value ...] (--help for more)");
            }
        }
        // spark-submit passes its --conf, --files and --properties-file settings to the driver as system properties
        Map<String, String> sparkConf = new TreeMap<>();
        for (var e : new SparkConf(true).getAll()) {
            sparkConf.put(e._1(), e._2());
        }
        JobSettings settings = JobSettings.load(confFile, overrides, sparkConf);
        Command.Job job = command.prepare(settings);
        org.slf4j.LoggerFactory.getLogger(SisomJob.class).info("sisom {} settings:\n{}", command.name(),
                settings.describe());
        return withSpark(settings, job, out);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new SettingsException(flag + " needs a value");
        }
        return args[i];
    }

    /** Starts Spark with the file's spark.* settings unless spark-submit (or a test) already set them. */
    private static int withSpark(JobSettings settings, Command.Job job, PrintStream out) throws Exception {
        SparkConf conf = new SparkConf();
        settings.sparkSettings().forEach(conf::setIfMissing);
        conf.setIfMissing("spark.master", "local[*]");
        conf.setIfMissing("spark.app.name", "sisom");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        ProgressListener progress = new ProgressListener(settings.get(Settings.PROGRESS_SECONDS) * 1000L);
        spark.sparkContext().addSparkListener(progress);
        try {
            return job.run(spark, out);
        } finally {
            spark.sparkContext().removeSparkListener(progress);
        }
    }
}

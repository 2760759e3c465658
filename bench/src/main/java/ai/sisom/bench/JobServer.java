package ai.sisom.bench;

import ai.sisom.jobs.SisomJob;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Runs many {@link SisomJob} commands in one JVM, for the active-learning benchmark: a benchmark cycle runs several
 * jobs, and starting a JVM, Spark and libtorch for each would cost more than the jobs themselves. Each command goes
 * through {@link SisomJob#run}, the production entry point, with the same arguments a user would give; the
 * SparkSession is created by the first command and reused by the later ones (SisomJob uses getOrCreate).
 *
 * <p>Protocol: one command per stdin line, its arguments separated by tabs (so paths may hold spaces). After each
 * command the server prints {@code @@sisom-done RC} on stdout (RC 2 for bad configuration or input, with the message
 * on the line before as {@code @@sisom-error MESSAGE}, 1 for any other failure). End of input ends the server.
 *
 * <p>{@code JobServer --print-launch} prints how it was started instead (one {@code jvm<TAB>FLAG} line per JVM flag,
 * then {@code cp<TAB>CLASSPATH}): bench/active-learning.sh starts it once through Maven's exec plugin, which knows
 * the classpath and the flags Spark and DJL need, and the benchmark then starts the server directly with them.
 */
public final class JobServer {
    public static final String DONE = "@@sisom-done ";
    public static final String ERROR = "@@sisom-error ";

    private JobServer() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (args.length == 1 && args[0].equals("--print-launch")) {
            for (String flag : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                out.println("jvm\t" + flag);
            }
            out.println("cp\t" + System.getProperty("java.class.path"));
            return;
        }
        if (args.length != 0) {
            System.err.println("usage: JobServer [--print-launch]  (commands on stdin, tab-separated arguments)");
            System.exit(2);
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            int rc;
            try {
                rc = SisomJob.run(line.split("\t"), out);
            } catch (IllegalArgumentException | java.io.FileNotFoundException | org.apache.spark.sql.AnalysisException e) {
                // the same classification as SisomJob.main: bad configuration or input
                out.println(ERROR + oneLine(e.getMessage()));
                rc = 2;
            } catch (Exception | Error e) {
                e.printStackTrace();
                out.println(ERROR + oneLine(e.toString()));
                rc = 1;
            }
            out.println(DONE + rc);
        }
        System.exit(0); // Spark's non-daemon threads would keep the JVM alive
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ');
    }
}
